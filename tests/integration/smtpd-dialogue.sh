#!/bin/sh
# smtpd-dialogue.sh - every command, extension and reply of spoolgate-smtpd, driven by smtplib, raw sockets and swaks.
. "$(dirname "$0")/lib.sh"
start_smtpd_suite "max_message_size = 1m"
python3 "$top_srcdir/tests/integration/smtp_dialogue.py" > "$T_DIR/dialogue.tap" 2>&1
relay_tap "$T_DIR/dialogue.tap" 1
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd is still running"
grep '^#' "$T_DIR/dialogue.tap" | head -5
