#!/bin/sh
# code-shape.sh - no source file over 700 lines and no function over 100 lines (issue 15): the check's self-test, then the tree.
. "$(dirname "$0")/lib.sh"
CHECK="python3 $top_srcdir/tests/integration/code_shape.py"
$CHECK --self-test > "$T_DIR/self.tap"
$CHECK "$top_srcdir" > "$T_DIR/tree.tap"
cat "$T_DIR/self.tap" "$T_DIR/tree.tap" > "$T_DIR/all.tap"
relay_tap "$T_DIR/all.tap" 0
