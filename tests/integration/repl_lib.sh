# repl_lib.sh - helpers for the replicated-store tests: store sites on loopback ports (three, or REPL_SITES set before it is sourced), one config each, found by role. Sourced after lib.sh.

REPL_SITES=${REPL_SITES:-a b c}
REPL_GROUP=
for r_s in $REPL_SITES; do
    REPL_GROUP="${REPL_GROUP:+$REPL_GROUP }$r_s=127.0.0.1:$(free_port)"
done

# repl_sock SITE: the site's store socket.
repl_sock() { echo "$T_DIR/$1/run/store.sock"; }

# Where clients reach each site (store.repl_ipc): its Unix socket; a test may set another
# before it writes the sites (tcp: addresses), or empty (sites name no master's address).
REPL_IPC=
for r_s in $REPL_SITES; do
    REPL_IPC="${REPL_IPC:+$REPL_IPC }$r_s=unix:$(repl_sock "$r_s")"
done

# repl_write_site SITE [extra store lines]: the site's own config, its state under $T_DIR/SITE;
# site $REPL_CREATOR (a) founds the group (repl_create_group), the others join through it.
repl_write_site() {
    mkdir -p "$T_DIR/$1"
    r_create=no
    [ "$1" = "${REPL_CREATOR:-a}" ] && r_create=yes
    printf '[global]\nstate_dir = %s/%s\nhostname = %s\n[store]\ncheckpoint_interval = 1s\nreplication = yes\nrepl_site = %s\nrepl_group = %s\nrepl_ipc = %s\nrepl_create_group = %s\nrepl_heartbeat = 1s\nrepl_election_timeout = 2s\nrepl_ack_timeout = 2s\n%s\n' \
        "$T_DIR" "$1" "$T_HOSTNAME" "$1" "$REPL_GROUP" "$REPL_IPC" "$r_create" "${2:-}" > "$T_DIR/$1.ini"
}

# repl_start SITE: in the background, logging to $T_DIR/store-SITE.log; REPL_PID_SITE its pid.
repl_start() {
    ${SG_DAEMON_WRAPPER:-} "$STORE_BIN" -c "$T_DIR/$1.ini" --foreground $SG_ROOT_FLAG \
        >> "$T_DIR/store-$1.log" 2>&1 &
    eval "REPL_PID_$1=$!"
    T_BG_PIDS="${T_BG_PIDS:-} $!"
}

repl_pid() { eval "echo \${REPL_PID_$1:-}"; }

# repl_kill SITE [SIGNAL]: kill -9 (or SIGNAL) and wait for it.
repl_kill() {
    r_pid=$(repl_pid "$1")
    kill "-${2:-9}" "$r_pid" 2> /dev/null
    wait "$r_pid" 2> /dev/null
    eval "REPL_PID_$1="
}

# repl_is_master SITE: the site serves (a replica refuses every client).
repl_is_master() { "$SPOOLCTL" -s "$(repl_sock "$1")" generation > /dev/null 2>&1; }

# repl_master: the site that serves now, if one does.
repl_master() {
    for r_s in $REPL_SITES; do
        repl_is_master "$r_s" && { echo "$r_s"; return 0; }
    done
    return 1
}

# repl_new_master OLD: waits up to 30 s for a site other than OLD to serve and prints it
# (nothing, and fails, when none does).
repl_new_master() {
    for _ in $(seq 1 300); do
        for r_s in $REPL_SITES; do
            [ "$r_s" != "$1" ] && repl_is_master "$r_s" && { echo "$r_s"; return 0; }
        done
        sleep 0.1
    done
    return 1
}

# repl_restart_exited WHEN [START]: as systemd's Restart=on-failure would, every site whose
# store has exited (a master that stepped down exits 76) is started again, with START
# (default repl_start); each exit is printed as "# site S exited N WHEN".
repl_restart_exited() {
    for r_s in $REPL_SITES; do
        r_pid=$(repl_pid "$r_s")
        [ -n "$r_pid" ] && kill -0 "$r_pid" 2> /dev/null && continue
        [ -n "$r_pid" ] && { wait "$r_pid"; echo "# site $r_s exited $? $1"; }
        "${2:-repl_start}" "$r_s"
    done
}

# repl_masters: how many sites serve now.
repl_masters() {
    r_n=0
    for r_s in $REPL_SITES; do repl_is_master "$r_s" && r_n=$((r_n + 1)); done
    echo "$r_n"
}

# repl_caught_up SITE N: the site's log says N times that it caught up with a master.
repl_caught_up() { [ "$(grep -c 'caught up with the master' "$T_DIR/store-$1.log")" -ge "$2" ]; }

# The clients' [global] store: every site, in order.
REPL_STORE_LIST=
for r_s in $REPL_SITES; do
    REPL_STORE_LIST="${REPL_STORE_LIST:+$REPL_STORE_LIST }unix:$(repl_sock "$r_s")"
done

# repl_stop_all: SIGTERM to every site still running (so sanitizers report at exit).
repl_stop_all() {
    for r_s in $REPL_SITES; do
        r_pid=$(repl_pid "$r_s")
        [ -n "$r_pid" ] && kill -TERM "$r_pid" 2> /dev/null
    done
    for r_s in $REPL_SITES; do
        r_pid=$(repl_pid "$r_s")
        [ -n "$r_pid" ] && wait "$r_pid" 2> /dev/null
        eval "REPL_PID_$r_s="
    done
}

# repl_load_start TAG SESSIONS PAUSE: steady SMTP load on $SMTP_PORT until repl_load_stop: runs
# of 40 messages over SESSIONS sessions, run i tagged TAGi, PAUSE seconds between runs; every
# 250 is one line "TOKEN QUEUEID" in $T_DIR/accepted, each run's summary a line of load.out.
repl_load_start() {
    (i=0; while [ ! -f "$T_DIR/stop-load" ]; do
        python3 "$top_srcdir/tests/integration/smtp_load.py" --port "$SMTP_PORT" --count 40 \
            --sessions "$2" --rcpt rcpt@ok.test --tag "$1$i" --out "$T_DIR/accepted" >> "$T_DIR/load.out" 2>&1
        i=$((i + 1))
        sleep "$3"
    done) &
    REPL_LOAD_PID=$!
    T_BG_PIDS="${T_BG_PIDS:-} $REPL_LOAD_PID"
}
repl_load_stop() {
    touch "$T_DIR/stop-load"
    wait "$REPL_LOAD_PID"
}
