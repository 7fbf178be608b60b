#!/bin/sh
# smtpd-deadlines.sh - slowloris sessions are cut at total deadlines, patient ones are not, and a never-reading pipelining client cannot grow smtpd (issue 16).
. "$(dirname "$0")/lib.sh"
start_smtpd_suite "command_timeout = 2s
data_timeout = 2s
data_min_rate = 1000
max_message_size = 8m"
export SG_SMTPD_PID="$SMTPD_PID"
python3 "$top_srcdir/tests/integration/smtp_deadlines.py" > "$T_DIR/deadlines.tap" 2>&1
relay_tap "$T_DIR/deadlines.tap" 2
grep -q "timeout in state" "$T_SMTPD_LOG"; ok $? "smtpd logs each cut session's timeout and state"
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd is still running"
