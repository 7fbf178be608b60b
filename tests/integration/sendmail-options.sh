#!/bin/sh
# sendmail-options.sh - spoolgate-sendmail as a sendmail(1) drop-in: options cron, PHP mail(), mailx and git send-email use, -t, qualification, added headers, -bs, mailq, -q, a non-root user, the pickup directory while the store is down (issue 18).
. "$(dirname "$0")/lib.sh"
SM() { "$SENDMAIL" -c "$T_CONFIG" "$@"; }
show() { "$SPOOLCTL" -s "$T_SOCKET" show "$1"; }
body() { "$SPOOLCTL" -s "$T_SOCKET" cat "$1"; }
qid_of() { sed -n 's/^queued as //p' "$1"; }

plan 28
write_config "[global]
hostname = host.test.invalid
myorigin = origin.test
"
start_store; ok $? "spoolgate-store starts"

printf 'Subject: cron\n\nhello\n.\nafter\n' | SM -FCronDaemon -i -B8BITMIME -oem -oi root > "$T_DIR/o1" 2>&1
ok $? "cron's options (-FCronDaemon -i -B8BITMIME -oem) are accepted ($(cat "$T_DIR/o1"))"
Q=$(qid_of "$T_DIR/o1")
show "$Q" | grep -q -- "-> <root@origin.test>"; ok $? "a bare name is qualified with myorigin"
show "$Q" | grep -q "from=<root@origin.test>"; ok $? "the sender is the invoking user, qualified"
body "$Q" > "$T_DIR/b1"
grep -q '^From: "CronDaemon" <root@origin.test>' "$T_DIR/b1"; ok $? "From added with the -F name"
grep -q '^Date: ' "$T_DIR/b1" && grep -q '^Message-ID: <.*@host.test.invalid>' "$T_DIR/b1"
ok $? "Date and Message-ID added"
head -2 "$T_DIR/b1" | tr -d '\r' | grep -q "^	id $Q; " && head -1 "$T_DIR/b1" | grep -q "^Received: by host.test.invalid (spoolgate, from userid 0)"
ok $? "a Received line for the local submission names the uid and the queue id"
grep -q '^after' "$T_DIR/b1"; ok $? "-i: a lone dot does not end the message"

printf 'From: me@x.test\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <keep@x.test>\nTo: a@x.test,\n  "B, Bee" <b@x.test>\nCc: team: c@x.test;\nBcc: hidden@x.test\nSubject: t\n\nbody\n' |
    SM -t -f sender@x.test > "$T_DIR/o2" 2>&1
ok $? "-t submits ($(cat "$T_DIR/o2"))"
Q=$(qid_of "$T_DIR/o2")
[ "$(show "$Q" | grep -c -- '->')" = 4 ] && for a in a b c hidden; do show "$Q" | grep -q -- "-> <$a@x.test>" || exit 1; done
ok $? "-t: To (continued), Cc (a group) and Bcc recipients"
body "$Q" > "$T_DIR/b2"
! grep -qi '^bcc' "$T_DIR/b2" && ! grep -q hidden "$T_DIR/b2"; ok $? "-t: the Bcc field is removed"
[ "$(grep -c '^Date: ' "$T_DIR/b2")" = 1 ] && [ "$(grep -c '^Message-ID: ' "$T_DIR/b2")" = 1 ] &&
    [ "$(grep -c '^From: ' "$T_DIR/b2")" = 1 ] && grep -q '^Message-ID: <keep@x.test>' "$T_DIR/b2"
ok $? "Date, Message-ID and From are not added when present"

echo x | SM -f '<>' 'a@x.test, b@x.test,c@x.test' > "$T_DIR/o3" 2>&1; ok $? "-f '<>' and a comma list"
Q=$(qid_of "$T_DIR/o3")
show "$Q" | grep -q "from=<>  *$\|from=<>$" ; ok $? "-f '<>' is the null sender (not <<>>)"
[ "$(show "$Q" | grep -c -- '->')" = 3 ]; ok $? "the comma list is three recipients"
echo x | SM -r '' -N success,failure -R hdrs -V 'env id' a@x.test > "$T_DIR/o4" 2>&1
ok $? "-r '', -N, -R, -V accepted"
Q=$(qid_of "$T_DIR/o4"); show "$Q" | grep -q "from=<>"; ok $? "-r '' is the null sender too"

