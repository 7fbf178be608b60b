#!/bin/sh
# notify.sh - sd_notify to a fake NOTIFY_SOCKET: READY=1 only once smtpd's port accepts; RELOADING=1/READY=1 on SIGHUP; STOPPING=1.
. "$(dirname "$0")/lib.sh"
grep -q '^#define HAVE_SYSTEMD 1' "$top_builddir/build-config.h" || { echo "1..0 # SKIP built --without-systemd"; exit 0; }
plan 5
write_smtpd_config
start_store || bail "spoolgate-store does not start"
N="$T_DIR/notify.sock"
python3 "$top_srcdir/tests/integration/notify_listen.py" "$N" "$SMTP_PORT" "$T_DIR/notify.log" &
T_BG_PIDS="$!"
wait_for 10 test -S "$N" || bail "the fake notify socket is not there"
export NOTIFY_SOCKET="$N"
start_smtpd || bail "spoolgate-smtpd does not start"
unset NOTIFY_SOCKET
wait_for 10 grep -q READY "$T_DIR/notify.log"
[ "$(grep -c READY "$T_DIR/notify.log")" -eq 1 ]; ok $? "one READY=1 at the start"
grep -q '^READY=1 accepts=yes$' "$T_DIR/notify.log"; ok $? "the port accepts as READY=1 arrives"
kill -HUP "$SMTPD_PID"
wait_for 10 sh -c "[ \$(grep -c READY '$T_DIR/notify.log') -eq 2 ]"
sed -n 2,3p "$T_DIR/notify.log" | tr '\n' ' ' | grep -q '^RELOADING=1 READY=1'; ok $? "SIGHUP: RELOADING=1, then READY=1"
kill -TERM "$SMTPD_PID"
wait_for 10 grep -q '^STOPPING=1$' "$T_DIR/notify.log"; ok $? "SIGTERM: STOPPING=1"
wait "$SMTPD_PID"; ok $? "smtpd stopped with exit 0"
SMTPD_PID=
diag < "$T_DIR/notify.log"
[ $T_FAILED -eq 0 ]
