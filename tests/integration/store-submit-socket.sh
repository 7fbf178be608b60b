#!/bin/sh
# store-submit-socket.sh - the store's submission socket: any local user may submit there and do nothing else; the full socket is for root and the daemons (issue 16).
. "$(dirname "$0")/lib.sh"
PROBE="python3 $top_srcdir/tests/integration/ipc_caps_probe.py"
SUB="$T_DIR/run/submit.sock"

plan 18
write_config
start_store; ok $? "spoolgate-store starts"
[ "$(stat -c %a "$SUB")" = 666 ] && [ "$(stat -c %a "$T_SOCKET")" = 660 ]
ok $? "submit.sock is 0666, store.sock 0660"
case "$($PROBE "$SUB" submit)" in HELLO-OK) r=0;; *) r=1;; esac
ok $r "a client asking for submit is served on submit.sock"
for cap in read update list due admin events "submit,admin"; do
    out=$($PROBE "$SUB" "$cap")
    case "$out" in "HELLO-REFUSED 7 "*) r=0;; *) r=1;; esac
    ok $r "asking for '$cap' on submit.sock: refused at the hello ($out)"
done
# One request of every other kind, from a client that got in with submit: each refused.
for row in "20 READ_ENVELOPE" "23 READ_BODY" "30 UPDATE_RCPT" "31 UPDATE_BATCH" "40 LIST" "41 DUE" "43 LIST_FROM" "50 REQUEUE" "51 HOLD" "52 RELEASE" "53 DELETE" "54 STATS" "60 SUBSCRIBE" "62 SUBSCRIBE_MESSAGES"; do
    type=${row%% *} name=${row#* }
    out=$($PROBE "$SUB" submit "$type")
    case "$out" in "REFUSED 7 $name needs capability"*) r=0;; *) r=1;; esac
    [ $r -eq 0 ] || echo "# $name: $out"
    results="${results:-}$r"
done
[ "$results" = 00000000000000 ]; ok $? "every non-submission request on submit.sock is refused as not granted (14 kinds)"
# An origin key de-duplicates store-wide: not taken from just anyone.
out=$(python3 "$top_srcdir/tests/integration/ipc_submit.py" "$SUB" --sender a@b.test --rcpt c@d.test --origin gw:key-1)
[ "$out" = "ERROR 3 an origin key is not taken on the submission socket" ]
ok $? "a submission with an origin key is refused on submit.sock ($out)"
out=$(python3 "$top_srcdir/tests/integration/ipc_submit.py" "$T_SOCKET" --sender a@b.test --rcpt c@d.test --origin gw:key-1)
case "$out" in "SUBMITTED "*) r=0;; *) r=1;; esac
ok $r "and taken on store.sock ($out)"
# Another local user: submits through submit.sock, cannot reach store.sock.
# (the programs are copied where nobody can run them, whatever the build tree's permissions)
chmod 711 "$T_DIR"
mkdir -m 755 "$T_DIR/bin" && cp "$SENDMAIL" "$SPOOLCTL" "$T_DIR/bin/" && chmod 755 "$T_DIR"/bin/*
SENDMAIL="$T_DIR/bin/spoolgate-sendmail" SPOOLCTL_N="$T_DIR/bin/spoolctl"
printf 'Subject: from nobody\n\nhello\n' > "$T_DIR/msg.txt"; chmod 644 "$T_DIR/msg.txt"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$SENDMAIL" -s "$SUB" -f nobody@localhost bob@example.net \
    < "$T_DIR/msg.txt" > "$T_DIR/nobody.out" 2>&1
ok $? "user nobody submits a message through submit.sock ($(cat "$T_DIR/nobody.out"))"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$SPOOLCTL_N" -s "$T_SOCKET" list > "$T_DIR/nobody-list.out" 2>&1
[ $? -ne 0 ] && grep -qi "permission denied" "$T_DIR/nobody-list.out"
ok $? "user nobody cannot connect to store.sock ($(head -c 120 "$T_DIR/nobody-list.out"))"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$SPOOLCTL_N" -s "$SUB" list > "$T_DIR/nobody-list2.out" 2>&1
[ $? -ne 0 ]; ok $? "and spoolctl on submit.sock gets nothing ($(head -c 120 "$T_DIR/nobody-list2.out"))"
"$SPOOLCTL" -s "$T_SOCKET" list | grep -q "nobody@localhost"; ok $? "root sees the submitted message in spoolctl list"
store_alive; ok $? "spoolgate-store is still running"
