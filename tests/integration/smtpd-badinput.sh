#!/bin/sh
# smtpd-badinput.sh - hostile and broken SMTP input: the specified reply, the daemon stays up, nothing partial is stored.
. "$(dirname "$0")/lib.sh"
start_smtpd_suite "max_message_size = 1m
$T_RATES_OFF" # many sessions and errors from one address
python3 "$top_srcdir/tests/integration/smtp_badinput.py" > "$T_DIR/badinput.tap" 2>&1
relay_tap "$T_DIR/badinput.tap" 3
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd is still running"
kill -0 "$STORE_PID"; ok $? "spoolgate-store is still running"
test -z "$(ls -A "$T_DIR/store/staging")"; ok $? "no staging file is left behind by a refused message"
