#!/bin/sh
# smtpd-storekill.sh - the store is killed -9 under SMTP load: 4xx, never a 250 for mail not stored; smtpd recovers by itself.
. "$(dirname "$0")/lib.sh"
start_smtpd_suite "$T_RATES_OFF" # SMTP load from one address
export SG_ACKS="$T_DIR/acks" SG_DURATION=6
python3 "$top_srcdir/tests/integration/smtp_storekill.py" send > "$T_DIR/send.tap" 2>&1 &
LOAD=$!
sleep 2
kill9_store
sleep 1.5
start_store; STARTED=$?
wait "$LOAD"
python3 "$top_srcdir/tests/integration/smtp_storekill.py" verify > "$T_DIR/verify.tap" 2>&1
python3 "$top_srcdir/tests/integration/smtp_storekill.py" after > "$T_DIR/after.tap" 2>&1
cat "$T_DIR/send.tap" "$T_DIR/verify.tap" "$T_DIR/after.tap" > "$T_DIR/all.tap"
relay_tap "$T_DIR/all.tap" 3
ok $STARTED "the store restarts after kill -9"
kill -0 "$SMTPD_PID"; ok $? "spoolgate-smtpd was not restarted (same process)"
grep -q "mail store ready" "$T_SMTPD_LOG" && grep -q "mail store unavailable" "$T_SMTPD_LOG"
ok $? "smtpd logged the store going away and coming back"
grep '^#' "$T_DIR/all.tap" | head -20
