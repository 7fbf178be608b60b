#!/bin/sh
# smtpd-rates.sh - per-client rate limits from several loopback addresses outside mynetworks: connections, MAIL, RCPT, failed AUTH, errors; 421 4.7.0 at the limit, logged once per interval, lifted after it, the table capped (issue 16).
. "$(dirname "$0")/lib.sh"
python3 -c "import socket; s = socket.socket(); s.bind(('127.0.1.40', 0))" 2> /dev/null ||
    bail "127.0.1.40 cannot be bound here (the loopback net must be 127.0.0.0/8)"
T_MYNETWORKS=127.0.0.1/32 start_smtpd_suite "client_rate_interval = 5s
client_connection_rate_limit = 5
client_message_rate_limit = 4
client_recipient_rate_limit = 6
client_auth_failure_rate_limit = 2
client_error_rate_limit = 5
client_rate_table_size = 16"
python3 "$top_srcdir/tests/integration/smtp_rates.py" > "$T_DIR/rates.tap" 2>&1
relay_tap "$T_DIR/rates.tap" 1
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd is still running"
