# site: supervisord (gunicorn, worker) and the two nginx app servers.
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

write_supervisor_conf() {
    local envline
    envline=$(grep -v '^#' "$SITE_ROOT/env" | sed -E 's/^([^=]+)=(.*)$/\1="\2"/' | paste -sd, -)
    mkdir -p "$STATE/supervisor"
    cat >"$SUPERVISOR_CONF.new" <<EOF
; supervisord of the cairn lab (not the system one)
[unix_http_server]
file=$RUN/supervisor.sock
chmod=0700

[supervisord]
logfile=$LOGS/supervisord.log
pidfile=$RUN/supervisord.pid
childlogdir=$LOGS
identifier=cairn-lab

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$RUN/supervisor.sock

[program:gunicorn]
command=$VENV/bin/gunicorn labsite.wsgi:application --bind 127.0.0.1:$PORT_GUNICORN --workers 2 --timeout 30 --graceful-timeout 5 --access-logfile - --error-logfile -
directory=$SITE_APP
environment=$envline
autostart=true
autorestart=true
startsecs=2
stopwaitsecs=10
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=$LOGS/gunicorn.log

[program:worker]
command=$VENV/bin/python manage.py lab_worker
directory=$SITE_APP
environment=$envline
autostart=true
autorestart=true
startsecs=2
stopwaitsecs=10
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=$LOGS/worker.log
EOF
}

write_nginx_conf() {
    local app=$1 port=$2 dir="$STATE/nginx"
    mkdir -p "$dir/tmp-$app"
    cat >"$dir/$app.conf.new" <<EOF
# nginx of lab app server $app: static and media files, maintenance page,
# everything else proxied to gunicorn.
user www-data;
worker_processes 1;
pid $RUN/nginx-$app.pid;
error_log $LOGS/nginx-$app.error.log warn;

events { worker_connections 512; }

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $LOGS/nginx-$app.access.log;
    client_body_temp_path $dir/tmp-$app/body;
    proxy_temp_path $dir/tmp-$app/proxy;
    fastcgi_temp_path $dir/tmp-$app/fastcgi;
    uwsgi_temp_path $dir/tmp-$app/uwsgi;
    scgi_temp_path $dir/tmp-$app/scgi;
    sendfile on;
    server_tokens off;

    upstream gunicorn { server 127.0.0.1:$PORT_GUNICORN; }

    server {
        listen 127.0.0.1:$port;
        server_name _;
        add_header X-Cairn-Lab-Backend $app always;

        # Maintenance: while this file exists every request gets 503 and the
        # file itself as the page (remove the file to end maintenance).
        set \$maintenance_file $MAINT_FILE;
        if (-f \$maintenance_file) { return 503; }
        error_page 503 @maintenance;
        location @maintenance {
            root $MAINT_DIR;
            rewrite ^ /maintenance.html break;
        }

        location /static/ { alias $STATIC_ROOT/; }
        location /media/ { alias $MEDIA_ROOT/; }
        location / {
            proxy_pass http://gunicorn;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_connect_timeout 5s;
            proxy_read_timeout 30s;
        }
    }
}
EOF
}

start_nginx() {
    local app=$1 port=$2
    write_nginx_conf "$app" "$port"
    restart_on_change "$STATE/nginx/$app.conf" "nginx $app" "$RUN/nginx-$app.pid" "$STATE/nginx/$app.conf"
    if ! lab_pid "$RUN/nginx-$app.pid" "$STATE/nginx/$app.conf" >/dev/null; then
        require_free_port "$port" "nginx $app"
        quiet nginx -t -q -c "$STATE/nginx/$app.conf" -p "$STATE/nginx/" -e "$LOGS/nginx-$app.error.log"
        quiet nginx -c "$STATE/nginx/$app.conf" -p "$STATE/nginx/" -e "$LOGS/nginx-$app.error.log"
    fi
    wait_until 20 "nginx $app on port $port" http_ok "http://127.0.0.1:$port/static/notes/site.css"
}

start_site() {
    ensure_site_files
    quiet manage collectstatic --noinput
    write_supervisor_conf
    install_conf "$SUPERVISOR_CONF" || true
    if lab_pid "$RUN/supervisord.pid" "$SUPERVISOR_CONF" >/dev/null; then
        # Already up: apply a changed configuration, and make sure both
        # programs run (a test may have stopped one).
        wait_until 10 "supervisord's socket" test -S "$RUN/supervisor.sock"
        supervisorctl -c "$SUPERVISOR_CONF" update </dev/null >>"$LOG" 2>&1 3>&- || true
        supervisorctl -c "$SUPERVISOR_CONF" start gunicorn worker </dev/null >>"$LOG" 2>&1 3>&- || true
    else
        require_free_port "$PORT_GUNICORN" "gunicorn"
        rm -f "$RUN/supervisor.sock"
        quiet supervisord -c "$SUPERVISOR_CONF"
    fi
    wait_until 60 "gunicorn on port $PORT_GUNICORN" http_ok "http://127.0.0.1:$PORT_GUNICORN/health/"
    start_nginx app1 "$PORT_APP1"
    start_nginx app2 "$PORT_APP2"
    wait_until 20 "the site through nginx app1" http_ok "http://127.0.0.1:$PORT_APP1/health/"
    lab_info "site: gunicorn :$PORT_GUNICORN under supervisor, nginx app1 :$PORT_APP1, app2 :$PORT_APP2"
}
