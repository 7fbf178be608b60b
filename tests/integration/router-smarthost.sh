#!/bin/sh
# router-smarthost.sh - authenticated smarthosts (issue 20 item 2): AUTH PLAIN/LOGIN only inside a verified TLS session (STARTTLS or implicit), credentials from a mode-checked secrets file and never logged, 5xx -> DSN naming the smarthost, 4xx -> deferred.
. "$(dirname "$0")/lib.sh"

plan 28
SMARTHOST_PY="$top_srcdir/tests/integration/smarthost_peer.py"
make_tls || bail "cannot make a certificate"

# start_smarthost NAME [smarthost_peer.py options]: sets NAME_PORT, records into $T_DIR/NAME.
start_smarthost() {
    s_name=$1; shift
    mkdir -p "$T_DIR/$s_name"
    for _ in 1 2 3; do
        s_port=$(free_port)
        : > "$T_DIR/$s_name.out"
        python3 "$SMARTHOST_PY" --port "$s_port" --dir "$T_DIR/$s_name" --tls-cert "$T_DIR/cert.pem" \
            --tls-key "$T_DIR/key.pem" "$@" >> "$T_DIR/$s_name.out" 2>&1 &
        eval "${s_name}_PID=$! ${s_name}_PORT=$s_port"
        T_BG_PIDS="${T_BG_PIDS:-} $!"
        wait_alive "$!" 30 grep -q '^ready' "$T_DIR/$s_name.out" && return 0
    done
    sed 's/^/#   /' "$T_DIR/$s_name.out"
    return 1
}

LONG_USER=$(printf 'u%.0s' $(seq 1 200)); LONG_PASS=$(printf 'p%.0s' $(seq 1 200))
start_smarthost st && start_smarthost login --mechs LOGIN && start_smarthost impl --tls implicit &&
    start_smarthost wrong && start_smarthost temp --auth-reply "454 4.7.0 Temporary authentication failure" &&
    start_smarthost plain --tls none && start_smarthost nomech --mechs - &&
    start_smarthost long --user "$LONG_USER" --password "$LONG_PASS" && start_peer sink sink
ok $? "eight smarthosts and a sink listen"

SECRETS="$T_DIR/secrets"
printf '# smarthost credentials\nprov anna@example.test s3cret pass\nbad anna@example.test wrong-pass\nlong %s %s\n' \
    "$LONG_USER" "$LONG_PASS" > "$SECRETS"
chmod 0600 "$SECRETS"
write_router_config "st.test      smtp:[localhost]:$st_PORT      auth=prov
login.test   smtp:[localhost]:$login_PORT   auth=prov
impl.test    smtp:[localhost]:$impl_PORT    tls=implicit auth=prov
wrong.test   smtp:[localhost]:$wrong_PORT   auth=bad
temp.test    smtp:[localhost]:$temp_PORT    auth=prov
plain.test   smtp:[localhost]:$plain_PORT   auth=prov
nomech.test  smtp:[localhost]:$nomech_PORT  auth=prov
long.test    smtp:[localhost]:$long_PORT    auth=long
sender.test  smtp:[127.0.0.1]:$sink_PORT" "tls_ca_file = $T_DIR/cert.pem
smarthost_secrets = $SECRETS
relayhost = [localhost]:$st_PORT
relayhost_auth = prov
retry_first = 30s
[global]
log_level = debug"
start_mail_path "spoolgate-router starts with the secrets file"
printf 'Subject: via the smarthost\n\nhello\n' > "$T_DIR/msg.txt"

# meta PEER ADDRESS KEY: KEY of the message PEER took for ADDRESS.
meta() {
    python3 -c "import json,glob,sys; print([json.load(open(f))[sys.argv[3]] for f in glob.glob(sys.argv[1] + '/*.json') if sys.argv[2] in json.load(open(f))['rcpt_tos']])" \
        "$T_DIR/$1" "$2" "$3"
}
# auth_log PEER: its AUTH attempts as "MECHANISM:ok|bad:tls|plain" words.
auth_log() {
    python3 -c "import json,sys; print(' '.join('%s:%s:%s' % (r['mechanism'], 'ok' if r['ok'] else 'bad', 'tls' if r['tls'] else 'plain') for r in map(json.loads, open(sys.argv[1]))))" \
        "$T_DIR/$1/auth.log" 2> /dev/null
}

send_mail alice@sender.test a@st.test < "$T_DIR/msg.txt" > /dev/null
peer_got st a@st.test; ok $? "STARTTLS smarthost with AUTH: delivered"
test "$(meta st a@st.test auth_user) $(meta st a@st.test tls)" = "['anna@example.test'] [True]"
ok $? "the smarthost saw the message from the authenticated user, over TLS"
test "$(auth_log st)" = "PLAIN:ok:tls"; ok $? "one AUTH PLAIN with the initial response, inside TLS"

send_mail alice@sender.test b@login.test < "$T_DIR/msg.txt" > /dev/null
peer_got login b@login.test; ok $? "a smarthost offering only LOGIN: delivered"
test "$(auth_log login)" = "LOGIN:ok:tls"; ok $? "AUTH LOGIN used, inside TLS"

