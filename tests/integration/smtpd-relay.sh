#!/bin/sh
# smtpd-relay.sh - no relay through routing tricks: an open-relay suite from outside mynetworks, each refused; bare postmaster taken as the configured address (issue 16).
. "$(dirname "$0")/lib.sh"
python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.2', 0))" 2> /dev/null ||
    bail "127.0.0.2 cannot be bound here (the loopback net must be 127.0.0.0/8)"
T_MYNETWORKS=127.0.0.1/32 T_ROUTES="$T_LOCAL_DOMAIN smtp:[127.0.0.1]:9
sender.test smtp:[127.0.0.1]:9" write_smtpd_config "postmaster = hostmaster@$T_LOCAL_DOMAIN"
start_store || bail "spoolgate-store does not start"
start_smtpd || bail "spoolgate-smtpd does not start"
export_smtp_env
SG_OUTSIDE=127.0.0.2 SG_INSIDE=127.0.0.1 python3 "$top_srcdir/tests/integration/smtp_relay.py" > "$T_DIR/relay.tap" 2>&1
relay_tap "$T_DIR/relay.tap" 4
grep -q "NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.[0-9]*\]: 554 5.7.1 <victim%evil.test@$T_LOCAL_DOMAIN>: Sender-specified routing is not allowed here; from=<[^>]*> to=<victim%evil.test@$T_LOCAL_DOMAIN>" "$T_SMTPD_LOG"
ok $? "smtpd logs the refused routing with the client and the address"
grep -q "<postmaster> taken as <hostmaster@$T_LOCAL_DOMAIN>" "$T_SMTPD_LOG"
ok $? "and that <postmaster> was taken as the configured address"
# A whole message to <postmaster>: stored for the configured address, the original kept as ORCPT.
printf 'Subject: to the postmaster\n\nhello\n' > "$T_DIR/pm.txt"
python3 - "$SMTP_PORT" "$T_DIR/pm.txt" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), source_address=("127.0.0.2", 0))
s.sendmail("a@sender.test", ["postmaster"], open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n"))
s.quit()
PY
$SPOOLCTL -s "$T_SOCKET" list > "$T_DIR/list.out" 2>&1
grep -q "hostmaster@$T_LOCAL_DOMAIN" "$T_DIR/list.out"
ok $? "a message to <postmaster> is queued for hostmaster@$T_LOCAL_DOMAIN"
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd is still running"
