# s3: moto's server and the lab's bucket.
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

s3_bucket() {
    "$VENV/bin/python" - "$PORT_S3" "$S3_BUCKET" <<'EOF'
import sys, boto3
port, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}")
names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
if bucket not in names:
    s3.create_bucket(Bucket=bucket)
EOF
}

start_s3() {
    if ! lab_running s3; then
        require_free_port "$PORT_S3" "moto (S3)"
        spawn "$LOGS/moto.log" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT_S3"
        echo $! >"$RUN/moto.pid"
    fi
    wait_until 30 "moto on port $PORT_S3" http_ok "http://127.0.0.1:$PORT_S3/moto-api/"
    AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_DEFAULT_REGION=$S3_REGION \
        quiet s3_bucket
    lab_info "s3: moto on http://127.0.0.1:$PORT_S3, bucket $S3_BUCKET"
}
