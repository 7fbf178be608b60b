#!/bin/sh
# gateway-many-rcpts.sh - a message to 120 postoffice mailboxes: every recipient goes in the first attempt, in as many transfer files as the request's index list needs (the list was cut at 255 characters and the rest deferred "no outcome reported").
. "$(dirname "$0")/lib.sh"

plan 5
N=120
boxes=$(i=1; while [ $i -le $N ]; do printf ' --mailbox M%03d' $i; i=$((i + 1)); done)
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO $boxes > /dev/null
write_router_config "" "[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1h"
start_store && start_router && start_gateway; ok $? "store, router and gateway start"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
rcpts=$(i=1; while [ $i -le $N ]; do printf ' m%03d@%s' $i "$T_PO_DOMAIN"; i=$((i + 1)); done)
Q=$(printf 'Subject: to everyone\n\nhello all\n' | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test $rcpts | awk '{print $NF}')
test -n "$Q"; ok $? "one message to $N postoffice recipients is queued as $Q"
gone() { [ "$("$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | tail -1 | cut -d' ' -f1)" = 0 ]; }
wait_for 20 gone; ok $? "all $N are delivered and the message leaves the store"
test "$(grep -c " $Q: to=<m[0-9]*@$T_PO_DOMAIN>, .*status=sent" "$T_ROUTER_LOG")" = $N &&
    ! grep -q "$Q: to=.*status=deferred" "$T_ROUTER_LOG"
ok $? "each in the first attempt: $N status=sent, none deferred"
files=$(ls "$T_SHARE"/P1/*.P1 | wc -l)
test "$files" -ge 2 && test "$(cat "$T_SHARE"/P1/*.P1 | tr -d '\r' | grep -c '^To: .*M[0-9][0-9][0-9]$')" = $N
ok $? "in $files transfer files, each mailbox named once"
