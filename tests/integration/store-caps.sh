#!/bin/sh
# store-caps.sh - the store serves a client only the requests whose capability it asked for: every row of its table, both ways.
. "$(dirname "$0")/lib.sh"
write_config
start_store || bail "the store does not start"
"$top_builddir/tests/integration/store-caps" -s "$T_SOCKET" > "$T_DIR/caps.tap" 2>&1
relay_tap "$T_DIR/caps.tap" 3
caps_table_rows "$top_srcdir/store/store_conn.c" > "$T_DIR/rows.src"
"$top_builddir/tests/integration/store-caps" -l | sort > "$T_DIR/rows.tested"
[ -s "$T_DIR/rows.src" ] && cmp -s "$T_DIR/rows.src" "$T_DIR/rows.tested"
ok $? "every row of the store's table (store/store_conn.c) is tested, with its capability"
grep -q "STATS needs capability 'admin', which this client did not ask for" "$T_STORE_LOG"
ok $? "a refusal is logged with the request, the capability and what the client asked for"
"$SPOOLCTL" -s "$T_SOCKET" stats > /dev/null; ok $? "and the store goes on serving"
