#!/bin/sh
# smtpd-sessions.sh - 2000 concurrent sessions held open; smtpd's memory per session is reported.
. "$(dirname "$0")/lib.sh"
start_smtpd_suite "max_sessions_per_client = 100000
$T_RATES_OFF" # this test measures many sessions from one address
# The memory goal is for the plain build; sanitizers multiply every allocation.
[ -n "${SG_SANITIZERS:-}" ] && export SG_RSS_PER_SESSION_MAX=200
SG_HOLD_SESSIONS=${SG_HOLD_SESSIONS:-2000} python3 "$top_srcdir/tests/integration/smtp_hold.py" \
    > "$T_DIR/hold.tap" 2>&1
relay_tap "$T_DIR/hold.tap" 1
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd is still running"
grep '^#' "$T_DIR/hold.tap"
