# dns: PowerDNS authoritative with the zone example.test.
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

start_dns() {
    local dir="$STATE/pdns" db="$STATE/pdns/pdns.sqlite3"
    mkdir -p "$dir"
    cat >"$dir/pdns.conf.new" <<EOF
# PowerDNS authoritative of the cairn lab. Loopback only, no outgoing queries.
launch=gsqlite3
gsqlite3-database=$db
local-address=127.0.0.1
local-port=$PORT_DNS
query-local-address=127.0.0.1
api=yes
api-key=$PDNS_KEY
webserver=yes
webserver-address=127.0.0.1
webserver-port=$PORT_PDNS_API
webserver-allow-from=127.0.0.0/8,::1/128
security-poll-suffix=
daemon=no
guardian=no
socket-dir=$dir
disable-syslog=yes
loglevel=4
primary=no
secondary=no
# RFC 2136 updates from loopback; a zone accepts them only with the TSIG
# key its TSIG-ALLOW-DNSUPDATE metadata names (tests set one per zone).
dnsupdate=yes
allow-dnsupdate-from=127.0.0.0/8
EOF
    restart_on_change "$dir/pdns.conf" PowerDNS "$RUN/pdns.pid" "$dir"
    if [ ! -s "$db" ]; then
        local schema=/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql
        [ -r "$schema" ] || lab_die "PowerDNS sqlite schema not found at $schema"
        quiet python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(open(sys.argv[2]).read()); c.commit()' "$db.new" "$schema"
        mv "$db.new" "$db"
        quiet pdnsutil --config-dir="$dir" create-zone "$DNS_ZONE" "ns1.$DNS_ZONE"
        quiet pdnsutil --config-dir="$dir" add-record "$DNS_ZONE" ns1 A 3600 "$OLD_SERVER_IP"
        quiet pdnsutil --config-dir="$dir" add-record "$DNS_ZONE" www A 60 "$OLD_SERVER_IP"
    fi
    if ! lab_running dns; then
        require_free_port "$PORT_PDNS_API" "PowerDNS API"
        spawn "$LOGS/pdns.log" pdns_server --config-dir="$dir"
        echo $! >"$RUN/pdns.pid"
    fi
    wait_until 30 "PowerDNS API" http_ok -H "X-API-Key: $PDNS_KEY" \
        "http://127.0.0.1:$PORT_PDNS_API/api/v1/servers/localhost/zones/$DNS_ZONE."
    wait_until 10 "PowerDNS answer for www.$DNS_ZONE" \
        bash -c "dig +short +time=1 +tries=1 @127.0.0.1 -p $PORT_DNS www.$DNS_ZONE A | grep -q ."
    lab_info "dns: PowerDNS on 127.0.0.1:$PORT_DNS, API http://127.0.0.1:$PORT_PDNS_API/api/v1, zone $DNS_ZONE."
}
