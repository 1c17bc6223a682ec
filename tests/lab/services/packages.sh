# Debian packages: what each service needs, installed with apt-get when missing.
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

apt_missing() {
    local installed p
    installed=" $(dpkg-query -W -f='${Package}:${db:Status-Status} ' "$@" 2>/dev/null || true)"
    for p in "$@"; do
        case "$installed" in *" $p:installed "*) ;; *) echo "$p" ;; esac
    done
}

POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0
cleanup_policy() { if [ "$POLICY_RC_OURS" = 1 ]; then rm -f "$POLICY_RC"; POLICY_RC_OURS=0; fi; }

ensure_apt() {
    local missing
    missing=$(apt_missing "$@" | tr '\n' ' ')
    [ -n "${missing// /}" ] || return 0
    lab_info "installing Debian packages: $missing"
    # Packages such as nginx, sshd or pdns start their system service when
    # installed; the lab runs its own instances, so forbid that.
    if [ ! -e "$POLICY_RC" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC"
        chmod 755 "$POLICY_RC"
        POLICY_RC_OURS=1
    fi
    local -a cmd=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    # shellcheck disable=SC2086
    if ! "${cmd[@]}" $missing </dev/null >>"$LOG" 2>&1 3>&-; then
        quiet apt-get update -q
        # shellcheck disable=SC2086
        quiet "${cmd[@]}" $missing
    fi
    cleanup_policy
}

packages_for() {
    case "$1" in
        postgres) echo postgresql-15 python3-venv ;;
        s3) echo python3-venv ;;
        site) echo nginx supervisor python3-venv ;;
        haproxy) echo haproxy ;;
        dns) echo pdns-server pdns-backend-sqlite3 ;;
        ssh) echo openssh-server openssh-client ;;
        docker) echo docker.io busybox-static ;;
        hosts) echo iproute2 openssh-server openssh-client nginx ;;
    esac
}
