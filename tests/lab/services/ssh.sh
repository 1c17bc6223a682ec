# ssh: the lab's own sshd and the cairn-lab user.
# Sourced by tests/lab/up, never run: uses its helpers (quiet, spawn,
# wait_until, restart_on_change, ...) and lib.sh's settings.
# shellcheck shell=bash

# The user cairn-lab and the lab's client key, shared by the lab's sshd and
# the app hosts' (services/hosts.sh). The authorized keys live in the state
# directory, so labs of two checkouts (two keys) do not undo each other.
ensure_ssh_identity() {
    mkdir -p "$SSH_DIR"
    chmod 755 "$SSH_DIR"
    if ! id "$SSH_USER" >/dev/null 2>&1; then
        quiet useradd --create-home --shell /bin/bash --comment "cairn lab" "$SSH_USER"
    fi
    quiet usermod -p '*' "$SSH_USER"
    [ -s "$SSH_DIR/id_ed25519" ] ||
        quiet ssh-keygen -q -t ed25519 -N '' -C cairn-lab-client -f "$SSH_DIR/id_ed25519"
    install -m 644 "$SSH_DIR/id_ed25519.pub" "$SSH_DIR/authorized_keys"
    local home
    home=$(getent passwd "$SSH_USER" | cut -d: -f6)
    # So that psql / pg_dump over ssh reach the lab's databases without a
    # prompt; any port, so that every lab's (see CAIRN_LAB_PORT_OFFSET) matches.
    printf '127.0.0.1:*:*:%s:%s\n' "$PG_USER" "$PG_PASSWORD" >"$home/.pgpass"
    chown "$SSH_USER:$SSH_USER" "$home/.pgpass"
    chmod 600 "$home/.pgpass"
}

# The settings every sshd of the lab shares: the lab's user and keys only.
sshd_conf_common() {
    cat <<EOF
AllowUsers $SSH_USER
AuthorizedKeysFile $SSH_DIR/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
StrictModes no
X11Forwarding no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
LogLevel INFO
EOF
}

start_ssh() {
    ensure_ssh_identity
    [ -s "$SSH_DIR/ssh_host_ed25519_key" ] ||
        quiet ssh-keygen -q -t ed25519 -N '' -C cairn-lab-host -f "$SSH_DIR/ssh_host_ed25519_key"
    printf '[127.0.0.1]:%s %s\n' "$PORT_SSH" "$(cut -d' ' -f1,2 "$SSH_DIR/ssh_host_ed25519_key.pub")" \
        >"$SSH_DIR/known_hosts"
    cat >"$SSH_DIR/sshd_config.new" <<EOF
# sshd of the cairn lab (not the system one)
Port $PORT_SSH
ListenAddress 127.0.0.1
HostKey $SSH_DIR/ssh_host_ed25519_key
PidFile $RUN/sshd.pid
PermitOpen 127.0.0.1:* localhost:*
$(sshd_conf_common)
EOF
    restart_on_change "$SSH_DIR/sshd_config" sshd "$RUN/sshd.pid" "$SSH_DIR/sshd_config"
    mkdir -p /run/sshd
    chmod 755 /run/sshd
    if ! lab_running ssh; then
        require_free_port "$PORT_SSH" "sshd"
        quiet /usr/sbin/sshd -t -f "$SSH_DIR/sshd_config"
        quiet /usr/sbin/sshd -f "$SSH_DIR/sshd_config" -E "$LOGS/sshd.log"
    fi
    local -a opts
    read -r -a opts <<<"$(lab_env ssh | sed -n 's/^CAIRN_LAB_SSH_OPTS=//p')"
    wait_until 20 "ssh login as $SSH_USER" ssh "${opts[@]}" "$SSH_USER@127.0.0.1" true
    lab_info "ssh: $SSH_USER@127.0.0.1 port $PORT_SSH, key $SSH_DIR/id_ed25519"
}
