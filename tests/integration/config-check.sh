#!/bin/sh
# config-check.sh - values checked beyond their type at load and by --check-config (networks, listeners, next hops, DNS servers), inline comments and quotes (issue 18 item 4).
. "$(dirname "$0")/lib.sh"

plan 14
# refused VALUE_LINES REASON: --check-config refuses them with file:line: key: and the reason.
refused() {
    printf '[global]\nstate_dir = %s\n%b\n' "$T_DIR" "$1" > "$T_CONFIG"
    "$STORE_BIN" -c "$T_CONFIG" --check-config > "$T_DIR/check.out" 2>&1
    r=$?
    sed 's/^/# /' "$T_DIR/check.out"
    [ $r -ne 0 ] && grep -qF "spoolgate.ini:4: $2" "$T_DIR/check.out"
}
refused '[smtpd]\nmynetworks = 127.0.0.0/8 10.0.0.0/33' 'smtpd.mynetworks: bad network "10.0.0.0/33"'
ok $? "a prefix longer than the address is refused"
refused '[router]\nrelayhost = [smtp.example.com]:587:x' 'router.relayhost: "[smtp.example.com]:587:x": bad port'
ok $? "a relayhost with a bad port is refused"
refused '[smtpd]\nlisten = 127.0.0.1' 'smtpd.listen: "127.0.0.1": expected address:port'
ok $? "a listener without a port is refused"
refused '[smtpd]\nsubmission_listen = [::1]:x' 'smtpd.submission_listen: "[::1]:x"'
ok $? "a listener with a bad port is refused"
refused '[router]\ndns_servers = 127.0.0.1:53x' 'router.dns_servers: "127.0.0.1:53x"'
ok $? "a bad DNS server is refused"
refused '[global]\nhostname = "mail.example.com' 'global.hostname: a value that begins with a quote must end with one'
ok $? "an unclosed quote is refused"

printf '[global]\nstate_dir = %s\nhostname = "mail.example.com"   # quoted\n[smtpd]\nmynetworks = 127.0.0.0/8 [::1]/128   ; loopback only\n[router]\nrelayhost = [smtp.example.com]:587 # the provider\n' "$T_DIR" > "$T_CONFIG"
"$STORE_BIN" -c "$T_CONFIG" --check-config > /dev/null 2>&1; ok $? "good values with inline comments and quotes pass"
"$STORE_BIN" -c "$T_CONFIG" --dump-config > "$T_DIR/dump.ini" 2>&1
grep -qx 'hostname = mail.example.com' "$T_DIR/dump.ini"; ok $? "quotes are taken off"
grep -qx 'mynetworks = 127.0.0.0/8 \[::1\]/128' "$T_DIR/dump.ini"; ok $? "a ';' comment after a blank is not part of the value"
grep -qx 'relayhost = \[smtp.example.com\]:587' "$T_DIR/dump.ini"; ok $? "nor is a '#' comment"
printf '[global]\nstate_dir = %s\nhostname = mail#1.example.com\n' "$T_DIR" > "$T_CONFIG"
"$STORE_BIN" -c "$T_CONFIG" --dump-config 2>&1 | grep -qx 'hostname = mail#1.example.com'
ok $? "a '#' inside a word is kept"

# At start: a notice when the embedded default is used, a warning for a host name that is not
# fully qualified.
write_config "$(printf '[global]\nhostname = mailhost\n')"
start_store; ok $? "spoolgate-store starts with hostname = mailhost"
wait_for_log 'host name "mailhost" is not fully qualified'; ok $? "and warns that it is not fully qualified"
stop_store
if [ -e /etc/spoolgate/spoolgate.ini ]; then
    ok 0 "# SKIP /etc/spoolgate/spoolgate.ini exists: the embedded default is not used here"
    exit 0
fi
mkdir -p "$T_DIR/emb"
(cd "$T_DIR/emb" && exec "$STORE_BIN" --foreground $SG_ROOT_FLAG > "$T_DIR/emb.log" 2>&1) &
emb=$!
wait_for 10 grep -q "the embedded default is in use" "$T_DIR/emb.log"; r=$?
kill "$emb" 2>/dev/null; wait "$emb" 2>/dev/null
[ $r -eq 0 ] || sed 's/^/# /' "$T_DIR/emb.log"
ok $r "without a configuration file the store says the embedded default is in use"
