# Shared settings and helpers of the lab scripts (up, down, check).
# Sourced, never run. Everything is computed from this file's location or
# from CAIRN_LAB_* variables, so the lab works from any checkout.
# shellcheck shell=bash disable=SC2034

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/../.." && pwd)
FIXTURES_DIR="$REPO_DIR/tests/fixtures"
# The state directory must be reachable by the postgres and www-data users.
# When a directory above the checkout is closed to them (a clone under
# /root, say), the default moves to /var/tmp, named after the checkout.
lab_default_state() {
    local d=$LAB_DIR
    while [ "$d" != / ]; do
        if [ -z "$(find "$d" -maxdepth 0 -perm -o+x 2>/dev/null)" ]; then
            echo "/var/tmp/cairn-lab-$(printf '%s' "$LAB_DIR" | sha256sum | cut -c1-8)"
            return
        fi
        d=$(dirname "$d")
    done
    echo "$LAB_DIR/state"
}
STATE="${CAIRN_LAB_STATE:-$(lab_default_state)}"
case "$STATE" in /*) ;; *) STATE="$PWD/$STATE" ;; esac

# Ports (all on 127.0.0.1): fixed bases, shifted by CAIRN_LAB_PORT_OFFSET so
# that labs of two checkouts (each with its own state directory) can run side
# by side. Use multiples of 100: the bases of the 58xxx group are close.
PORT_OFFSET=${CAIRN_LAB_PORT_OFFSET:-0}
case "$PORT_OFFSET" in
    ''|*[!0-9]*) printf 'lab: error: CAIRN_LAB_PORT_OFFSET must be a number, not "%s"\n' "$PORT_OFFSET" >&2; exit 1 ;;
esac
PORT_OFFSET=$((10#$PORT_OFFSET))
if [ $((59000 + PORT_OFFSET)) -gt 65535 ]; then
    printf 'lab: error: CAIRN_LAB_PORT_OFFSET %s puts ports above 65535 (at most 6535)\n' "$PORT_OFFSET" >&2
    exit 1
fi
PORT_PG_PRIMARY=$((55432 + PORT_OFFSET))
PORT_PG_NEW=$((55433 + PORT_OFFSET))
PORT_S3=$((59000 + PORT_OFFSET))
PORT_HAPROXY=$((58080 + PORT_OFFSET))
PORT_APP1=$((58081 + PORT_OFFSET))
PORT_APP2=$((58082 + PORT_OFFSET))
PORT_HAPROXY_STATS=$((58084 + PORT_OFFSET))
PORT_FLEET=$((58085 + PORT_OFFSET))
PORT_GUNICORN=$((58090 + PORT_OFFSET))
PORT_DNS=$((58053 + PORT_OFFSET))
PORT_PDNS_API=$((58089 + PORT_OFFSET))
PORT_SSH=$((52222 + PORT_OFFSET))

# A short tag of the state directory: names that live outside it (network
# namespaces, links, runtime directories) carry it, so two checkouts' labs
# never take each other's.
LAB_TAG=$(printf '%s' "$STATE" | sha256sum | cut -c1-6)

# Fixed credentials (a lab: none of these protects anything).
PG_USER=cairn
PG_PASSWORD=cairn-lab-pw
PG_SUPERPASSWORD=cairn-lab-super
PG_DB=site
S3_ACCESS_KEY=cairnlab
S3_SECRET_KEY=cairnlab-secret
S3_REGION=us-east-1
S3_BUCKET=cairn-lab-backups
PDNS_KEY=cairn-lab-pdns-key
DNS_ZONE=example.test
OLD_SERVER_IP=127.0.0.1
NEW_SERVER_IP=127.0.0.2
SSH_USER=cairn-lab
DOCKER_IMAGE=cairn-lab/busybox:latest
DOCKER_CONTAINER=cairn-lab-box
SITE_SECRET_KEY=cairn-lab-not-secret-django-key

PGBIN=/usr/lib/postgresql/15/bin
VENV="$STATE/venv"
RUN="$STATE/run"
LOGS="$STATE/logs"
SITE_ROOT="$STATE/site"
SITE_APP="$SITE_ROOT/app"
STATIC_ROOT="$SITE_ROOT/static"
MEDIA_ROOT="$SITE_ROOT/media"
MAINT_DIR="$SITE_ROOT/tmp"
MAINT_FILE="$MAINT_DIR/maintenance.html"
SUPERVISOR_CONF="$STATE/supervisor/supervisord.conf"
SSH_DIR="$STATE/ssh"
DOCKER_SOCK="$RUN/docker.sock"

ALL_SERVICES="postgres s3 site hosts haproxy dns ssh docker"

# App hosts (the hosts service): network namespaces appN on HOSTS_NET.N/24,
# joined by a bridge in the root namespace that holds HOSTS_NET.254. The /24
# is 10.231.T, T = (port offset / 100) mod 256, or CAIRN_LAB_HOSTS_NET.
HOSTS_DIR="$STATE/hosts"
HOSTS_NET=${CAIRN_LAB_HOSTS_NET:-10.231.$(( (PORT_OFFSET / 100) % 256 ))}
HOSTS_GW="$HOSTS_NET.254"
HOSTS_BRIDGE="clb$LAB_TAG"
HOSTS_SSH_CONFIG="$HOSTS_DIR/ssh_config"
lab_host_ns() { echo "cairn-lab-$LAB_TAG-$1"; }
lab_host_veth() { echo "cl$LAB_TAG-${1#app}"; }
lab_host_addr() { echo "$HOSTS_NET.${1#app}"; }
# The app hosts the state directory holds (app1 app2 ...), in order.
lab_hosts() {
    local d
    for d in "$HOSTS_DIR"/app*; do
        [ -d "$d" ] && [[ ${d##*/} =~ ^app[0-9]+$ ]] && echo "${d##*/app}"
    done | sort -n | sed 's/^/app/'
    return 0
}
# The network namespaces of this lab's app hosts, as host names.
lab_host_namespaces() {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^cairn-lab-$LAB_TAG-\(app[0-9][0-9]*\)\$/\1/p"
    return 0
}
# How many app hosts up makes: CAIRN_LAB_HOSTS, a number, or the
# "app1=addr app2=addr" list up printed (so a shell that evaluated up's
# output keeps the count); 3 by default.
lab_hosts_count() {
    local v=${CAIRN_LAB_HOSTS:-3} n
    if [[ $v =~ ^[0-9]+$ ]]; then n=$((10#$v)); else n=$(wc -w <<<"$v"); fi
    if [ "$n" -lt 1 ] || [ "$n" -gt 200 ]; then
        printf 'lab: error: CAIRN_LAB_HOSTS must be 1 to 200 hosts, not "%s"\n' "$v" >&2
        return 1
    fi
    echo "$n"
}

lab_log() { printf 'lab: %s\n' "$*" >&2; }
# Progress messages; CAIRN_LAB_QUIET=1 silences them (warnings and errors stay).
lab_info() { [ "${CAIRN_LAB_QUIET:-0}" = 1 ] || lab_log "$@"; }
lab_die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

# Canonical service name for a user-given one (aliases accepted).
lab_service_name() {
    case "$1" in
        postgres|pg|postgresql) echo postgres ;;
        s3|moto) echo s3 ;;
        site|django|nginx|gunicorn|supervisor|app) echo site ;;
        haproxy) echo haproxy ;;
        dns|pdns|powerdns) echo dns ;;
        ssh|sshd) echo ssh ;;
        docker|dockerd) echo docker ;;
        hosts|fleet|app-hosts) echo hosts ;;
        *) return 1 ;;
    esac
}

