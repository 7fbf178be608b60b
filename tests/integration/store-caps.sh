#!/bin/sh
# store-caps.sh - the store serves a client only the requests whose capability it asked for: every row of its table, both ways.
. "$(dirname "$0")/lib.sh"
write_config
start_store || bail "the store does not start"
"$top_builddir/tests/integration/store-caps" -s "$T_SOCKET" > "$T_DIR/caps.tap" 2>&1
relay_tap "$T_DIR/caps.tap" 2
grep -q "STATS needs capability 'admin', which this client did not ask for" "$T_STORE_LOG"
ok $? "a refusal is logged with the request, the capability and what the client asked for"
"$SPOOLCTL" -s "$T_SOCKET" stats > /dev/null; ok $? "and the store goes on serving"
