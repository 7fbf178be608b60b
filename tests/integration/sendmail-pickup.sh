#!/bin/sh
# sendmail-pickup.sh - spoolgate-sendmail with the store down keeps the message in the pickup directory and exits 0; spoolgate-smtpd submits it once the store is back (once), moves a malformed file aside; the null sender is delivered as <> (issue 18).
. "$(dirname "$0")/lib.sh"

plan 17
start_peer sink sink || bail "no sink"
write_router_config "x.test smtp:[127.0.0.1]:$sink_PORT"
printf 'Subject: kept\n\nkept while the store was down\n' |
    "$SENDMAIL" -c "$T_CONFIG" -f '<>' bob@x.test > "$T_DIR/o1" 2> "$T_DIR/e1"
[ $? -eq 0 ] && grep -q "kept in the pickup directory" "$T_DIR/e1"
ok $? "store down: spoolgate-sendmail exits 0 and says the message is kept"
[ "$(ls "$T_DIR/pickup" | wc -l)" = 1 ] && [ "$(stat -c %a "$T_DIR/pickup")" = 1733 ]
ok $? "one file in the pickup directory (mode 1733)"
# Another local user's message, kept the same way (the directory is 1733).
chmod 711 "$T_DIR"; chmod 644 "$T_CONFIG"
mkdir -m 755 "$T_DIR/bin" && cp "$SENDMAIL" "$T_DIR/bin/" && chmod 755 "$T_DIR/bin/spoolgate-sendmail"
printf 'Subject: from nobody\n\nhi\n' | setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$T_DIR/bin/spoolgate-sendmail" -c "$T_CONFIG" dave@x.test > "$T_DIR/o3" 2> "$T_DIR/e3"
[ $? -eq 0 ] && grep -q "kept in the pickup directory" "$T_DIR/e3"
ok $? "user nobody: kept in the pickup directory too, exit 0 ($(cat "$T_DIR/e3"))"
printf 'garbage\n' > "$T_DIR/pickup/junk.1"
printf 'SPOOLGATE-PICKUP 1\nsender a@x.test\nrcpt 0 bad\r\naddr@x.test\ndata\nx\r\n' > "$T_DIR/pickup/junk.2"

start_mail_path
peer_got sink bob@x.test; ok $? "the kept message is delivered once the store and smtpd are up"
peer_got sink dave@x.test && grep -l dave@x.test "$T_DIR"/sink/*.json | sed 's/json$/eml/' |
    xargs grep -q "from userid $(id -u nobody))"
ok $? "and nobody's, its Received line naming nobody's uid (the file's owner)"
wait_for 10 sh -c "[ -z \"\$(ls '$T_DIR/pickup' | grep -v '^bad\$')\" ]"
ok $? "the pickup directory is empty afterwards"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); sys.exit(0 if m["mail_from"] in ("", "<>") else 1)' "$(grep -l bob@x.test "$T_DIR"/sink/*.json)"
ok $? "the null sender is delivered as <> ($(grep -h mail_from "$(grep -l bob@x.test "$T_DIR"/sink/*.json)"))"
BOB_EML=$(grep -l bob@x.test "$T_DIR"/sink/*.json | sed 's/json$/eml/')
grep -q "(spoolgate pickup, from userid 0)" "$BOB_EML"
ok $? "the Received line names the file owner's uid"
[ -f "$T_DIR/pickup/bad/junk.1" ] && [ -f "$T_DIR/pickup/bad/junk.2" ]; ok $? "both malformed files are moved to pickup/bad"
grep -q "pickup file junk.1 malformed (line 1: not a pickup file)" "$T_SMTPD_LOG" &&
    grep -q "pickup file junk.2 malformed" "$T_SMTPD_LOG"
ok $? "each with a log line saying why"
# A second message while everything runs: straight into the store, not the pickup directory.
echo x | "$SENDMAIL" -c "$T_CONFIG" -f a@x.test carol@x.test > "$T_DIR/o2" 2>&1
grep -q "^queued as " "$T_DIR/o2"; ok $? "with the store up, the message goes to the store directly"
peer_got sink carol@x.test; ok $? "and is delivered"
[ "$(ls "$T_DIR"/sink/*.json | wc -l)" = 3 ] && [ "$(grep -l bob@x.test "$T_DIR"/sink/*.json | wc -l)" = 1 ]
ok $? "the kept message was delivered exactly once"
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd is still running"
