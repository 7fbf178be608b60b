#!/bin/sh
# repl-quorum-lost.sh - a replicated store that loses both replicas answers new mail 451, never 250, and keeps nothing of it; a replica back (from an empty directory: internal init) makes mail flow again, and can itself be elected master with everything on it (issue 21).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl_lib.sh"
SEND="python3 $top_srcdir/tests/integration/repl_send.py"

plan 11
for s in $REPL_SITES; do repl_write_site "$s"; repl_start "$s"; done
wait_for 60 repl_master; ok $? "three sites started: one is elected master"
m=$(repl_master)
others=$(echo $REPL_SITES | tr ' ' '\n' | grep -v "^$m$" | tr '\n' ' ')
r1=${others%% *} r2=$(echo $others | cut -d' ' -f2)
T_ROUTES="ok.test smtp:[127.0.0.1]:9" T_MYNETWORKS=127.0.0.0/8 write_smtpd_config "[global]
store = $REPL_STORE_LIST"
start_smtpd || bail "smtpd does not start"
count_on() { "$SPOOLCTL" -s "$(repl_sock "$1")" list | tail -1 | cut -d' ' -f1; }

$SEND "$SMTP_PORT" 5 before > "$T_DIR/before.out"
test "$(grep -c ' 250 ' "$T_DIR/before.out")" = 5; ok $? "with the group whole, 5 messages get 250 (master $m)"

repl_kill "$r1"; repl_kill "$r2"
$SEND "$SMTP_PORT" 3 lost 20 > "$T_DIR/lost.out"
! grep -q ' 250 ' "$T_DIR/lost.out" && test "$(grep -c ' 451 ' "$T_DIR/lost.out")" = 3
ok $? "both replicas killed: new mail gets 451, never 250 ($(cut -d' ' -f2 "$T_DIR/lost.out" | tr '\n' ' '))"
grep -q "not acknowledged by a quorum" "$T_DIR/store-$m.log"; ok $? "the master logs why: no quorum acknowledged the commit"
test "$(count_on "$m")" = 5; ok $? "what got 451 is taken back: the master holds the 5 messages ($(count_on "$m"))"

# r1 comes back from an empty directory (and with the highest priority): internal init.
# (Never with repl_create_group: a site from an empty directory with it would found a new group.)
rm -rf "$T_DIR/$r1"
REPL_CREATOR=none repl_write_site "$r1" "repl_priority = 200"
repl_start "$r1"
wait_for 60 repl_caught_up "$r1" 1; ok $? "site $r1, started from an empty directory, catches up with the master"
wait_for 30 sh -c "$SEND $SMTP_PORT 1 probe 10 | grep -q ' 250 '"
$SEND "$SMTP_PORT" 3 after > "$T_DIR/after.out"
test "$(grep -c ' 250 ' "$T_DIR/after.out")" = 3; ok $? "with a quorum again, mail flows: 3 more get 250"
accepted=$(cat "$T_DIR"/before.out "$T_DIR"/after.out | grep -c ' 250 ')

repl_start "$r2"
wait_for 60 repl_caught_up "$r2" 2 || echo "# $r2 did not catch up"
total=$(count_on "$m")
repl_kill "$m"
wait_for 30 repl_is_master "$r1"; ok $? "the master killed: $r1 (the one from the empty directory) is elected"
test "$(count_on "$r1")" = "$total" && test "$total" -ge "$accepted"
ok $? "and holds every message the old master had ($(count_on "$r1") of $total; $accepted acknowledged by this test, the rest probes)"
repl_start "$m"
wait_for 60 repl_caught_up "$m" 1
test "$(repl_masters)" = 1; ok $? "the old master rejoins as a replica: one master"
test "$("$SPOOLCTL" -s "unix:$(repl_sock "$r1")" generation)" -gt 0; ok $? "one store address given as unix:PATH works too (spoolctl -s unix:...)"
stop_smtpd; repl_stop_all
