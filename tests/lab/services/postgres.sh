# postgres: the two PostgreSQL clusters (primary, seeded; new, empty).
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

pg_cluster() {
    local name=$1 port=$2 dir="$STATE/pg/$1"
    if [ ! -s "$dir/PG_VERSION" ]; then
        require_free_port "$port" "postgres $name"
        rm -rf "$dir"
        install -d -o postgres -g postgres -m 700 "$dir"
        local pw="$STATE/pg/.pwfile"
        install -m 600 -o postgres -g postgres /dev/null "$pw"
        printf '%s\n' "$PG_SUPERPASSWORD" >"$pw"
        quiet runuser -u postgres -- "$PGBIN/initdb" -D "$dir" -U postgres --pwfile="$pw" \
            --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8
        rm -f "$pw"
        cat >>"$dir/postgresql.conf" <<EOF

# cairn lab
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$STATE/pg/sock'
shared_buffers = 32MB
max_connections = 40
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi
    if ! lab_pid "$dir/postmaster.pid" "$dir" >/dev/null; then
        require_free_port "$port" "postgres $name"
        touch "$LOGS/pg-$name.log"
        chown postgres:postgres "$LOGS/pg-$name.log"
        quiet runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir" -l "$LOGS/pg-$name.log" -w -t 60 start
    fi
    wait_until 30 "postgres $name" "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port"
    # The application role and its (empty) database, on both servers.
    local -a psql=("$PGBIN/psql" -h "$STATE/pg/sock" -p "$port" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1)
    if [ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" ]; then
        quiet "${psql[@]}" -c "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
    fi
    if [ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]; then
        quiet "${psql[@]}" -c "CREATE DATABASE $PG_DB OWNER $PG_USER"
    fi
}

start_postgres() {
    install -d -o postgres -g postgres -m 755 "$STATE/pg" "$STATE/pg/sock"
    pg_cluster primary "$PORT_PG_PRIMARY"
    pg_cluster new "$PORT_PG_NEW"
    # Seed the primary with the fixture site's schema and a few rows.
    ensure_site_files
    quiet manage migrate --noinput
    quiet manage seed_notes
    lab_info "postgres: primary on 127.0.0.1:$PORT_PG_PRIMARY (seeded), new on 127.0.0.1:$PORT_PG_NEW (empty)"
}
