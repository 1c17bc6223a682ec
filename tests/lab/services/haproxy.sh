# haproxy: the site's front over the app servers, and the stats page.
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

# With the app hosts (services/hosts.sh) up or starting: their front and
# backend, health-checked on /health. Nothing otherwise.
haproxy_fleet() { { want hosts || lab_running hosts; } && [ -n "$(lab_hosts)" ]; }
haproxy_fleet_conf() {
    haproxy_fleet || return 0
    local h
    printf '\nfrontend fe_fleet\n    bind 127.0.0.1:%s\n    default_backend be_fleet\n' "$PORT_FLEET"
    printf '\nbackend be_fleet\n    balance roundrobin\n    option httpchk GET /health\n    http-check expect status 200\n'
    for h in $(lab_hosts); do
        printf '    server %s %s:80 check inter 1s fall 2 rise 1\n' "$h" "$(lab_host_addr "$h")"
    done
}

start_haproxy() {
    local dir="$STATE/haproxy"
    mkdir -p "$dir"
    cat >"$dir/haproxy.cfg.new" <<EOF
# haproxy of the cairn lab: the site's front, two app servers (nginx).
global
    stats socket $RUN/haproxy.sock mode 600 level admin expose-fd listeners
    stats timeout 30s
    maxconn 1024

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option forwardfor

frontend fe_site
    bind 127.0.0.1:$PORT_HAPROXY
    default_backend be_app

backend be_app
    balance roundrobin
    server app1 127.0.0.1:$PORT_APP1 check inter 2s fall 2 rise 1
    server app2 127.0.0.1:$PORT_APP2 check inter 2s fall 2 rise 1
EOF
    haproxy_fleet_conf >>"$dir/haproxy.cfg.new"
    cat >>"$dir/haproxy.cfg.new" <<EOF

listen stats
    bind 127.0.0.1:$PORT_HAPROXY_STATS
    stats enable
    stats uri /
    stats refresh 5s
EOF
    restart_on_change "$dir/haproxy.cfg" haproxy "$RUN/haproxy.pid" "$dir/haproxy.cfg"
    if ! lab_running haproxy; then
        require_free_port "$PORT_HAPROXY" "haproxy"
        require_free_port "$PORT_HAPROXY_STATS" "haproxy stats"
        if haproxy_fleet; then require_free_port "$PORT_FLEET" "haproxy fleet"; fi
        quiet haproxy -c -q -f "$dir/haproxy.cfg"
        rm -f "$RUN/haproxy.sock"
        quiet haproxy -D -f "$dir/haproxy.cfg" -p "$RUN/haproxy.pid"
    fi
    wait_until 20 "the site through haproxy" http_ok "http://127.0.0.1:$PORT_HAPROXY/health/"
    wait_until 10 "haproxy runtime socket" test -S "$RUN/haproxy.sock"
    lab_info "haproxy: http://127.0.0.1:$PORT_HAPROXY (be_app: app1, app2), socket $RUN/haproxy.sock"
    if haproxy_fleet; then
        wait_until 20 "the fleet through haproxy" http_ok "http://127.0.0.1:$PORT_FLEET/health"
        lab_info "haproxy: fleet http://127.0.0.1:$PORT_FLEET (be_fleet: $(lab_hosts | paste -sd' ' -))"
    fi
}
