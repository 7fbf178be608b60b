# sshd_peer.sh - a throwaway OpenSSH sshd on 127.0.0.1 for the gateway's SFTP tests (internal-sftp only, key login). Sourced, not run.
#
#   start_sshd PORT    host key, user key and config under $T_DIR/sshd; sets SSHD_PID, SSH_KEY, SSH_KNOWN_HOSTS, SSH_USER
#   stop_sshd
#   sftp_share_config ROOT   the [gateway] lines for the share ROOT reached through that sshd
# The machine's own ssh config is not read or touched (sshd -f with our own file).

SSHD_PID=
start_sshd() {
    s_port=$1 s_dir="$T_DIR/sshd"
    mkdir -p "$s_dir" /run/sshd 2>/dev/null
    [ -s "$s_dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$s_dir/host_key" || return 1
    [ -s "$s_dir/user_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$s_dir/user_key" || return 1
    cp "$s_dir/user_key.pub" "$s_dir/authorized_keys"
    # known_hosts is written once; a test may have replaced it on purpose.
    [ -s "$s_dir/known_hosts" ] ||
        printf '[127.0.0.1]:%s %s\n' "$s_port" "$(cut -d' ' -f1,2 "$s_dir/host_key.pub")" > "$s_dir/known_hosts"
    cat > "$s_dir/sshd_config" <<EOF2
Port $s_port
ListenAddress 127.0.0.1
HostKey $s_dir/host_key
PidFile $s_dir/sshd.pid
AuthorizedKeysFile $s_dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
ForceCommand internal-sftp
LogLevel VERBOSE
EOF2
    /usr/sbin/sshd -D -e -f "$s_dir/sshd_config" >> "$T_DIR/sshd.log" 2>&1 &
    SSHD_PID=$!
    T_BG_PIDS="${T_BG_PIDS:-} $SSHD_PID"
    SSH_KEY="$s_dir/user_key"
    SSH_KNOWN_HOSTS="$s_dir/known_hosts"
    SSH_USER=$(id -un)
    SSHD_PORT=$s_port
    wait_alive "$SSHD_PID" 5 greets "$s_port" SSH-
}

# Stops the listener and every session it forked (an established SFTP session would outlive the listener).
stop_sshd() {
    pkill -P "$SSHD_PID" 2>/dev/null
    kill "$SSHD_PID" 2>/dev/null
    wait "$SSHD_PID" 2>/dev/null
    SSHD_PID=
}

sftp_share_config() {
    printf 'sftp_host = 127.0.0.1\nsftp_port = %s\nsftp_user = %s\nsftp_key = %s\nsftp_known_hosts = %s\nsftp_root = %s' \
        "$SSHD_PORT" "$SSH_USER" "$SSH_KEY" "$SSH_KNOWN_HOSTS" "$1"
}
