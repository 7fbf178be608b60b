#!/bin/sh
# repl-freeze.sh - the master stopped (SIGSTOP) past the election timeout while mail comes in, then resumed: it finds another master, tells its clients it stepped down, exits 76 and rejoins as a replica; one master afterwards, every message that got 250 is on it, and nothing the frozen master could not get acknowledged is (issue 21).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl_lib.sh"
SEND="python3 $top_srcdir/tests/integration/repl_send.py"

plan 9
for s in $REPL_SITES; do repl_write_site "$s"; repl_start "$s"; done
wait_for 60 repl_master; ok $? "three sites started: one is elected master"
old=$(repl_master)
T_ROUTES="ok.test smtp:[127.0.0.1]:9" T_MYNETWORKS=127.0.0.0/8 write_smtpd_config "store_wait_timeout = 5s
[global]
store = $REPL_STORE_LIST"
start_smtpd || bail "smtpd does not start"
$SEND "$SMTP_PORT" 5 before > "$T_DIR/sent.out"
test "$(grep -c ' 250 ' "$T_DIR/sent.out")" = 5; ok $? "5 messages get 250 from master $old"

old_pid=$(repl_pid "$old")
kill -STOP "$old_pid"
new=$(repl_new_master "$old")
test -n "$new"; ok $? "master $old frozen: the others elect $new"
# Mail while the old master is frozen: what smtpd had open to it hangs; a new connection to it
# gets no hello and goes on to the next site (ipc_uv's hello timeout), so mail flows through $new.
$SEND "$SMTP_PORT" 6 frozen 15 >> "$T_DIR/sent.out"
grep -q '^frozen-.* 250 ' "$T_DIR/sent.out"; ok $? "mail flows meanwhile through $new ($(grep -c '^frozen-.* 250 ' "$T_DIR/sent.out") of 6 got 250)"

kill -CONT "$old_pid"
wait "$old_pid"; rc=$?
eval "REPL_PID_$old="
test "$rc" = 76; ok $? "resumed, $old finds it is no longer master, steps down and exits 76 (exit $rc)"
grep -q "no longer master" "$T_DIR/store-$old.log"; ok $? "and says why in its log"
# smtpd's link to it stayed up through the freeze: the role message told it of the step-down.
grep -q "mail store unavailable ($(repl_sock "$old")): connection closed by the peer; it stepped down (demoted)" "$T_SMTPD_LOG"
ok $? "smtpd's link heard from $old that it stepped down before the connection closed"
# As systemd's Restart=on-failure would: every site that stepped down (exit 76) starts again.
sleep 3
repl_restart_exited "after the resume"
m=
for _ in $(seq 1 300); do m=$(repl_master) && break; sleep 0.1; done
sleep 2
test -n "$m" && test "$(repl_masters)" = 1; ok $? "one master afterwards ($m), the old one a replica"

# Exactly what got 250 is on the master: nothing acknowledged lost, nothing unacknowledged kept.
grep ' 250 ' "$T_DIR/sent.out" | cut -d' ' -f3 | sort > "$T_DIR/acked"
"$SPOOLCTL" -s "$(repl_sock "$m")" list | awk '$2 ~ /^gen=/ { print $1 }' | sort > "$T_DIR/held"
lost=$(comm -23 "$T_DIR/acked" "$T_DIR/held" | wc -l)
extra=$(comm -13 "$T_DIR/acked" "$T_DIR/held" | wc -l)
test "$lost" = 0 && test "$extra" = 0
ok $? "the master holds exactly the $(wc -l < "$T_DIR/acked") messages that got 250 ($lost lost, $extra never acknowledged)"
stop_smtpd; repl_stop_all
