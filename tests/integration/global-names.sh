#!/bin/sh
# global-names.sh - a grep for a function name lands in one daemon: global names carry their daemon's prefix, none is defined twice.
. "$(dirname "$0")/lib.sh"
CHECK="python3 $top_srcdir/tests/integration/global_names.py"
args=
for d in store smtpd router gateway; do
    objs=$(ls "$top_builddir/$d/spoolgate_$d-"*.o 2>/dev/null)
    [ -n "$objs" ] || bail "no objects of spoolgate-$d under $top_builddir/$d"
    # T (code), D/B (data), R (read-only), C (common): every name the objects define for others to use.
    # Names the compiler makes for itself (__odr_asan_gen_*, ...) are not ours.
    nm -g --defined-only $objs | awk '$2 ~ /^[TDBRC]$/ && $3 !~ /^__/ { print $3 }' | sort -u > "$T_DIR/$d.names"
    args="$args $d=$T_DIR/$d.names"
done
$CHECK --self-test > "$T_DIR/self.tap"
$CHECK $args > "$T_DIR/check.tap"
cat "$T_DIR/self.tap" "$T_DIR/check.tap" > "$T_DIR/all.tap"
relay_tap "$T_DIR/all.tap" 0
