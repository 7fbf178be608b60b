#!/bin/sh
# store-client.sh - the store client (common/store_client) against a real store: submit with back-pressure, read with pause/resume, a refused commit, abort, the store killed mid-stream.
. "$(dirname "$0")/lib.sh"
write_config
start_store || bail "the store does not start"
"$top_builddir/tests/integration/store-client" -s "$T_SOCKET" -p "$STORE_PID" > "$T_DIR/client.tap" 2>&1
rc=$?
relay_tap "$T_DIR/client.tap" 1
ok $rc "the driver ran to its end and passed (exit status $rc)"
