#!/bin/sh
# stuck-reasons.sh - every recipient that is not moving says why in spoolctl list: deferred by a peer, a next hop down, no postoffice gateway, held by the administrator (and released), an attempt cut off by a killed router.
. "$(dirname "$0")/lib.sh"

plan 14
start_peer temp tempfail
DEAD_PORT=$(free_port)
SILENT_PORT=$(free_port)
# A peer that takes the connection and never greets: the attempt stays under way.
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $SILENT_PORT)); s.listen(8); c = []
while True: c.append(s.accept()[0])
" > /dev/null 2>&1 &
T_BG_PIDS="${T_BG_PIDS:-} $!"
write_router_config "temp.test     smtp:[127.0.0.1]:$temp_PORT
dead.test     smtp:[127.0.0.1]:$DEAD_PORT
silent.test   smtp:[127.0.0.1]:$SILENT_PORT" "retry_first = 1h
retry_max = 1h"
start_mail_path
printf 'Subject: why\n\nbody\n' > "$T_DIR/msg.txt"
list() { "$SPOOLCTL" -s "$T_SOCKET" list; }
line() { list | grep "<$1>"; }

QT=$(send_mail alice@sender.test frank@temp.test < "$T_DIR/msg.txt")
send_mail alice@sender.test erin@dead.test < "$T_DIR/msg.txt" > /dev/null
queue_shows 10 "erin@dead.test" "deferred"
send_mail alice@sender.test ella@dead.test < "$T_DIR/msg.txt" > /dev/null
printf 'Subject: po\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test "bob@$T_PO_DOMAIN" > /dev/null
queue_shows 10 "frank@temp.test" "deferred.*451 4.3.2"; ok $? "deferred by the peer: its 451 reply"
queue_shows 10 "erin@dead.test" "deferred.*refused"; ok $? "connection refused: the refusal"
queue_shows 10 "ella@dead.test" "deferred.*next hop smtp:\[127.0.0.1\]:$DEAD_PORT is down, not tried for [0-9]*s more: .*refused"
ok $? "next hop down: deferred without a try, saying the next hop is down, for how long, and why"
line ella@dead.test | diag
queue_shows 10 "bob@$T_PO_DOMAIN" "deferred.*postoffice gateway unavailable"
ok $? "no gateway: deferred with the reason"

"$SPOOLCTL" -s "$T_SOCKET" hold "$QT" > /dev/null
line frank@temp.test | grep -q "held .*reply=held by the administrator (spoolctl release ends it); before: 451 4.3.2"
ok $? "held by the administrator: says so, and keeps the reply it had"
line frank@temp.test | diag
"$SPOOLCTL" -s "$T_SOCKET" release "$QT" > /dev/null
queue_shows 10 "frank@temp.test" "deferred.*reply=451 4.3.2"; ok $? "released: the hold's words are gone again"
! line frank@temp.test | grep -q "held by"; ok $? "and nothing of the hold is left in the reply"

send_mail alice@sender.test sam@silent.test < "$T_DIR/msg.txt" > /dev/null
queue_shows 10 "sam@silent.test" "active.*reply=attempt under way, or taken up again at [0-9T:Z-]*"
ok $? "an attempt under way says so and until when its claim holds"
kill -9 "$ROUTER_PID"; wait "$ROUTER_PID" 2>/dev/null; ROUTER_PID=
line sam@silent.test | grep -q "active.*reply=attempt under way, or taken up again at"
ok $? "with the router killed, the recipient cut off says when it is taken up again"

# Every recipient that is not final and not just queued names a reason.
list | grep -- '->' | grep -v '  queued  ' > "$T_DIR/rcpts"
test "$(wc -l < "$T_DIR/rcpts")" = 5; ok $? "five recipients wait ($(wc -l < "$T_DIR/rcpts"))"
! grep -q 'reply=-$' "$T_DIR/rcpts"; ok $? "and each of them shows why"
diag < "$T_DIR/rcpts"