echo x | SM -Z a@x.test > "$T_DIR/o5" 2>&1; [ $? -eq 64 ] && grep -q -- "-Z: unknown option" "$T_DIR/o5"
ok $? "an unknown option: a clear error, exit 64"
echo x | SM -bz a@x.test > /dev/null 2>&1; [ $? -eq 64 ]; ok $? "an unsupported -b mode: exit 64"

printf 'EHLO me\r\nMAIL FROM:<bs@x.test>\r\nRCPT TO:<root>\r\nDATA\r\nSubject: bs\r\n\r\n..dot\r\n.\r\nQUIT\r\n' |
    SM -bs > "$T_DIR/o6" 2>&1
grep -q "^220 " "$T_DIR/o6" && grep -q "^250 2.0.0 Ok: queued as" "$T_DIR/o6" && grep -q "^221 " "$T_DIR/o6"
ok $? "-bs: an SMTP dialogue on stdin/stdout queues the message"
Q=$(sed -n 's/^250 2.0.0 Ok: queued as \([^ \r]*\).*/\1/p' "$T_DIR/o6" | tr -d '\r')
show "$Q" | grep -q -- "-> <root@origin.test>" && body "$Q" | grep -q '^\.dot'
ok $? "-bs: recipient qualified, dots unstuffed"

ln -s "$SENDMAIL" "$T_DIR/mailq"
"$T_DIR/mailq" -c "$T_CONFIG" > "$T_DIR/mq" 2>&1 && grep -q "^$Q .*bs@x.test" "$T_DIR/mq" && grep -q "Requests\.$" "$T_DIR/mq"
ok $? "invoked as mailq it lists the queue ($(tail -1 "$T_DIR/mq"))"
SM -bp > "$T_DIR/bp" 2>&1 && cmp -s "$T_DIR/mq" "$T_DIR/bp"; ok $? "-bp lists the same"
SM -q > "$T_DIR/q" 2>&1 && grep -q "recipients to be tried now" "$T_DIR/q"; ok $? "-q asks for a flush ($(cat "$T_DIR/q"))"

# Another local user submits through submit.sock by default.
chmod 711 "$T_DIR"; chmod 644 "$T_CONFIG"
mkdir -m 755 "$T_DIR/bin" && cp "$SENDMAIL" "$T_DIR/bin/" && chmod 755 "$T_DIR/bin/spoolgate-sendmail"
printf 'Subject: nobody\n\nhi\n' | setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$T_DIR/bin/spoolgate-sendmail" -c "$T_CONFIG" root > "$T_DIR/o7" 2>&1
ok $? "user nobody submits without -s ($(cat "$T_DIR/o7"))"
Q=$(qid_of "$T_DIR/o7"); show "$Q" | grep -q "from=<nobody@origin.test>"
ok $? "as nobody@origin.test"

# Store down: kept in the pickup directory, exit 0.
stop_store
printf 'Subject: kept\n\nkept\n' | SM keep@x.test > "$T_DIR/o8" 2> "$T_DIR/e8"
[ $? -eq 0 ] && grep -q "kept in the pickup directory" "$T_DIR/e8"
ok $? "store down: exit 0, the message kept, said on stderr ($(cat "$T_DIR/e8"))"
f=$(ls "$T_DIR/pickup" | grep -v '^t\.' | head -1)
[ "$(stat -c %a "$T_DIR/pickup")" = 1733 ] && head -1 "$T_DIR/pickup/$f" | grep -qx "SPOOLGATE-PICKUP 1" &&
    grep -q "^rcpt 0 keep@x.test$" "$T_DIR/pickup/$f"
ok $? "the pickup file holds the envelope, in a 1733 directory"
