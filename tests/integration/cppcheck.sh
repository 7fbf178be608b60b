#!/bin/sh
# cppcheck.sh - cppcheck (warnings, portability) finds nothing in the tree beyond the findings checked and listed as false in .cppcheck-suppressions (issue 19).
. "$(dirname "$0")/lib.sh"
command -v cppcheck > /dev/null || { echo "1..0 # SKIP cppcheck not installed"; exit 0; }

plan 1
cd "$top_srcdir" || bail "no source dir"
cppcheck --quiet --enable=warning,portability --inline-suppr --std=c11 -I common -I store -I router \
    -I smtpd -I gateway -I tools --suppress=missingIncludeSystem \
    --suppressions-list=.cppcheck-suppressions --error-exitcode=1 \
    --template='{file}:{line}: {id}: {message}' common store smtpd router gateway tools \
    > "$T_DIR/cppcheck.out" 2>&1
r=$?
grep -E '^[a-z_/]+\.[ch]:[0-9]+: ' "$T_DIR/cppcheck.out" | head -40 | diag
ok $r "cppcheck: no new finding"
