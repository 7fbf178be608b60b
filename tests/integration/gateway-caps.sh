#!/bin/sh
# gateway-caps.sh - the gateway serves directory lookups only to clients that asked for "directory", deliveries only to those that asked for "deliver".
. "$(dirname "$0")/lib.sh"
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH > /dev/null
write_router_config "sender.test smtp:[127.0.0.1]:9" "[gateway]
share = $T_SHARE
poll_interval = 1s"
start_store && start_gateway || bail "store and gateway do not start"
"$top_builddir/tests/integration/store-caps" -s "$T_DIR/run/gateway.sock" -g > "$T_DIR/caps.tap" 2>&1
relay_tap "$T_DIR/caps.tap" 2
caps_table_rows "$top_srcdir/gateway/gateway_server.c" > "$T_DIR/rows.src"
"$top_builddir/tests/integration/store-caps" -l -g | sort > "$T_DIR/rows.tested"
[ -s "$T_DIR/rows.src" ] && cmp -s "$T_DIR/rows.src" "$T_DIR/rows.tested"
ok $? "every row of the gateway's table (gateway/gateway_server.c) is tested, with its capability"
grep -q "DIR_LOOKUP needs capability 'directory', which this client did not ask for" "$T_GATEWAY_LOG"
ok $? "the refusal is logged with the request and the capability"
