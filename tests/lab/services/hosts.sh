# hosts: app hosts for fleet tests. Each host appN is a network namespace of
# the lab (cairn-lab-TAG-appN) with a veth into a bridge of the root
# namespace, the address HOSTS_NET.N, its own sshd (port 22, user cairn-lab,
# the lab's key) and its own nginx (port 80: state/hosts/appN/www, /health,
# and /site/ from the directory state/hosts/appN/site that deploys change).
# Sourced by tests/lab/up (start_hosts) and tests/lab/down (stop_hosts).
# shellcheck shell=bash

# No interface but our bridge may hold an address of HOSTS_NET: another
# lab's hosts, or a real network, took it.
hosts_net_free() {
    local other
    other=$(ip -o -4 addr show | awk -v net="$HOSTS_NET." -v br="$HOSTS_BRIDGE" \
        '{ split($4, a, "/"); if (index(a[1], net) == 1 && $2 != br) print $2 }' | sort -u | tr '\n' ' ')
    [ -z "$other" ] || lab_die "addresses of $HOSTS_NET.0/24 are taken by $other(another lab?); set CAIRN_LAB_HOSTS_NET or CAIRN_LAB_PORT_OFFSET"
}

hosts_bridge() {
    ip link show dev "$HOSTS_BRIDGE" >/dev/null 2>&1 || quiet ip link add "$HOSTS_BRIDGE" type bridge
    quiet ip addr replace "$HOSTS_GW/24" dev "$HOSTS_BRIDGE"
    quiet ip link set "$HOSTS_BRIDGE" up
}

# The host's namespace, its link into the bridge, its address.
host_net() {
    local h=$1 ns veth addr
    ns=$(lab_host_ns "$h"); veth=$(lab_host_veth "$h"); addr=$(lab_host_addr "$h")
    ip netns list | awk '{print $1}' | grep -qxF "$ns" || quiet ip netns add "$ns"
    if ! ip link show dev "$veth" >/dev/null 2>&1; then
        ip -n "$ns" link del eth0 >/dev/null 2>&1 || true
        quiet ip link add "$veth" type veth peer name eth0 netns "$ns"
    fi
    quiet ip link set "$veth" master "$HOSTS_BRIDGE" up
    quiet ip -n "$ns" link set lo up
    quiet ip -n "$ns" addr replace "$addr/24" dev eth0
    quiet ip -n "$ns" link set eth0 up
    quiet ip -n "$ns" route replace default via "$HOSTS_GW"
}

write_host_sshd_conf() {
    local h=$1 d="$HOSTS_DIR/$1"
    cat >"$d/sshd_config.new" <<EOF
# sshd of the cairn lab's app host $h (in its network namespace)
Port 22
ListenAddress $(lab_host_addr "$h")
HostKey $d/ssh_host_ed25519_key
PidFile $d/run/sshd.pid
$(sshd_conf_common)
EOF
}

write_host_nginx_conf() {
    local h=$1 d="$HOSTS_DIR/$1"
    cat >"$d/nginx.conf.new" <<EOF
# nginx of the cairn lab's app host $h (in its network namespace)
user www-data;
worker_processes 1;
pid $d/run/nginx.pid;
error_log $d/logs/nginx.error.log warn;

events { worker_connections 256; }

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $d/logs/nginx.access.log;
    client_body_temp_path $d/nginx-tmp/body;
    proxy_temp_path $d/nginx-tmp/proxy;
    fastcgi_temp_path $d/nginx-tmp/fastcgi;
    uwsgi_temp_path $d/nginx-tmp/uwsgi;
    scgi_temp_path $d/nginx-tmp/scgi;
    sendfile on;
    server_tokens off;

    server {
        listen $(lab_host_addr "$h"):80;
        server_name _;
        add_header X-Cairn-Lab-Host $h always;
        root $d/www;
        location = /health { default_type text/plain; return 200 "ok $h\\n"; }
        # What a deploy put into the host's site directory.
        location /site/ { alias $d/site/; }
    }
}
EOF
}