send_mail alice@sender.test c@impl.test < "$T_DIR/msg.txt" > /dev/null
peer_got impl c@impl.test; ok $? "tls=implicit (TLS from the connect on, as port 465): delivered"
test "$(auth_log impl) $(meta impl c@impl.test tls)" = "PLAIN:ok:tls [True]"; ok $? "authenticated inside the implicit TLS session"

send_mail alice@sender.test d@long.test < "$T_DIR/msg.txt" > /dev/null
peer_got long d@long.test
ok $? "credentials too long for one AUTH line: AUTH PLAIN, then the response to its 334 (RFC 4954 4)"

send_mail alice@sender.test e@elsewhere.example < "$T_DIR/msg.txt" > /dev/null
peer_got st e@elsewhere.example; ok $? "the relayhost with relayhost_auth: delivered"
test "$(auth_log st)" = "PLAIN:ok:tls PLAIN:ok:tls"; ok $? "the relayhost connection authenticated too"

# A refusal (5xx) fails the recipient and the DSN names the smarthost and its reply.
Q=$(send_mail alice@sender.test f@wrong.test < "$T_DIR/msg.txt")
wait_for 15 sh -c "$DSN_CHECK '$T_DIR/sink' --sender alice@sender.test --rcpt f@wrong.test --action failed | grep -q '^ok'"
$DSN_CHECK "$T_DIR/sink" --sender alice@sender.test --rcpt f@wrong.test --action failed --status-class 5 \
    --reason-contains "smarthost smtp:[localhost]:$wrong_PORT" --reason-contains "refused the credentials bad" \
    --reason-contains "535 5.7.8" > "$T_DIR/dsn1.tap"
! grep -q '^not ok' "$T_DIR/dsn1.tap"; ok $? "535: a failure DSN naming the smarthost, the credentials and its reply"
grep '^not ok' -A5 "$T_DIR/dsn1.tap" | diag
test "$(auth_log wrong)" = "PLAIN:bad:tls" && test -z "$(ls "$T_DIR/wrong"/*.json 2>/dev/null)"
ok $? "the refused smarthost got one AUTH and no message"

Q=$(send_mail alice@sender.test g@temp.test < "$T_DIR/msg.txt")
queue_shows 10 "$Q" "deferred.*could not check the credentials prov.*454 4.7.0"
ok $? "454: deferred, and spoolctl list says the smarthost could not check the credentials"

Q=$(send_mail alice@sender.test h@plain.test < "$T_DIR/msg.txt")
queue_shows 10 "$Q" "deferred.*does not offer STARTTLS"
ok $? "a smarthost without TLS: deferred, though it offers AUTH in plain text"
test ! -s "$T_DIR/plain/auth.log"; ok $? "... and it never saw the credentials"

Q=$(send_mail alice@sender.test i@nomech.test < "$T_DIR/msg.txt")
queue_shows 10 "$Q" "deferred.*offers no AUTH mechanism the router has (PLAIN, LOGIN)"
ok $? "a smarthost with no AUTH mechanism of ours: deferred, nothing sent without AUTH"
test -z "$(ls "$T_DIR/nomech"/*.json 2>/dev/null)"; ok $? "... and it got no message"

# Never logged: not the password, not the base64 of the PLAIN response.
B64=$(printf '\0anna@example.test\0s3cret pass' | base64 -w0)
! grep -qF -e 's3cret' -e 'wrong-pass' -e "$B64" -e "$LONG_PASS" "$T_ROUTER_LOG" "$T_SMTPD_LOG" "$T_STORE_LOG"
ok $? "no password and no AUTH response in any daemon's log (debug level)"
grep -q 'AUTH PLAIN (credentials not logged)' "$T_ROUTER_LOG"; ok $? "the debug log shows the AUTH line without them"
! $SPOOLCTL -s "$T_SOCKET" list | grep -qF -e 's3cret' -e 'wrong-pass'; ok $? "nor does spoolctl list"

# The secrets file: readable by others, or missing a name the map uses, is refused.
chmod 0644 "$SECRETS"
"$ROUTER_BIN" -c "$T_CONFIG" --check-config > "$T_DIR/check1.out" 2>&1
test $? != 0 && grep -q "smarthost_secrets: $SECRETS: mode 0644: others may not have any access" "$T_DIR/check1.out"
ok $? "--check-config refuses a secrets file others can read, naming its mode"
kill -HUP "$ROUTER_PID"
wait_for 5 grep -q "reload refused" "$T_ROUTER_LOG"; ok $? "SIGHUP with that file: the reload is refused"
send_mail alice@sender.test j@st.test < "$T_DIR/msg.txt" > /dev/null
peer_got st j@st.test; ok $? "... and the router goes on with the credentials it had"
chmod 0600 "$SECRETS"
sed -i '/^bad /d' "$SECRETS"
"$ROUTER_BIN" -c "$T_CONFIG" --check-config > "$T_DIR/check2.out" 2>&1
test $? != 0 && grep -q "entry for wrong.test names credentials bad, which router.smarthost_secrets does not have" "$T_DIR/check2.out"
ok $? "--check-config refuses a map entry naming credentials the secrets file lacks"
cat "$T_DIR/check1.out" "$T_DIR/check2.out" | diag
