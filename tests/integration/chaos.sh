#!/bin/sh
# chaos.sh - scripts/chaos for 60 seconds: the four daemons under SMTP and OUT/ load while each is killed -9 now and then, the sink refuses and the share disappears; after the drain nothing is lost and every duplicate is explained by a kill (issue 19).
. "$(dirname "$0")/lib.sh"

plan 3
python3 "$top_srcdir/scripts/chaos" --seconds "${SG_CHAOS_SECONDS:-60}" --build "$top_builddir" \
    > "$T_DIR/chaos.out" 2>&1
r=$?
diag < "$T_DIR/chaos.out"
ok $r "scripts/chaos ran to its end and found nothing wrong (exit $r)"
grep -q "^  lost: *0$" "$T_DIR/chaos.out"; ok $? "no accepted message was lost"
grep -q "^  duplicated: .*unexplained: 0$" "$T_DIR/chaos.out" && grep -q "^  accepted: *[1-9]" "$T_DIR/chaos.out"
ok $? "every duplicate is explained by a kill, and there was load to account for"
