#!/bin/sh
# store-ops.sh - config refusal and SIGHUP reload, the due index, abandoned submissions leave nothing.
. "$(dirname "$0")/lib.sh"

plan 18
printf '[global]\nstate_dir = %s\nbogus = 1\n[store]\nchunk_size = 1\n' "$T_DIR" > "$T_CONFIG"
"$STORE_BIN" -c "$T_CONFIG" --foreground > "$T_DIR/refused.out" 2>&1
test $? -ne 0; ok $? "a bad config stops the store from starting"
grep -q "spoolgate.ini:3: global.bogus: unknown key" "$T_DIR/refused.out"; ok $? "unknown key reported as file:line: key: reason"
grep -q "spoolgate.ini:5: store.chunk_size: must be between 4096 and 262144" "$T_DIR/refused.out"
ok $? "bad value reported as file:line: key: reason"

write_config
"$STORE_BIN" -c "$T_CONFIG" --dump-config > "$T_DIR/dump.ini" && "$STORE_BIN" -c "$T_DIR/dump.ini" --check-config > /dev/null
ok $? "--dump-config prints every key in a form --check-config accepts"

start_store; ok $? "spoolgate-store starts"
"$STORE_LOAD" submit -s "$T_SOCKET" -c 2 -n 10 --max 65536 --ack "$T_DIR/acks" > /dev/null 2>&1
"$SPOOLCTL" -s "$T_SOCKET" due > "$T_DIR/due.out"
rcpts=$(grep -c ' rcpt ' "$T_DIR/due.out")
test "$(tail -1 "$T_DIR/due.out")" = "$rcpts recipients due" && test "$rcpts" -ge 10
ok $? "every new recipient is in the due index ($rcpts)"
Q=$(head -1 "$T_DIR/acks" | cut -d' ' -f1)
"$SPOOLCTL" -s "$T_SOCKET" hold "$Q" > /dev/null
"$SPOOLCTL" -s "$T_SOCKET" due | grep -q "^$Q "; test $? -ne 0; ok $? "a held message leaves the due index"
"$SPOOLCTL" -s "$T_SOCKET" release "$Q" > /dev/null
"$SPOOLCTL" -s "$T_SOCKET" due | grep -q "^$Q "; ok $? "a released message is due again"

"$STORE_LOAD" abandon -s "$T_SOCKET" > /dev/null 2>&1; ok $? "a client abandons a 2 MiB submission halfway"
wait_for_log "disconnected during a submission"
"$SPOOLCTL" -s "$T_SOCKET" list --match abandoned | tail -1 | grep -qx "0 messages"
ok $? "the abandoned submission left no message"
test -z "$(ls -A "$T_DIR/store/staging")"; ok $? "and no staging file"
grep -q "disconnected during a submission; nothing was stored" "$T_STORE_LOG"; ok $? "the store logged the abandoned submission"

printf 'Subject: hello\n\nline one\n..dots stay\n.\nafter the dot\n' |
    "$SENDMAIL" -s "$T_SOCKET" -f alice@example.org bob@example.net carol@example.net > "$T_DIR/inject.out"
ok $? "spoolgate-sendmail queues a message from stdin"
QI=$(sed -n 's/^queued as //p' "$T_DIR/inject.out")
"$SPOOLCTL" -s "$T_SOCKET" show "$QI" | grep -c "queued" | grep -qx 2 &&
    "$SPOOLCTL" -s "$T_SOCKET" list --match alice@example.org | grep -q "^$QI .*from=<alice@example.org>"
ok $? "the injected message is listed with its sender and both recipients queued"
# (spoolgate-sendmail adds Received, Date, Message-ID and From around the Subject: the end is compared)
test "$("$SPOOLCTL" -s "$T_SOCKET" cat "$QI" | tail -c 27 | od -An -c | tr -s ' ' | tr -d '\n')" = \
     "$(printf '\r\n\r\nline one\r\n..dots stay\r\n' | od -An -c | tr -s ' ' | tr -d '\n')" &&
    "$SPOOLCTL" -s "$T_SOCKET" cat "$QI" | grep -q '^Subject: hello'$(printf '\r')'$'
ok $? "the stored body has CRLF line ends and ends at the lone dot"

printf '[global]\nstate_dir = %s\n[store]\nmax_clients = many\n' "$T_DIR" > "$T_CONFIG"
kill -HUP "$STORE_PID"
wait_for_log "reload refused, the old config stays in force" &&
    grep -q "max_clients: not a number" "$T_STORE_LOG"
ok $? "SIGHUP with a bad config: refused and logged with the reason"
"$SPOOLCTL" -s "$T_SOCKET" stats > /dev/null; ok $? "the store keeps serving on the old config"
stop_store
echo "Subject: x" | "$SENDMAIL" -s "$T_SOCKET" bob@example.net > "$T_DIR/down.out" 2>&1
test $? -eq 75 && grep -q "store unavailable, message not queued" "$T_DIR/down.out"
ok $? "with the store down, spoolgate-sendmail says so and exits 75 (EX_TEMPFAIL)"
