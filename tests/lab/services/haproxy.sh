# haproxy: the site's front over the app servers, and the stats page.
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

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
        quiet haproxy -c -q -f "$dir/haproxy.cfg"
        rm -f "$RUN/haproxy.sock"
        quiet haproxy -D -f "$dir/haproxy.cfg" -p "$RUN/haproxy.pid"
    fi
    wait_until 20 "the site through haproxy" http_ok "http://127.0.0.1:$PORT_HAPROXY/health/"
    wait_until 10 "haproxy runtime socket" test -S "$RUN/haproxy.sock"
    lab_info "haproxy: http://127.0.0.1:$PORT_HAPROXY (be_app: app1, app2), socket $RUN/haproxy.sock"
}
