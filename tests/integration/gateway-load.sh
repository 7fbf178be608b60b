#!/bin/sh
# gateway-load.sh - a busy local postoffice share: 4 000 messages over 16 sessions, a second writer, a kill -9; nothing lost or doubled.
. "$(dirname "$0")/lib.sh"
SHARE_CONFIG="share = $T_SHARE"
. "$top_srcdir/tests/integration/gateway_load.sh"
