#!/bin/sh
# smtpd-directory.sh - RCPT in the postoffice domain is checked against the gateway's directory; no gateway, no guess.
. "$(dirname "$0")/lib.sh"
SAY="python3 $top_srcdir/tests/integration/smtp_say.py"
FAKE_GW="$top_srcdir/tests/integration/fake_gateway.py"
GW_SOCKET="$T_DIR/run/gateway.sock"

plan 11
write_smtpd_config
start_store; ok $? "spoolgate-store starts"
start_smtpd; ok $? "spoolgate-smtpd starts and greets"

rcpt() { $SAY "$SMTP_PORT" "EHLO t" "MAIL FROM:<a@b.example>" "RCPT TO:<$1@$T_PO_DOMAIN>" QUIT | sed -n 4p; }
wait_smtpd_log() {
    for _ in $(seq 1 100); do grep -qE "$1" "$T_SMTPD_LOG" && return 0; sleep 0.1; done
    return 1
}

out=$(rcpt alice)
case "$out" in "450 4.2.0 "*) ok 0 "no gateway: postoffice recipient gets 450 4.2.0";;
    *) ok 1 "no gateway: postoffice recipient gets 450 4.2.0 (got: $out)";; esac

python3 "$FAKE_GW" "$GW_SOCKET" alice,bob > "$T_DIR/gw.out" 2>&1 &
GW=$!
wait_smtpd_log "postoffice directory ready"; ok $? "smtpd connects to the gateway's directory"
out=$(rcpt alice); test "${out%% *}" = 250; ok $? "a mailbox in the directory is accepted ($out)"
out=$(rcpt nobody)
case "$out" in "550 5.1.1 "*) ok 0 "an unknown mailbox gets 550 5.1.1";;
    *) ok 1 "an unknown mailbox gets 550 5.1.1 (got: $out)";; esac
out=$($SAY "$SMTP_PORT" "EHLO t" "MAIL FROM:<a@b.example>" "RCPT TO:<bob@$T_PO_DOMAIN>" \
    "DATA:Subject: to the postoffice\n\nhello" QUIT | sed -n 6p)
case "$out" in "250 2.0.0 Ok: queued as "*) ok 0 "a message to a postoffice mailbox is stored";;
    *) ok 1 "a message to a postoffice mailbox is stored (got: $out)";; esac

kill "$GW"; wait "$GW" 2>/dev/null
wait_smtpd_log "postoffice directory unavailable .*connection closed"; ok $? "the gateway going away is logged"
out=$(rcpt alice)
case "$out" in "450 4.2.0 "*) ok 0 "gateway gone: 450 again, never a guess";;
    *) ok 1 "gateway gone: 450 again (got: $out)";; esac

python3 "$FAKE_GW" "$GW_SOCKET" alice --major 2 > "$T_DIR/gw.out" 2>&1 &
GW=$!
wait_smtpd_log "speaks protocol 2\.1, we speak 1\."; ok $? "a gateway of another protocol version is refused loudly"
out=$(rcpt alice)
case "$out" in "450 4.2.0 "*) ok 0 "wrong-version gateway: 450";;
    *) ok 1 "wrong-version gateway: 450 (got: $out)";; esac
kill "$GW"
