#!/bin/sh
# gateway-out-batch.sh - a large backlog in OUT/ (160 transfer files of 1 MiB) is read in bounded batches, each submitted before the next is read: every file reaches the store exactly once and the gateway's peak memory stays far below the backlog's size (it read all of OUT/ at once before: 160 MiB held) (issue 19).
. "$(dirname "$0")/lib.sh"

plan 4
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH > /dev/null
head -c 780000 /dev/urandom | base64 > "$T_DIR/body.txt" # about 1 MiB
$PO_SIM send "$T_SHARE" --from JSMITH --to SMTP:far@dst.test --subject backlog \
    --body-file "$T_DIR/body.txt" --name 00000001 > /dev/null
for i in $(seq 2 160); do cp "$T_SHARE/OUT/00000001.P1" "$T_SHARE/OUT/$(printf '%08X' "$i").P1"; done
backlog=$(du -sk "$T_SHARE/OUT" | cut -f1)
write_router_config "" "[gateway]
share = $T_SHARE
poll_interval = 1s"
# Freed memory is reused at once under ASan too (its quarantine would hold every batch).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"; export ASAN_OPTIONS
start_store && start_gateway; ok $? "store and gateway start with ${backlog} KiB in OUT/"
wait_for 60 sh -c "[ -z \"\$(ls '$T_SHARE/OUT' | grep -E '\\.(P1|GWK)\$')\" ]"
ok $? "OUT/ is emptied"
test "$(store_count)" = 160; ok $? "every file is in the store once ($(store_count) messages)"
peak=$(awk '/^VmHWM/ {print $2}' "/proc/$GATEWAY_PID/status")
limit=$((48 * 1024))
[ -n "${SG_SANITIZERS:-}" ] && limit=$((96 * 1024))
# Under a wrapper (valgrind's allocator keeps what is freed) the process's size says nothing.
[ -n "${SG_DAEMON_WRAPPER:-}" ] && limit=$((1024 * 1024 * 1024))
echo "# gateway peak RSS ${peak} KiB, OUT/ held ${backlog} KiB" | diag
test -n "$peak" && test "$peak" -lt "$limit"
ok $? "the gateway's peak memory stays below $((limit / 1024)) MiB (${peak} KiB for a ${backlog} KiB backlog)"