# Pidfiles and the string each process's command line must contain for the
# pid to count as ours (guards against a recycled pid). One "pidfile marker"
# pair per line, per service.
lab_pidfiles() {
    case "$1" in
        postgres)
            echo "$STATE/pg/primary/postmaster.pid $STATE/pg/primary"
            echo "$STATE/pg/new/postmaster.pid $STATE/pg/new" ;;
        s3) echo "$RUN/moto.pid $VENV/bin/moto_server" ;;
        site)
            echo "$RUN/supervisord.pid $SUPERVISOR_CONF"
            echo "$RUN/nginx-app1.pid $STATE/nginx/app1.conf"
            echo "$RUN/nginx-app2.pid $STATE/nginx/app2.conf" ;;
        haproxy) echo "$RUN/haproxy.pid $STATE/haproxy/haproxy.cfg" ;;
        dns) echo "$RUN/pdns.pid $STATE/pdns" ;;
        ssh) echo "$RUN/sshd.pid $SSH_DIR/sshd_config" ;;
        docker) echo "$RUN/dockerd.pid $DOCKER_SOCK" ;;
        hosts)
            local h
            for h in $(lab_hosts); do
                echo "$HOSTS_DIR/$h/run/sshd.pid $HOSTS_DIR/$h/sshd_config"
                echo "$HOSTS_DIR/$h/run/nginx.pid $HOSTS_DIR/$h/nginx.conf"
            done ;;
    esac
}

# lab_pid PIDFILE MARKER: print the pid if that process is alive and ours.
lab_pid() {
    local pf=$1 marker=$2 pid
    [ -r "$pf" ] || return 1
    pid=$(head -n1 "$pf" 2>/dev/null | tr -dc '0-9')
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
    echo "$pid"
}

