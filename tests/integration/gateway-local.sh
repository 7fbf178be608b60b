#!/bin/sh
# gateway-local.sh - the postoffice on a local share: SMTP in -> mailboxes byte-identical, legacy out -> SMTP, bad files aside, directory at RCPT.
. "$(dirname "$0")/lib.sh"
SAY="python3 $top_srcdir/tests/integration/smtp_say.py"

plan 18
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH:"John Smith" \
    --mailbox ADOE:"Ann Doe" --mailbox BOSS > /dev/null; ok $? "a postoffice tree from the simulator"
start_peer sink sink
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT" "[store]
max_message_size = 64k
[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 5"
start_store && start_smtpd && start_router; ok $? "store, smtpd and router start"
start_gateway; ok $? "spoolgate-gateway starts and loads the directory"
wait_for 10 grep -q "postoffice directory ready" "$T_SMTPD_LOG" && wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
ok $? "smtpd and the router reach the gateway"

out=$($SAY "$SMTP_PORT" "EHLO t" "MAIL FROM:<a@sender.test>" "RCPT TO:<nobody@$T_PO_DOMAIN>" QUIT | sed -n 4p)
case "$out" in "550 5.1.1 "*) ok 0 "a mailbox not in ADDRESS.GLB: 550 5.1.1 at RCPT";;
    *) ok 1 "a mailbox not in ADDRESS.GLB: 550 5.1.1 (got: $out)";; esac

printf 'Subject: to the postoffice\nMessage-ID: <m1@sender.test>\n\nline one\n.dotted\nlast\n' > "$T_DIR/in.txt"
Q=$(send_mail alice@sender.test "jsmith@$T_PO_DOMAIN" "adoe@$T_PO_DOMAIN" < "$T_DIR/in.txt")
wait_for 10 sh -c "ls '$T_SHARE'/P1/*.P1 2>/dev/null | grep -q ."; ok $? "one transfer file appears in P1/"
test "$(ls "$T_SHARE"/P1/*.P1 | wc -l)" = 1; ok $? "exactly one file for both recipients"
wait_for 10 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list --match $Q | tail -1 | cut -d' ' -f1) = 0 ]"
ok $? "both recipients recorded delivered after the rename; the message leaves the store"
$PO_SIM deliver "$T_SHARE" --once > "$T_DIR/deliver.out"
python3 - "$T_SHARE/MAI/JSMITH/1.MSG" "$T_SHARE/MAI/ADOE/1.MSG" "$T_DIR/in.txt" <<'PY'
import sys
want = open(sys.argv[3], "rb").read().replace(b"\n", b"\r\n")
for f in sys.argv[1:3]:
    got = open(f, "rb").read()
    # our Received header comes first; the client's message follows unchanged
    if not got.endswith(want) or not got.startswith(b"Received: "):
        sys.exit(1)
PY
ok $? "the postoffice files it into both mailboxes, byte-identical below our Received header"

# Legacy out: from a mailbox to an SMTP address.
$PO_SIM send "$T_SHARE" --from JSMITH --to SMTP:bob@sender.test --subject "from the legacy side" \
    --body "hello from the postoffice" --domain "$T_PO_DOMAIN" > /dev/null
wait_for 15 sh -c "cat '$T_DIR'/sink/*.json 2>/dev/null | grep -q bob@sender.test"
ok $? "a transfer file in OUT/ is delivered to the SMTP peer"
grep -l bob@sender.test "$T_DIR"/sink/*.json | head -1 | xargs grep -q "\"mail_from\": \"jsmith@$T_PO_DOMAIN\""
ok $? "with the legacy sender mapped to jsmith@$T_PO_DOMAIN"
test -z "$(ls "$T_SHARE"/OUT/ | grep -E 'P1|GWK')"; ok $? "and the claimed file is gone from OUT/"

for kind in missing-headers bad-address truncated binary lf-only no-to; do $PO_SIM bad "$T_SHARE" $kind > /dev/null; done
$PO_SIM send "$T_SHARE" --from ADOE --to SMTP:carol@sender.test --body "after the bad ones" --domain "$T_PO_DOMAIN" > /dev/null
wait_for 15 sh -c "[ \$(ls '$T_SHARE'/OUT/BAD/*.P1 2>/dev/null | wc -l) = 6 ]"
ok $? "six bad transfer files land in OUT/BAD/ with a reason each ($(ls "$T_SHARE"/OUT/BAD/*.WHY 2>/dev/null | wc -l) .WHY files)"
wait_for 15 sh -c "cat '$T_DIR'/sink/*.json 2>/dev/null | grep -q carol@sender.test"
ok $? "and they block nothing: the good file behind them is delivered"

# The directory is reloaded when ADDRESS.GLB changes.
printf 'NEWBOX\tNew Box\r\n' >> "$T_SHARE/GLB/ADDRESS.GLB"
wait_for 10 grep -q "postoffice directory reloaded: 4 mailboxes" "$T_GATEWAY_LOG"; ok $? "a changed ADDRESS.GLB is reloaded"
out=$($SAY "$SMTP_PORT" "EHLO t" "MAIL FROM:<a@sender.test>" "RCPT TO:<newbox@$T_PO_DOMAIN>" QUIT | sed -n 4p)
test "${out%% *}" = 250; ok $? "and its new mailbox is accepted at RCPT ($out)"

# A file the store refuses for good (too big for it) is set aside, not retried forever.
head -c 100000 /dev/zero | tr '\0' 'x' | fold -w 76 > "$T_DIR/big.txt"
$PO_SIM send "$T_SHARE" --from JSMITH --to SMTP:big@sender.test --body-file "$T_DIR/big.txt" --domain "$T_PO_DOMAIN" > /dev/null
wait_for 15 sh -c "ls '$T_SHARE'/OUT/BAD/ | grep -q '.WHY' && grep -l 'max_message_size' '$T_SHARE'/OUT/BAD/*.WHY"
ok $? "a transfer file the store refuses goes to OUT/BAD/ with the store's reason"
test -z "$(ls "$T_SHARE"/OUT/ | grep -E 'P1$|GWK$')"; ok $? "and nothing stays claimed in OUT/"
