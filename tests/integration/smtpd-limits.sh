#!/bin/sh
# smtpd-limits.sh - concurrent sessions per client address: 421 4.7.0 past the limit, logged once a minute, mynetworks exempt; failed AUTH slowed down, the third closes (issue 16).
. "$(dirname "$0")/lib.sh"
python3 -c "import socket; s = socket.socket(); s.bind(('127.0.1.100', 0))" 2> /dev/null ||
    bail "127.0.1.100 cannot be bound here (the loopback net must be 127.0.0.0/8)"
T_MYNETWORKS=127.0.0.1/32 start_smtpd_suite "max_sessions_per_client = 5"
python3 "$top_srcdir/tests/integration/smtp_limits.py" > "$T_DIR/limits.tap" 2>&1
relay_tap "$T_DIR/limits.tap" 3
[ "$(grep -c '\[127.0.0.2\] refused: .* sessions from this address (limit 5' "$T_SMTPD_LOG")" = 1 ]
ok $? "ten refusals of one address are logged once"
grep -q "3 failed authentications: closing" "$T_SMTPD_LOG"; ok $? "the closing is logged with the count"
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd is still running"
