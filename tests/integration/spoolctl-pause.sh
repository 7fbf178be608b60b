#!/bin/sh
# spoolctl-pause.sh - pause and resume of deliveries (one domain, all), kept across restarts of the store and the router; flush of deferred mail; status lists the daemons.
. "$(dirname "$0")/lib.sh"

plan 23
start_peer sink sink
LATE_PORT=$(free_port)
write_router_config "a.test smtp:[127.0.0.1]:$sink_PORT
b.test smtp:[127.0.0.1]:$sink_PORT
late.test smtp:[127.0.0.1]:$LATE_PORT" "retry_first = 1h
retry_max = 2h"
start_mail_path
inject() { printf 'Subject: t\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "$1" | sed -n 's/^queued as //p'; }
sc() { "$SPOOLCTL" -s "$T_SOCKET" "$@"; }

sc status > "$T_DIR/status.out"
grep -q "role=router .*pid=$ROUTER_PID " "$T_DIR/status.out" && grep -q "spoolgate-smtpd" "$T_DIR/status.out" &&
    grep -q "^store: spoolgate-store version [0-9][0-9.]* pid $STORE_PID protocol 1\.[0-9]" "$T_DIR/status.out"
ok $? "status lists the store's version and pid, and the router and smtpd connected, with their pids"
sc status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
roles = {c["role"] for c in d["clients"]}
sys.exit(0 if {"router", "smtpd", "admin"} <= roles and d["store"]["pid"] == int(sys.argv[1]) else 1)' "$STORE_PID"
ok $? "status --json: the same, parsed as JSON"

sc pause a.test > /dev/null; ok $? "pause a.test"
QA=$(inject x@a.test); QB=$(inject y@b.test)
peer_got sink y@b.test; ok $? "mail to b.test still flows"
queue_shows 10 "$QA" "deferred  attempts=0 .*reply=4.3.2 paused by admin"
ok $? "mail to a.test stays queued, no attempt counted, the reason visible in list"
sc list --state deferred | grep -q "x@a.test"; ok $? "and it is listed as deferred"

stop_router; stop_store
start_store; ok $? "the store restarts"
start_router; ok $? "the router restarts"
sc status | grep -qx "paused: a.test"; ok $? "the pause survived the restart of both"
QA2=$(inject x2@a.test)
queue_shows 10 "$QA2" "reply=4.3.2 paused by admin"; ok $? "new mail to a.test after the restart is paused too"
cat "$T_DIR"/sink/*.json | grep -q "@a.test"; test $? -ne 0; ok $? "nothing for a.test reached the peer"

sc resume a.test > "$T_DIR/resume.out"
grep -q "resume a.test: deliveries resumed, 2 recipients due now" "$T_DIR/resume.out"
ok $? "resume a.test: the two paused recipients are due now"
peer_got sink x@a.test && peer_got sink x2@a.test; ok $? "and both are delivered"
sc resume a.test > /dev/null 2>&1; test $? -eq 67; ok $? "resume of a destination not paused exits 67"

sc pause ALL > /dev/null && QB2=$(inject z@b.test)
queue_shows 10 "$QB2" "reply=4.3.2 paused by admin"; ok $? "pause ALL: mail to b.test waits too"
sc resume ALL > /dev/null && peer_got sink z@b.test; ok $? "resume ALL delivers it"

QL=$(inject w@late.test)
queue_shows 10 "$QL" "deferred  attempts=1 "; ok $? "mail to a next hop that is down is deferred for an hour"
start_peer late sink 127.0.0.1 "$LATE_PORT"
sc flush > "$T_DIR/flush.out"; grep -q "^flush ALL: 1 recipients changed" "$T_DIR/flush.out"
ok $? "flush: the one deferred recipient is due now"
peer_got late w@late.test; ok $? "and delivered at once, not in an hour"
sc flush "$QL" > /dev/null 2>&1; test $? -eq 67; ok $? "flush of a message gone exits 67"
