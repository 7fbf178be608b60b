#!/bin/sh
# code-format.sh - every C file of the tree is as clang-format writes it with the tree's .clang-format (issue 15, item 9).
. "$(dirname "$0")/lib.sh"
command -v clang-format > /dev/null || bail "clang-format is not installed (scripts/install-deps test installs it)"
plan 2
cd "$top_srcdir" || bail "no source tree at $top_srcdir"
files=$(find common smtpd router gateway store tools tests/unit tests/integration tests/fuzz -name '*.[ch]' | sort)
test -n "$files"; ok $? "C sources found ($(echo "$files" | wc -l) files)"
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files > "$T_DIR/format.out" 2>&1
rc=$?
ok $rc "clang-format would change nothing (clang-format -i on the files it names fixes it)"
[ $rc -eq 0 ] || grep -E '^[^ ]+:[0-9]+:[0-9]+: ' "$T_DIR/format.out" | cut -d: -f1 | sort | uniq -c | head -20 | diag
