# The fixture site's code in the state directory, its environment file, manage.py.
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

fixture_sha() {
    (cd "$FIXTURES_DIR/site" && find . -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
        | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

# The site's code is a copy of tests/fixtures/site in the state dir, made a git
# repository, so deploy tests may change, pull or roll it back freely. It is
# copied again only when the fixture itself changed.
ensure_site_files() {
    local want
    want=$(fixture_sha)
    if [ "$(cat "$SITE_ROOT/.fixture-sha" 2>/dev/null || true)" != "$want" ]; then
        rm -rf "$SITE_APP"
        mkdir -p "$SITE_APP"
        cp -a "$FIXTURES_DIR/site/." "$SITE_APP/"
        find "$SITE_APP" -name __pycache__ -prune -exec rm -rf {} +
        if command -v git >/dev/null; then
            quiet git -C "$SITE_APP" init -q -b master
            quiet git -C "$SITE_APP" add -A
            quiet git -C "$SITE_APP" -c user.name=cairn-lab -c user.email=lab@example.test \
                commit -q -m "fixture site"
        fi
        echo "$want" >"$SITE_ROOT/.fixture-sha"
    fi
    mkdir -p "$STATIC_ROOT" "$MEDIA_ROOT" "$MAINT_DIR" "$SITE_ROOT/run"
    chmod 755 "$SITE_ROOT" "$STATIC_ROOT" "$MEDIA_ROOT" "$MAINT_DIR"
    cat >"$SITE_ROOT/env" <<EOF
DJANGO_SETTINGS_MODULE=labsite.settings
DATABASE_URL=postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PORT_PG_PRIMARY/$PG_DB
SECRET_KEY=$SITE_SECRET_KEY
ALLOWED_HOSTS=127.0.0.1,localhost,www.$DNS_ZONE
STATIC_ROOT=$STATIC_ROOT
MEDIA_ROOT=$MEDIA_ROOT
WORKER_HEARTBEAT=$SITE_ROOT/run/worker.heartbeat
SITE_SERVER_NAME=old
EOF
}

manage() {
    (set -a; . "$SITE_ROOT/env"; set +a; cd "$SITE_APP" && "$VENV/bin/python" manage.py "$@")
}
