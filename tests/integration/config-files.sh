#!/bin/sh
# config-files.sh - --check-config reads the files a daemon would (transport map, users file, certificate and key, SFTP keys); SIGHUP in the gateway applies what it can, says what waits for a restart, and keeps the old config when the new one is bad (issue 18 item 4).
. "$(dirname "$0")/lib.sh"

plan 14
make_tls || bail "cannot make a TLS certificate"
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=other" -days 2 \
    -keyout "$T_DIR/key2.pem" -out "$T_DIR/cert2.pem" > /dev/null 2>&1
printf 'good.test smtp:[127.0.0.1]:25\n' > "$T_DIR/good.map"
printf 'good.test smtp:[127.0.0.1]:25\nbad.test frob:x\n' > "$T_DIR/bad.map"
# check BIN SECTION_LINES: --check-config of a config with them; prints the output.
check() {
    printf '[global]\nstate_dir = %s\n%b\n' "$T_DIR" "$2" > "$T_CONFIG"
    "$1" -c "$T_CONFIG" --check-config > "$T_DIR/check.out" 2>&1
    r=$?
    sed 's/^/# /' "$T_DIR/check.out"
    return $r
}
refused() { ! check "$1" "$2" && grep -qF "$3" "$T_DIR/check.out"; }
SMTPD_GOOD="[smtpd]\ntls_cert_file = $T_DIR/cert.pem\ntls_key_file = $T_DIR/key.pem\nauth_users_file = $T_DIR/users\n[router]\ntransport_map = $T_DIR/good.map"

refused "$ROUTER_BIN" "[router]\ntransport_map = $T_DIR/bad.map" "$T_DIR/bad.map:2"
ok $? "router: a transport map with a bad line is refused with file:line"
refused "$ROUTER_BIN" "[router]\ntransport_map = $T_DIR/none.map" "$T_DIR/none.map: No such file"
ok $? "router: a missing transport map is refused"
refused "$SMTPD_BIN" "[smtpd]\ntls_cert_file = $T_DIR/none.pem\ntls_key_file = $T_DIR/key.pem" "$T_DIR/none.pem"
ok $? "smtpd: a missing certificate is refused, naming it"
refused "$SMTPD_BIN" "[smtpd]\ntls_cert_file = $T_DIR/cert.pem\ntls_key_file = $T_DIR/key2.pem" "STARTTLS:"
ok $? "smtpd: a key that does not match the certificate is refused"
printf 'alice:plaintext\n' > "$T_DIR/bad.users"
refused "$SMTPD_BIN" "[smtpd]\nauth_users_file = $T_DIR/bad.users" "$T_DIR/bad.users:1: user alice: not a crypt(3) hash"
ok $? "smtpd: a users file with a bad line is refused with file:line"
refused "$GATEWAY_BIN" "[gateway]\ndomain = po.test\nsftp_host = 127.0.0.1\nsftp_user = u\nsftp_key = $T_DIR/none.key\nsftp_known_hosts = $T_DIR/users\nsftp_root = /x" "gateway.sftp_key: $T_DIR/none.key"
ok $? "gateway: a missing SFTP key is refused"
refused "$GATEWAY_BIN" "[gateway]\nshare = $T_DIR/share" "gateway.domain is not set"
ok $? "gateway: no postoffice domain is refused"
check "$SMTPD_BIN" "$SMTPD_GOOD" && check "$ROUTER_BIN" "$SMTPD_GOOD" &&
    check "$GATEWAY_BIN" "[gateway]\ndomain = po.test\nshare = $T_DIR/share-not-there-yet"
ok $? "good files pass; a share not reachable now is no config error"

# The gateway on SIGHUP.
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH:"John Smith" > /dev/null
GW_INI="[gateway]\ndomain = po.test\nshare = $T_SHARE\npoll_interval = 5s"
printf '[global]\nstate_dir = %s\n%b\n' "$T_DIR" "$GW_INI" > "$T_CONFIG"
start_store; start_gateway; ok $? "store and gateway start"
printf '[global]\nstate_dir = %s\n%b\nmax_deliveries = 3\n' "$T_DIR" "$(echo "$GW_INI" | sed 's/5s/7s/')" > "$T_CONFIG"
kill -HUP "$GATEWAY_PID"
wait_for 10 grep -q "reloaded $T_CONFIG (log level, poll interval 7s, share timeout 60s)" "$T_GATEWAY_LOG"
ok $? "gateway SIGHUP: the poll interval applied at once"
grep -q "changed, applied at the next start: gateway.max_deliveries" "$T_GATEWAY_LOG"
ok $? "and what waits for a restart is named"
printf '[global]\nstate_dir = %s\n[gateway]\nshare = %s\n' "$T_DIR" "$T_SHARE" > "$T_CONFIG"
kill -HUP "$GATEWAY_PID"
wait_for 10 grep -q "reload refused, the old config stays in force: gateway.domain is not set" "$T_GATEWAY_LOG"
ok $? "a config the gateway could not start with is refused, the old one kept"
kill -0 "$GATEWAY_PID"; ok $? "and the gateway runs on"
# smtpd says what its SIGHUP leaves for the next start.
write_smtpd_config
start_smtpd || bail "smtpd does not start"
sed -i 's/^\[smtpd\]$/[smtpd]\nmax_recipients = 7/' "$T_CONFIG"
kill -HUP "$SMTPD_PID"
wait_for 10 grep -q "changed, applied at the next start: smtpd.max_recipients" "$T_SMTPD_LOG"
ok $? "smtpd SIGHUP: a limit that needs a restart is named"
