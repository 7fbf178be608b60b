#!/bin/sh
# smtpd-helo.sh - EHLO/HELO name syntax: domains (underscores taken) and address literals get 250, other names 501 5.5.2 and the session goes on (issue 16).
. "$(dirname "$0")/lib.sh"
start_smtpd_suite
python3 "$top_srcdir/tests/integration/smtp_helo.py" > "$T_DIR/helo.tap" 2>&1
relay_tap "$T_DIR/helo.tap" 1
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd is still running"
