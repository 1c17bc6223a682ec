# docker: the lab's own dockerd, the busybox image and the lab container.
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

dkr() { docker -H "unix://$DOCKER_SOCK" "$@"; }

start_dockerd() {
    local driver=$1 exec_root
    exec_root=$(lab_docker_exec_root)
    mkdir -p "$STATE/docker/data" "$exec_root"
    echo '{}' >"$STATE/docker/daemon.json"
    rm -f "$DOCKER_SOCK"
    spawn "$LOGS/dockerd.log" dockerd \
        --config-file "$STATE/docker/daemon.json" \
        --host "unix://$DOCKER_SOCK" \
        --data-root "$STATE/docker/data" \
        --exec-root "$exec_root" \
        --pidfile "$RUN/dockerd.pid" \
        --storage-driver "$driver" \
        --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
        --userland-proxy=false --shutdown-timeout 5 --log-level warn
    local pid=$!
    local deadline=$((SECONDS + 40))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if dkr version >/dev/null 2>&1; then
            echo "$pid" >"$RUN/dockerd.pid"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.3
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
}

docker_image() {
    dkr image inspect "$DOCKER_IMAGE" >/dev/null 2>&1 && return 0
    # A busybox image built offline from Debian's busybox-static.
    local rootfs="$STATE/docker/rootfs" applet
    rm -rf "$rootfs"
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
    chmod 1777 "$rootfs/tmp"
    cp /bin/busybox "$rootfs/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    tar -C "$rootfs" -c . | dkr import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$DOCKER_IMAGE" >>"$LOG" 2>&1 3>&-
}

docker_container() {
    local running
    running=$(dkr inspect -f '{{.State.Running}}' "$DOCKER_CONTAINER" 2>/dev/null || echo missing)
    case "$running" in
        true) return 0 ;;
        false) quiet dkr start "$DOCKER_CONTAINER" ;;
        *) quiet dkr run -d --name "$DOCKER_CONTAINER" --network none --restart no \
                --label cairn-lab=1 "$DOCKER_IMAGE" \
                sh -c 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done' ;;
    esac
}

# docker-compose (1.x on Debian 12) for the compose backend's tests: a
# missing package is noted in run/compose.unavailable, not fatal.
ensure_compose() {
    rm -f "$RUN/compose.unavailable"
    command -v docker-compose >/dev/null && return 0
    if ! ensure_apt docker-compose || ! command -v docker-compose >/dev/null; then
        echo "the Debian package docker-compose could not be installed (see $LOG)" >"$RUN/compose.unavailable"
        lab_log "WARNING: $(cat "$RUN/compose.unavailable")"
    fi
}

start_docker() {
    rm -f "$RUN/docker.unavailable"
    ensure_compose
    if ! lab_running docker; then
        local ok=0 driver
        for driver in overlay2 vfs; do
            if start_dockerd "$driver"; then ok=1; break; fi
            lab_log "dockerd did not start with storage driver $driver (see $LOGS/dockerd.log)"
        done
        if [ "$ok" = 0 ]; then
            local why
            why=$(grep -iE 'level=(fatal|error)|failed' "$LOGS/dockerd.log" | tail -n 1 || true)
            echo "dockerd does not start here: ${why:-see $LOGS/dockerd.log}" >"$RUN/docker.unavailable"
            lab_log "WARNING: skipping docker: $(cat "$RUN/docker.unavailable")"
            return 1
        fi
    fi
    if ! docker_image || ! docker_container; then
        echo "dockerd runs but the lab container does not start (see $LOG)" >"$RUN/docker.unavailable"
        lab_log "WARNING: $(cat "$RUN/docker.unavailable")"
        return 1
    fi
    wait_until 20 "docker exec in $DOCKER_CONTAINER" dkr exec "$DOCKER_CONTAINER" true
    lab_info "docker: unix://$DOCKER_SOCK, container $DOCKER_CONTAINER ($(dkr info -f '{{.Driver}}' 2>/dev/null))"
}
