#!/bin/sh
# smtpd-reload.sh - SIGHUP brings in a new TLS certificate and mynetworks without dropping sessions; a bad reload changes nothing (issue 16).
. "$(dirname "$0")/lib.sh"
RL="python3 $top_srcdir/tests/integration/smtp_reload.py"

plan 9
T_ROUTES="$T_LOCAL_DOMAIN smtp:[127.0.0.1]:9
elsewhere.test smtp:[127.0.0.1]:9" start_smtpd_suite
fp_a=$($RL "$SMTP_PORT" fingerprint)
test -n "$fp_a"; ok $? "STARTTLS works with the first certificate"
mkdir "$T_DIR/hold"
$RL "$SMTP_PORT" hold "$T_DIR/hold" > "$T_DIR/hold.out" 2>&1 &
HOLD=$!
wait_for 10 sh -c "[ -s '$T_DIR/hold.out' ]"
case "$($RL "$SMTP_PORT" rcpt bob@elsewhere.test)" in 554*) r=0;; *) r=1;; esac
ok $r "127.0.0.1 is not in mynetworks yet: relaying is refused"

# A new certificate and key, and mynetworks widened; then SIGHUP.
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=localhost" -days 2 \
    -keyout "$T_DIR/key2.pem" -out "$T_DIR/cert2.pem" > /dev/null 2>&1
cp "$T_DIR/key2.pem" "$T_DIR/key.pem"; cp "$T_DIR/cert2.pem" "$T_DIR/cert.pem"
sed -i 's|^mynetworks = .*|mynetworks = 127.0.0.1/32|' "$T_CONFIG"
kill -HUP "$SMTPD_PID"
wait_for 10 grep -q "reloaded .*TLS certificate" "$T_SMTPD_LOG"; ok $? "SIGHUP: smtpd says what it reloaded"
fp_b=$($RL "$SMTP_PORT" fingerprint)
[ -n "$fp_b" ] && [ "$fp_b" != "$fp_a" ]; ok $? "a new STARTTLS session gets the new certificate"
case "$($RL "$SMTP_PORT" rcpt bob@elsewhere.test)" in 250*) r=0;; *) r=1;; esac
ok $r "the new mynetworks holds at once: 127.0.0.1 may relay"
touch "$T_DIR/hold/go"; wait "$HOLD"
[ "$(sed -n 1p "$T_DIR/hold.out")" = "$fp_a" ] && sed -n 2p "$T_DIR/hold.out" | grep -q '^250'
ok $? "the TLS session opened before the reload still works on its first certificate"

# A reload that cannot be done changes nothing.
sed -i "s|^tls_cert_file = .*|tls_cert_file = $T_DIR/missing.pem|; s|^mynetworks = .*|mynetworks = 192.0.2.0/24|" "$T_CONFIG"
kill -HUP "$SMTPD_PID"
wait_for 10 grep -q "reload refused, the old config stays in force: STARTTLS" "$T_SMTPD_LOG"; ok $? "a missing certificate: the reload is refused, with the reason"
[ "$($RL "$SMTP_PORT" fingerprint)" = "$fp_b" ] &&
    case "$($RL "$SMTP_PORT" rcpt bob@elsewhere.test)" in 250*) true;; *) false;; esac
ok $? "and the certificate and mynetworks in use stay as they were"
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd is still running"
