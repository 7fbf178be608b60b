#!/bin/sh
# gateway-sftp.sh - the postoffice over SFTP through a real sshd on loopback: both flows, sshd down, a wrong host key.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/integration/sshd_peer.sh"

plan 12
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH --mailbox ADOE > /dev/null
SSH_PORT=$(free_port)
start_sshd "$SSH_PORT"; ok $? "an OpenSSH sshd (internal-sftp, key login) on 127.0.0.1:$SSH_PORT"
start_peer sink sink
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT" "[gateway]
$(sftp_share_config "$T_SHARE")
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 4"
start_store && start_smtpd && start_router; ok $? "store, smtpd and router start"
start_gateway; ok $? "the gateway reads the directory over SFTP"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"

printf 'Subject: over sftp\n\nline one\n.dotted\n' > "$T_DIR/in.txt"
Q=$(send_mail alice@sender.test "jsmith@$T_PO_DOMAIN" < "$T_DIR/in.txt")
wait_for 10 sh -c "ls '$T_SHARE'/P1/*.P1 2>/dev/null | grep -q ."; ok $? "SMTP in: a transfer file written over SFTP into P1/"
$PO_SIM deliver "$T_SHARE" --once > /dev/null
python3 -c "
import sys
want = open('$T_DIR/in.txt', 'rb').read().replace(b'\n', b'\r\n')
sys.exit(0 if open('$T_SHARE/MAI/JSMITH/1.MSG', 'rb').read().endswith(want) else 1)"
ok $? "filed into the mailbox byte-identical"
$PO_SIM send "$T_SHARE" --from ADOE --to SMTP:bob@sender.test --body "out over sftp" --domain "$T_PO_DOMAIN" > /dev/null
wait_for 15 sh -c "cat '$T_DIR'/sink/*.json 2>/dev/null | grep -q bob@sender.test"; ok $? "legacy out: picked up over SFTP and delivered"
test "$(grep -c 'Accepted publickey' "$T_DIR/sshd.log")" -le 3; ok $? "one SFTP session is reused ($(grep -c 'Accepted publickey' "$T_DIR/sshd.log") logins so far)"

# sshd down: counted failures, reason visible, DSN at the limit.
stop_sshd
Q=$(send_mail alice@sender.test "adoe@$T_PO_DOMAIN" < "$T_DIR/in.txt")
queue_shows 10 "$Q" "deferred.*attempts=[1-9].*sftp://.*refused"
ok $? "sshd down: deferred, counted, the share and 'connection refused' in the reason"
wait_for 20 sh -c "$DSN_CHECK '$T_DIR/sink' --sender alice@sender.test --rcpt adoe@$T_PO_DOMAIN --action failed | grep -q '^ok'"
ok $? "at max_open_retries: a DSN to the sender"

# A host key that does not match: alert, nothing sent, then fixed.
$PO_SIM deliver "$T_SHARE" --once > /dev/null
# (the wrong key is in place before sshd is back, so no session can slip in with the right one)
ssh-keygen -q -t ed25519 -N '' -f "$T_DIR/other_key"
cp "$SSH_KNOWN_HOSTS" "$T_DIR/known_hosts.good"
printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$T_DIR/other_key.pub")" > "$SSH_KNOWN_HOSTS"
start_sshd "$SSH_PORT" || true
# (the gateway keeps running: its session died with the old sshd, the next one meets the wrong key)
Q=$(send_mail alice@sender.test "jsmith@$T_PO_DOMAIN" < "$T_DIR/in.txt")
wait_for 10 grep -q "ALERT: the host key of 127.0.0.1:$SSH_PORT does not match" "$T_GATEWAY_LOG"
ok $? "a host key mismatch is an alert in the log"
test "$(ls "$T_SHARE"/P1/*.P1 2>/dev/null | wc -l)" = 0; ok $? "and nothing is written to the share"
cp "$T_DIR/known_hosts.good" "$SSH_KNOWN_HOSTS"
wait_for 15 sh -c "ls '$T_SHARE'/P1/*.P1 2>/dev/null | grep -q ."; ok $? "with the right key back, waiting mail flows"