start_host() {
    local h=$1 d="$HOSTS_DIR/$1" ns
    ns=$(lab_host_ns "$h")
    mkdir -p "$d/run" "$d/logs" "$d/www" "$d/nginx-tmp"
    chmod 755 "$d" "$d/www"
    [ -d "$d/site" ] || install -d -o "$SSH_USER" -g "$SSH_USER" -m 755 "$d/site"
    printf '<!doctype html>\n<title>%s</title>\n<h1>%s</h1>\n<p>cairn lab app host %s (%s)</p>\n' \
        "$h" "$h" "$h" "$(lab_host_addr "$h")" >"$d/www/index.html"
    [ -s "$d/ssh_host_ed25519_key" ] ||
        quiet ssh-keygen -q -t ed25519 -N '' -C "cairn-lab-$h" -f "$d/ssh_host_ed25519_key"
    host_net "$h"

    write_host_sshd_conf "$h"
    restart_on_change "$d/sshd_config" "$h sshd" "$d/run/sshd.pid" "$d/sshd_config"
    if ! lab_pid "$d/run/sshd.pid" "$d/sshd_config" >/dev/null; then
        quiet /usr/sbin/sshd -t -f "$d/sshd_config"
        quiet ip netns exec "$ns" /usr/sbin/sshd -f "$d/sshd_config" -E "$d/logs/sshd.log"
    fi

    write_host_nginx_conf "$h"
    restart_on_change "$d/nginx.conf" "$h nginx" "$d/run/nginx.pid" "$d/nginx.conf"
    if ! lab_pid "$d/run/nginx.pid" "$d/nginx.conf" >/dev/null; then
        quiet ip netns exec "$ns" nginx -t -q -c "$d/nginx.conf" -p "$d/" -e "$d/logs/nginx.error.log"
        quiet ip netns exec "$ns" nginx -c "$d/nginx.conf" -p "$d/" -e "$d/logs/nginx.error.log"
    fi
}

# The client side: one Host entry per app host, and their host keys.
write_host_client_files() {
    local h addr
    : >"$HOSTS_DIR/known_hosts.new"
    {
        echo "# OpenSSH client configuration of the cairn lab's app hosts: ssh -F this-file app1"
        for h in $(lab_hosts); do
            addr=$(lab_host_addr "$h")
            printf '%s %s\n' "$addr" "$(cut -d' ' -f1,2 "$HOSTS_DIR/$h/ssh_host_ed25519_key.pub")" \
                >>"$HOSTS_DIR/known_hosts.new"
            cat <<EOF

Host $h
    HostName $addr
    Port 22
    User $SSH_USER
    IdentityFile $SSH_DIR/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $HOSTS_DIR/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    ConnectTimeout 5
    LogLevel ERROR
EOF
        done
    } >"$HOSTS_SSH_CONFIG.new"
    mv "$HOSTS_DIR/known_hosts.new" "$HOSTS_DIR/known_hosts"
    mv "$HOSTS_SSH_CONFIG.new" "$HOSTS_SSH_CONFIG"
}

start_hosts() {
    local count n h
    count=$(lab_hosts_count) || exit 1
    ensure_ssh_identity
    mkdir -p "$HOSTS_DIR" /run/sshd
    chmod 755 "$HOSTS_DIR" /run/sshd
    # Hosts beyond the count (a smaller CAIRN_LAB_HOSTS than last time) go.
    for h in $( (lab_hosts; lab_host_namespaces) | sort -u); do
        [ "${h#app}" -le "$count" ] && continue
        stop_host "$h"
        rm -rf "${HOSTS_DIR:?}/$h"
        lab_info "hosts: removed $h"
    done
    hosts_net_free
    hosts_bridge
    for n in $(seq 1 "$count"); do start_host "app$n"; done
    write_host_client_files
    for h in $(lab_hosts); do
        wait_until 20 "ssh to $h" ssh -F "$HOSTS_SSH_CONFIG" "$h" true
        wait_until 20 "nginx of $h" http_ok "http://$(lab_host_addr "$h")/health"
    done
    lab_info "hosts: app1..app$count on $HOSTS_NET.1-$count (namespaces $(lab_host_ns 'appN')), ssh -F $HOSTS_SSH_CONFIG"
}

# Stop a host's processes (by pidfile, then whatever else runs in its
# namespace, which only the lab made), then remove its link and namespace.
stop_host() {
    local h=$1 d="$HOSTS_DIR/$1" ns veth p
    ns=$(lab_host_ns "$h"); veth=$(lab_host_veth "$h")
    stop_pidfile "$h nginx" "$d/run/nginx.pid" "$d/nginx.conf"
    stop_pidfile "$h sshd" "$d/run/sshd.pid" "$d/sshd_config"
    if ip netns list | awk '{print $1}' | grep -qxF "$ns"; then
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            terminate "$h leftover" "$p" 5
            lab_info "stopped $h leftover (pid $p)"
        done
        if ip netns del "$ns" 2>/dev/null; then lab_info "removed network namespace $ns"; fi
    fi
    if ip link show dev "$veth" >/dev/null 2>&1; then
        ip link del "$veth" 2>/dev/null || true
    fi
}

stop_hosts() {
    local h
    for h in $( (lab_hosts; lab_host_namespaces) | sort -u); do stop_host "$h"; done
    if ip link show dev "$HOSTS_BRIDGE" >/dev/null 2>&1; then
        if ip link del "$HOSTS_BRIDGE"; then lab_info "removed bridge $HOSTS_BRIDGE"; fi
    fi
}