# lab_running SERVICE: true when every process of the service is alive.
lab_running() {
    local pf marker any=0
    while read -r pf marker; do
        [ -n "$pf" ] || continue
        lab_pid "$pf" "$marker" >/dev/null || return 1
        any=1
    done < <(lab_pidfiles "$1")
    [ "$any" = 1 ]
}

# dockerd's exec root; containerd's sockets live under it: keep the path short.
lab_docker_exec_root() {
    local p="$STATE/docker/exec"
    if [ ${#p} -gt 60 ]; then
        p="/run/cairn-lab-docker-$(printf '%s' "$STATE" | sha256sum | cut -c1-8)"
    fi
    echo "$p"
}

# "pid:starttime" of a process, to tell it from a later one with the same pid.
# A zombie counts as gone: it has exited, only its parent has not reaped it.
proc_id() {
    local pid=$1 stat
    read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
    # after "pid (comm) ": state is field 3 of the line, starttime field 22
    # shellcheck disable=SC2086
    set -- ${stat##*) }
    case "$1" in Z|X|x) return 1 ;; esac
    echo "$pid:${20}"
}

still_there() { local id=$1 pid=${1%%:*}; [ "$(proc_id "$pid" 2>/dev/null)" = "$id" ]; }

# Every descendant of a pid, as proc ids.
descendants() {
    local root=$1 f stat pid ppid c
    local -a queue=("$root")
    local -A children=()
    for f in /proc/[0-9]*/stat; do
        read -r stat 2>/dev/null <"$f" || continue
        pid=${stat%% *}
        # shellcheck disable=SC2086
        set -- ${stat##*) }
        ppid=$2
        children[$ppid]="${children[$ppid]:-} $pid"
    done
    while [ ${#queue[@]} -gt 0 ]; do
        pid=${queue[0]}; queue=("${queue[@]:1}")
        for c in ${children[$pid]:-}; do
            proc_id "$c" 2>/dev/null && queue+=("$c")
        done
    done
    return 0
}

# Processes whose command line contains a path of ours (e.g. containerd shims,
# which leave dockerd's process tree), as pids.
pids_mentioning() {
    local needle=$1 f pid
    for f in /proc/[0-9]*/cmdline; do
        pid=${f#/proc/}; pid=${pid%/cmdline}
        [ "$pid" = $$ ] && continue
        tr '\0' ' ' 2>/dev/null <"$f" | grep -qF -- "$needle" && echo "$pid"
    done
    return 0
}

# wait_gone SECONDS ID...: wait until none of the processes exists.
wait_gone() {
    local limit=$1; shift
    local deadline=$((SECONDS + limit)) id alive
    while :; do
        alive=0
        for id in "$@"; do still_there "$id" && alive=1; done
        [ "$alive" = 0 ] && return 0
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# terminate NAME PID [SECONDS]: TERM the process, then KILL it and any of its
# children left behind.
terminate() {
    local name=$1 pid=$2 limit=${3:-20} id kids
    id=$(proc_id "$pid") || return 0
    kids=$(descendants "$pid" | tr '\n' ' ')
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$limit" "$id"; then
        lab_log "$name (pid $pid) ignored SIGTERM for ${limit}s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone 5 "$id" || true
    fi
    # shellcheck disable=SC2086
    if [ -n "$kids" ] && ! wait_gone 5 $kids; then
        for id in $kids; do
            still_there "$id" && kill -KILL "${id%%:*}" 2>/dev/null || true
        done
    fi
}

# stop_pidfile NAME PIDFILE MARKER [SECONDS]: stop that process if it is ours.
stop_pidfile() {
    local name=$1 pf=$2 marker=$3 limit=${4:-20} pid
    if pid=$(lab_pid "$pf" "$marker"); then
        terminate "$name" "$pid" "$limit"
        lab_info "stopped $name (pid $pid)"
    fi
    rm -f "$pf"
}

# lab_port_open PORT: true when something accepts TCP on 127.0.0.1:PORT.
lab_port_open() {
    (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# lab_env SERVICE: the NAME=value pairs that describe a service.
lab_env() {
    case "$1" in
        common)
            echo "CAIRN_LAB_STATE=$STATE"
            echo "CAIRN_LAB_PORT_OFFSET=$PORT_OFFSET"
            echo "CAIRN_LAB_OLD_SERVER_IP=$OLD_SERVER_IP"
            echo "CAIRN_LAB_NEW_SERVER_IP=$NEW_SERVER_IP" ;;
        postgres)
            echo "CAIRN_LAB_PG_PRIMARY=postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PORT_PG_PRIMARY/$PG_DB"
            echo "CAIRN_LAB_PG_NEW=postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PORT_PG_NEW/$PG_DB"
            echo "CAIRN_LAB_PG_PRIMARY_ADMIN=postgresql://postgres:$PG_SUPERPASSWORD@127.0.0.1:$PORT_PG_PRIMARY/postgres"
            echo "CAIRN_LAB_PG_NEW_ADMIN=postgresql://postgres:$PG_SUPERPASSWORD@127.0.0.1:$PORT_PG_NEW/postgres"
            echo "CAIRN_LAB_PG_BIN=$PGBIN"
            echo "CAIRN_LAB_PG_SOCKET_DIR=$STATE/pg/sock" ;;
        s3)
            echo "CAIRN_LAB_S3_ENDPOINT=http://127.0.0.1:$PORT_S3"
            echo "CAIRN_LAB_S3_BUCKET=$S3_BUCKET"
            echo "AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY"
            echo "AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY"
            echo "AWS_REGION=$S3_REGION"
            echo "AWS_DEFAULT_REGION=$S3_REGION"
            echo "AWS_ENDPOINT_URL_S3=http://127.0.0.1:$PORT_S3" ;;
        site)
            echo "CAIRN_LAB_APP1_URL=http://127.0.0.1:$PORT_APP1"
            echo "CAIRN_LAB_APP2_URL=http://127.0.0.1:$PORT_APP2"
            echo "CAIRN_LAB_GUNICORN_URL=http://127.0.0.1:$PORT_GUNICORN"
            echo "CAIRN_LAB_SITE_DIR=$SITE_APP"
            echo "CAIRN_LAB_SITE_ENV=$SITE_ROOT/env"
            echo "CAIRN_LAB_MANAGE=$SITE_APP/manage.py"
            echo "CAIRN_LAB_MAINTENANCE_FILE=$MAINT_FILE"
            echo "CAIRN_LAB_STATIC_ROOT=$STATIC_ROOT"
            echo "CAIRN_LAB_MEDIA_DIR=$MEDIA_ROOT"
            echo "CAIRN_LAB_SUPERVISOR_CONF=$SUPERVISOR_CONF"
            echo "CAIRN_LAB_PYTHON=$VENV/bin/python"
            echo "CAIRN_LAB_VENV=$VENV" ;;
        haproxy)
            echo "CAIRN_LAB_SITE_URL=http://127.0.0.1:$PORT_HAPROXY"
            echo "CAIRN_LAB_HAPROXY_SOCKET=$RUN/haproxy.sock"
            echo "CAIRN_LAB_HAPROXY_BACKEND=be_app"
            echo "CAIRN_LAB_HAPROXY_STATS_URL=http://127.0.0.1:$PORT_HAPROXY_STATS/" ;;
        dns)
            echo "CAIRN_LAB_PDNS_API=http://127.0.0.1:$PORT_PDNS_API/api/v1"
            echo "CAIRN_LAB_PDNS_KEY=$PDNS_KEY"
            echo "CAIRN_LAB_PDNS_SERVER=localhost"
            echo "CAIRN_LAB_DNS=127.0.0.1:$PORT_DNS"
            echo "CAIRN_LAB_DNS_ZONE=$DNS_ZONE." ;;
        ssh)
            echo "CAIRN_LAB_SSH=$SSH_USER@127.0.0.1"
            echo "CAIRN_LAB_SSH_PORT=$PORT_SSH"
            echo "CAIRN_LAB_SSH_KEY=$SSH_DIR/id_ed25519"
            echo "CAIRN_LAB_SSH_KNOWN_HOSTS=$SSH_DIR/known_hosts"
            echo "CAIRN_LAB_SSH_OPTS=-p $PORT_SSH -i $SSH_DIR/id_ed25519 -o IdentitiesOnly=yes -o UserKnownHostsFile=$SSH_DIR/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR" ;;
        hosts)
            local h list=""
            for h in $(lab_hosts); do list="$list $h=$(lab_host_addr "$h")"; done
            echo "CAIRN_LAB_HOSTS=${list# }"
            echo "CAIRN_LAB_HOSTS_DIR=$HOSTS_DIR"
            echo "CAIRN_LAB_SSH_CONFIG=$HOSTS_SSH_CONFIG" ;;
        fleet)
            echo "CAIRN_LAB_FLEET_URL=http://127.0.0.1:$PORT_FLEET"
            echo "CAIRN_LAB_FLEET_BACKEND=be_fleet" ;;
        docker)
            echo "CAIRN_LAB_DOCKER_HOST=unix://$DOCKER_SOCK"
            echo "CAIRN_LAB_DOCKER_CONTAINER=$DOCKER_CONTAINER"
            echo "CAIRN_LAB_DOCKER_IMAGE=$DOCKER_IMAGE" ;;
    esac
}
