#!/bin/sh
# gateway-back.sh - when the share comes back, waiting mail flows at once, not at the next open_retry_interval.
. "$(dirname "$0")/lib.sh"

plan 4
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH > /dev/null
write_router_config "" "[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1h"
start_store && start_smtpd && start_router && start_gateway; ok $? "store, smtpd, router and gateway start"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
mv "$T_SHARE" "$T_SHARE.away"
printf 'Subject: waiting for the share\n\nhello\n' > "$T_DIR/msg.txt"
Q=$(send_mail alice@sender.test "jsmith@$T_PO_DOMAIN" < "$T_DIR/msg.txt")
queue_shows 10 "$Q" "deferred.*attempts=1.*No such file"
ok $? "share missing: deferred, next try an hour away"
mv "$T_SHARE.away" "$T_SHARE"
wait_for 10 sh -c "ls '$T_SHARE'/P1/*.P1 2>/dev/null | grep -q ."; ok $? "the share is back: the message is written within seconds"
grep -q "reports the postoffice share back" "$T_ROUTER_LOG"; ok $? "because the gateway told the router"
