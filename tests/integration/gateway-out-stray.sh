#!/bin/sh
# gateway-out-stray.sh - stray names in OUT/ (x.GWK, a .GWK that is no transfer file's, a .P1.GWK) are left alone and stall nothing: the valid file behind them goes out, the share stays reachable (issue 19 audit).
. "$(dirname "$0")/lib.sh"

plan 6
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH --mailbox ADOE > /dev/null
for stray in x.GWK ZZZZZZZZ.GWK 0000000A.P1.GWK 0000000B.GWKX; do echo stray > "$T_SHARE/OUT/$stray"; done
$PO_SIM send "$T_SHARE" --from ADOE --to SMTP:after@sender.test --name 0000000C --body "behind strays" \
    --domain "$T_PO_DOMAIN" > /dev/null
start_peer sink sink
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT" "[gateway]
share = $T_SHARE
poll_interval = 1s"
start_store && start_smtpd && start_router && start_gateway; ok $? "store, smtpd, router and gateway start"
wait_for 15 sh -c "cat '$T_DIR'/sink/*.json 2>/dev/null | grep -q after@sender.test"
ok $? "the valid OUT/0000000C.P1 behind four stray names is delivered"
sleep 2
! grep -q "unreachable\|\.GWK\.GWK" "$T_GATEWAY_LOG"; ok $? "no poll failed: the share was never taken as unreachable"
for stray in x.GWK ZZZZZZZZ.GWK 0000000A.P1.GWK 0000000B.GWKX; do
    [ "$(cat "$T_SHARE/OUT/$stray")" = stray ] || break
done
ok $? "every stray name is left as it was, not ours to touch"
test ! -e "$T_SHARE/OUT/0000000C.P1" && test ! -e "$T_SHARE/OUT/0000000C.GWK"; ok $? "the delivered file is gone from OUT/"
test -z "$(ls "$T_SHARE/OUT/BAD" 2>/dev/null)"; ok $? "nothing was set aside in OUT/BAD/"
