#!/bin/sh
# gateway-hostile.sh - a share hostile users write to: OUT/ links, FIFOs, directories and hard links refused and set aside, a P1/ link defers deliveries (each refusal logged once); locally and over SFTP.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/integration/sshd_peer.sh"

plan 28
TOKEN="secret-token-$$-$(date +%s)"
OUTSIDE="$T_DIR/outside"
mkdir -p "$OUTSIDE/p1"
make_share() { # make_share DIR: a postoffice tree
    $PO_SIM create "$1" --network CORPNET --postoffice HQPO --mailbox JSMITH --mailbox ADOE > /dev/null
}
# outside_p1 NAME: a valid transfer file with the token, outside every share
outside_p1() {
    make_share "$T_DIR/scratch"
    $PO_SIM send "$T_DIR/scratch" --from JSMITH --to SMTP:leak@sender.test --name 0000000F \
        --body "$TOKEN" --domain "$T_PO_DOMAIN" > /dev/null
    mv "$T_DIR/scratch/OUT/0000000F.P1" "$OUTSIDE/$1"
    rm -rf "$T_DIR/scratch"
}
# hostile_out SHARE: the four OUT/ entries, the good one last
hostile_out() {
    outside_p1 "secret-$(basename "$1").P1"
    ln -s "$OUTSIDE/secret-$(basename "$1").P1" "$1/OUT/00000001.P1"
    mkfifo "$1/OUT/00000002.P1"
    mkdir "$1/OUT/00000003.P1"
    $PO_SIM send "$1" --from ADOE --to SMTP:good@sender.test --name 00000004 --body "behind them" \
        --domain "$T_PO_DOMAIN" > /dev/null
}
# hardlink_out SHARE: a hard link to a root-only file outside the share, a good file behind it
hardlink_out() {
    outside_p1 "hardlink-secret.P1"
    chmod 600 "$OUTSIDE/hardlink-secret.P1"
    ln "$OUTSIDE/hardlink-secret.P1" "$1/OUT/00000006.P1"
    $PO_SIM send "$1" --from ADOE --to SMTP:after-link@sender.test --name 00000007 \
        --body "behind the hard link" --domain "$T_PO_DOMAIN" > /dev/null
}
sink_has() { cat "$T_DIR"/sink/*.json 2>/dev/null | grep -q "$1"; }
why_is() { [ "$(tr -d '\r' < "$2" 2>/dev/null)" = "refused: $1" ]; } # why_is REASON FILE.WHY
# no file of the share holds the token but a hostile hard link itself (a second name of the
# outside file, more than one link)
no_token_in() { ! find "$1" -type f -links 1 -exec grep -q "$TOKEN" {} \; -print | grep -q .; }

make_share "$T_SHARE"
hostile_out "$T_SHARE"
start_peer sink sink
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT" "[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 100"
start_store && start_smtpd && start_router && start_gateway; ok $? "store, smtpd, router and gateway start"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"

# (d) first, with a deadline: a FIFO that blocked the open would stall everything behind it
wait_for 15 sink_has good@sender.test; ok $? "the good OUT/00000004.P1 behind the hostile entries is delivered"
grep -q "OUT/00000001.P1: refused: symbolic link" "$T_GATEWAY_LOG"; ok $? "(a) the OUT/ symlink is refused and logged"
sleep 2
! sink_has "$TOKEN" && ! sink_has leak@sender.test; ok $? "(a) the file it points to is not delivered: the sink never sees the token"
no_token_in "$T_SHARE"; ok $? "(a) no file on the share holds the token"
test -L "$T_SHARE/OUT/BAD/00000001.P1" && why_is "symbolic link" "$T_SHARE/OUT/BAD/00000001.WHY"
ok $? "(a) the link itself moved to OUT/BAD/, its .WHY holds only our reason"
grep -q "OUT/00000002.P1: refused: not a regular file (FIFO)" "$T_GATEWAY_LOG" && test -p "$T_SHARE/OUT/BAD/00000002.P1"
ok $? "(b) the FIFO is refused at once and set aside"
grep -q "OUT/00000003.P1: refused: not a regular file (directory)" "$T_GATEWAY_LOG" && test -d "$T_SHARE/OUT/BAD/00000003.P1"
ok $? "(c) the directory is refused and set aside"
test -z "$(ls "$T_SHARE"/OUT/ | grep -E 'P1$|GWK$')"; ok $? "nothing stays claimed in OUT/"

# (f) a hard link to a root-only file outside the share (root may link any file; a user may where
# fs.protected_hardlinks=0, or to a file it owns)
hardlink_out "$T_SHARE"
wait_for 15 sink_has after-link@sender.test; ok $? "(f) the good OUT/00000007.P1 behind a hard link is delivered"
grep -q "OUT/00000006.P1: refused: hard link (2 names for one file); moved to OUT/BAD/" "$T_GATEWAY_LOG"
ok $? "(f) the hard link is refused and logged"
sleep 2
! sink_has "$TOKEN" && ! sink_has leak@sender.test && no_token_in "$T_SHARE" &&
    test "$T_SHARE/OUT/BAD/00000006.P1" -ef "$OUTSIDE/hardlink-secret.P1" &&
    why_is "hard link (2 names for one file)" "$T_SHARE/OUT/BAD/00000006.WHY"
ok $? "(f) the token reaches neither the sink nor the share; the link itself moved to OUT/BAD/, its .WHY holds only our reason"

# (e) P1/ replaced by a link to a directory outside the share
mv "$T_SHARE/P1" "$T_SHARE/P1.real"
ln -s "$OUTSIDE/p1" "$T_SHARE/P1"
printf 'Subject: into the postoffice\n\nhello\n' > "$T_DIR/msg.txt"
Q=$(send_mail alice@sender.test "jsmith@$T_PO_DOMAIN" < "$T_DIR/msg.txt")
queue_shows 10 "$Q" "deferred.*P1/ is a symbolic link"; ok $? "(e) P1/ a symbolic link: the message is deferred, the reason names P1/"
Q2=$(send_mail alice@sender.test "adoe@$T_PO_DOMAIN" < "$T_DIR/msg.txt")
Q3=$(send_mail alice@sender.test "jsmith@$T_PO_DOMAIN" < "$T_DIR/msg.txt")
queue_shows 10 "$Q2" "deferred.*P1/ is a symbolic link" && queue_shows 10 "$Q3" "deferred.*P1/ is a symbolic link"
sleep 3 # retries every second (open_retry_interval)
test -z "$(ls -A "$OUTSIDE/p1")"; ok $? "(e) nothing is written through it"
n=$(grep -c "P1/ is a symbolic link" "$T_GATEWAY_LOG")
[ "$n" = 1 ] && grep -q "P1/ refused: .*P1/ is a symbolic link; deliveries into the postoffice are deferred" "$T_GATEWAY_LOG"
ok $? "(e) the gateway logs why, once for three deferred messages and their retries ($n lines)"
rm "$T_SHARE/P1" && mv "$T_SHARE/P1.real" "$T_SHARE/P1"
wait_for 15 sh -c "[ \$(ls '$T_SHARE'/P1/*.P1 2>/dev/null | wc -l) = 3 ]"; ok $? "(e) P1/ a real directory again: the messages are written"
for q in "$Q" "$Q2" "$Q3"; do
    wait_for 10 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list --match $q | tail -1 | cut -d' ' -f1) = 0 ]" || break
done
ok $? "(e) and recorded delivered"
[ "$(grep -c "P1/ is a real directory again" "$T_GATEWAY_LOG")" = 1 ]; ok $? "(e) the end of the refusal is logged once"
test -z "$(ls -A "$OUTSIDE/p1")"; ok $? "(e) the outside directory stays empty"

# OUT/BAD/ a link: a refused file is not moved through it, and stays claimed
stop_gateway
rm -rf "$T_SHARE/OUT/BAD"; ln -s "$OUTSIDE/p1" "$T_SHARE/OUT/BAD"
$PO_SIM bad "$T_SHARE" truncated --name 00000005 > /dev/null
start_gateway
wait_for 10 grep -q "OUT/00000005.P1: .*left as .GWK: .*OUT/BAD: refused: a symbolic link" "$T_GATEWAY_LOG"
ok $? "OUT/BAD/ a symbolic link: the bad file is not moved through it"
sleep 3 # three more polls
$PO_SIM bad "$T_SHARE" truncated --name 00000008 > /dev/null
wait_for 10 grep -q "OUT/00000008.P1: .*left as .GWK" "$T_GATEWAY_LOG"
sleep 2
test -z "$(ls -A "$OUTSIDE/p1")"; ok $? "and nothing lands outside"
[ "$(grep -c "OUT/BAD/ refused: .*a symbolic link is there; files set aside stay claimed" "$T_GATEWAY_LOG")" = 1 ] &&
    [ "$(grep -c "OUT/00000005.P1: .*left as .GWK" "$T_GATEWAY_LOG")" = 1 ] &&
    [ "$(grep -c "OUT/00000008.P1: .*left as .GWK" "$T_GATEWAY_LOG")" = 1 ]
ok $? "over several polls OUT/BAD/ and each file left claimed are logged once ($(grep -c "left as .GWK" "$T_GATEWAY_LOG") lines)"
rm "$T_SHARE/OUT/BAD" && mkdir "$T_SHARE/OUT/BAD"
wait_for 10 test -f "$T_SHARE/OUT/BAD/00000005.WHY" -a -f "$T_SHARE/OUT/BAD/00000008.WHY"
ok $? "OUT/BAD/ a real directory again: the files left claimed are set aside"
sleep 2
[ "$(grep -c "OUT/BAD/ is a real directory again" "$T_GATEWAY_LOG")" = 1 ] &&
    grep -q "OUT/00000005.P1: .*moved to OUT/BAD/" "$T_GATEWAY_LOG"
ok $? "and that is logged once, each file with where it went"
stop_gateway

# The refusal is told by its code, not by words: a share whose root is named "...: refused: ..."
# and has no P1/ is failing (unreachable), not refusing a link.
SHARE3="$T_DIR/po: refused: here"
make_share "$SHARE3"
rmdir "$SHARE3/P1"
port=$SMTP_PORT # the running smtpd's; a new config picks new ports
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT" "[gateway]
share = $SHARE3
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 100"
T_GATEWAY_LOG="$T_DIR/gateway-odd.log"
SMTP_PORT=$port
start_gateway
for _ in $(seq 50); do # until smtpd has the new gateway's directory
    Q4=$(send_mail alice@sender.test "jsmith@$T_PO_DOMAIN" < "$T_DIR/msg.txt" 2> /dev/null) && break
    sleep 0.2
done
queue_shows 10 "$Q4" "deferred.*No such file or directory"
grep -q "postoffice share unreachable: .*P1: No such file or directory" "$T_GATEWAY_LOG" &&
    ! grep -q "P1/ refused" "$T_GATEWAY_LOG"
ok $? "a failure whose text holds \": refused: \" (the root's name) is the share failing, not a refusal"
stop_gateway

# The same over SFTP (a real sshd; the server follows links, so the gateway must LSTAT first).
SHARE2="$T_DIR/share2"
make_share "$SHARE2"
hostile_out "$SHARE2"
SSH_PORT=$(free_port)
start_sshd "$SSH_PORT"; ok $? "an OpenSSH sshd on 127.0.0.1:$SSH_PORT"
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT" "[gateway]
$(sftp_share_config "$SHARE2")
poll_interval = 1s"
rm -f "$T_DIR"/sink/*.json
T_GATEWAY_LOG="$T_DIR/gateway-sftp.log"
start_gateway
wait_for 20 sink_has good@sender.test && grep -q "OUT/00000001.P1: refused: symbolic link" "$T_GATEWAY_LOG"
ok $? "SFTP: the OUT/ symlink is refused, the good file behind it delivered"
sleep 2
! sink_has "$TOKEN" && no_token_in "$SHARE2" && why_is "symbolic link" "$SHARE2/OUT/BAD/00000001.WHY"
ok $? "SFTP: the token reaches neither the sink nor the share; the .WHY holds our reason"
