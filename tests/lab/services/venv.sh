# The lab's Python venv, built from tests/lab/requirements.txt.
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

ensure_venv() {
    local req="$LAB_DIR/requirements.txt" want have py=/usr/bin/python3
    [ -x "$py" ] || py=$(command -v python3)
    want=$(sha256sum "$req" | cut -c1-16)
    have=$(cat "$VENV/.requirements-sha" 2>/dev/null || true)
    if [ -x "$VENV/bin/python" ] && [ "$want" = "$have" ] && "$VENV/bin/python" -c '
import importlib.util as u, sys
sys.exit(any(u.find_spec(m) is None for m in ("django", "gunicorn", "psycopg", "moto", "boto3", "flask_cors")))' 2>/dev/null; then
        return 0
    fi
    lab_info "installing Python packages into $VENV"
    [ -x "$VENV/bin/python" ] || quiet "$py" -m venv "$VENV"
    quiet "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
    echo "$want" >"$VENV/.requirements-sha"
}
