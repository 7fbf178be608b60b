#!/bin/sh
# repl-remove.sh - spoolctl repl remove on a replicated store of four sites: a name not in the group, the master itself and a running site are refused; a stopped site is removed (three sites left, mail still flows and is delivered); a removal that would leave two sites is refused; the removed site started again with its old config joins again (issue 21).
. "$(dirname "$0")/lib.sh"
REPL_SITES="a b c d"
. "$(dirname "$0")/repl_lib.sh"
SEND="python3 $top_srcdir/tests/integration/repl_send.py"

plan 18
for s in $REPL_SITES; do repl_write_site "$s"; repl_start "$s"; done
wait_for 60 repl_master; ok $? "four sites started: one is elected master ($(repl_master))"
m=$(repl_master)
# The two removed are replicas; d first unless it is the master.
others=$(echo $REPL_SITES | tr ' ' '\n' | grep -v "^$m$" | tr '\n' ' ')
v1=$(echo $others | cut -d' ' -f3) v2=$(echo $others | cut -d' ' -f2) keep=$(echo $others | cut -d' ' -f1)
start_peer sink sink || bail "the sink does not start"
write_router_config "ok.test smtp:[127.0.0.1]:$sink_PORT tls=none" "retry_first = 1s
retry_max = 2s
[global]
store = $REPL_STORE_LIST"
ctl() { "$SPOOLCTL" -c "$T_CONFIG" "$@"; }

# repl_view: spoolctl repl's answer in $T_DIR/repl.out; the master's rows of other sites, its
# connected ones, and the sites that answered.
repl_view() {
    ctl repl > "$T_DIR/repl.out" 2>&1
    awk -v m="^site $m " '/^site / { in_m = ($0 ~ m) } in_m && /^  / { print }' "$T_DIR/repl.out" > "$T_DIR/master-rows"
}
four_up() { repl_view && [ "$(grep -c ' connected' "$T_DIR/master-rows")" = 3 ] && [ "$(grep -c '^site ' "$T_DIR/repl.out")" = 4 ]; }
wait_for 60 four_up; r=$?
[ $r = 0 ] || diag < "$T_DIR/repl.out"
ok $r "spoolctl repl shows 4 sites, the master connected to the 3 others"

ctl repl remove nosuch > "$T_DIR/nosuch.out" 2>&1; r=$?
[ $r = 1 ] && grep -q '"nosuch" is not a site of the group' "$T_DIR/nosuch.out"
ok $? "a name not in the group is refused (exit $r): $(head -c 160 "$T_DIR/nosuch.out")"
ctl repl remove "$m" > "$T_DIR/self.out" 2>&1; r=$?
[ $r = 1 ] && grep -q "site $m (.*) is the master, which cannot remove itself" "$T_DIR/self.out"
ok $? "the master itself is refused (exit $r)"
ctl repl remove "$v1" > "$T_DIR/live.out" 2>&1; r=$?
[ $r = 1 ] && grep -q "site $v1 (.*) is still connected to the master: stop it first" "$T_DIR/live.out"
ok $? "a running site ($v1) is refused: stop it first (exit $r)"
"$SPOOLCTL" -s "$(repl_sock "$v2")" repl remove "$v1" > "$T_DIR/replica.out" 2>&1; r=$?
[ $r = 75 ] && grep -q "replica" "$T_DIR/replica.out"
ok $? "asked of a replica alone, no master answers (exit $r)"
ctl repl remove > /dev/null 2>&1; r=$?
test $r = 64; ok $? "repl remove without a site is a usage error (exit $r)"
repl_view && [ "$(wc -l < "$T_DIR/master-rows")" = 3 ]; ok $? "the refusals changed nothing: the master still has 3 other sites"

repl_kill "$v1" TERM
not_connected() { repl_view && grep -q "^  $v1 .* not connected" "$T_DIR/master-rows"; }
wait_for 30 not_connected || diag < "$T_DIR/repl.out"
# A replica first in the list: it refuses the hello, and spoolctl goes on to the master.
"$SPOOLCTL" -s "unix:$(repl_sock "$keep") unix:$(repl_sock "$m")" repl remove "$v1" > "$T_DIR/remove.out" 2>&1; r=$?
[ $r = 0 ] || diag < "$T_DIR/remove.out"
[ $r = 0 ] && grep -q "site $v1 (.*) removed from the group, which has 3 sites now" "$T_DIR/remove.out"
ok $? "site $v1 stopped, then removed (exit $r), asked with a replica first in the list"
grep -q "take it out of store.repl_group on every site" "$T_DIR/remove.out"; ok $? "the answer says what to do next"
grep -q "replication: site $v1 (.*) removed from the group at the request of .*spoolctl.*; the group has 3 sites" "$T_DIR/store-$m.log"
ok $? "the master logs the removal"
repl_view; r=$?
[ $r = 0 ] && [ "$(wc -l < "$T_DIR/master-rows")" = 2 ] && ! grep -q "^  $v1 " "$T_DIR/master-rows" &&
    [ "$(grep -c '^site ' "$T_DIR/repl.out")" = 3 ]; r=$?
[ $r = 0 ] || diag < "$T_DIR/repl.out"
ok $r "spoolctl repl then shows 3 sites: the master, and 2 others in its membership"

start_smtpd || bail "smtpd does not start"
start_router || bail "the router does not start"
$SEND "$SMTP_PORT" 3 after > "$T_DIR/after.out"
test "$(grep -c ' 250 ' "$T_DIR/after.out")" = 3; ok $? "mail flows with 3 sites: 3 messages get 250"
delivered() { [ "$(grep -h '^token after-' "$T_DIR"/sink/*.eml 2> /dev/null | tr -d '\r' | sort -u | wc -l)" = 3 ]; }
wait_for 30 delivered; ok $? "and all 3 are delivered to the sink"

repl_kill "$v2" TERM
ctl repl remove "$v2" > "$T_DIR/two.out" 2>&1; r=$?
[ $r = 1 ] && grep -q "would leave the group 2 sites; a replicated store needs at least 3" "$T_DIR/two.out"
ok $? "removing a second site ($v2, stopped) is refused: it would leave 2 (exit $r)"
repl_view && [ "$(wc -l < "$T_DIR/master-rows")" = 2 ] && grep -q "^  $v2 " "$T_DIR/master-rows"
ok $? "and $v2 stays a member"

# What the answer warns of: the removed site's directory started again with its old config.
repl_start "$v1"
rejoined() { repl_caught_up "$v1" 2 && repl_view && grep -q "^  $v1 .* connected" "$T_DIR/master-rows" && [ "$(wc -l < "$T_DIR/master-rows")" = 3 ]; }
wait_for 30 rejoined; r=$?
[ $r = 0 ] || diag < "$T_DIR/repl.out"
ok $r "the removed site $v1, started again with its old directory and config, joins the group again and catches up"
stop_router; stop_smtpd; repl_stop_all
! grep -qE "$SAN_PATTERN" "$T_DIR"/store-*.log; ok $? "no site reported a sanitizer error"
