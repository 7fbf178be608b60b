#!/bin/sh
# clang-tidy.sh - clang-tidy (.clang-tidy: the analyzer's core/unix checks, bugprone-*) finds nothing in the tree beyond the findings checked and listed as false or accepted in .clang-tidy-accepted (issue 19).
. "$(dirname "$0")/lib.sh"
command -v clang-tidy > /dev/null || { echo "1..0 # SKIP clang-tidy not installed"; exit 0; }

plan 1
# config.h is found in the build dir: its path made absolute before the cd (make check gives
# a relative one, and clang-tidy without config.h reports errors, not findings).
build_dir=$(cd "$top_builddir" && pwd) || bail "no build dir"
cd "$top_srcdir" || bail "no source dir"
for f in common/*.c store/*.c smtpd/*.c router/*.c gateway/*.c tools/*.c; do
    clang-tidy --quiet "$f" -- -std=c11 -D_GNU_SOURCE -DSPOOLGATE_CONFIG_PATH='"/etc/spoolgate/spoolgate.ini"' \
        -Icommon -I"$build_dir" -I"$(dirname "$f")" 2> /dev/null
done > "$T_DIR/tidy.out"
# One finding a line: "file:check" (line numbers move; the check and the file do not).  The
# paths clang-tidy prints start with this directory, which make check names as BUILD/..: the
# prefix is the directory itself, not top_srcdir as given.
sed -e "s|^$(pwd -P)/||" -e "s|^$(pwd)/||" "$T_DIR/tidy.out" > "$T_DIR/tidy.rel"
sed -n 's|^\([a-z]*/[a-z_0-9]*\.[ch]\):[0-9]*:[0-9]*: warning: .*\[\([A-Za-z0-9.,-]*\)\]$|\1:\2|p' "$T_DIR/tidy.rel" |
    sort -u > "$T_DIR/found"
grep -v '^#' .clang-tidy-accepted | grep . | sort -u > "$T_DIR/accepted"
comm -23 "$T_DIR/found" "$T_DIR/accepted" > "$T_DIR/new"
if [ -s "$T_DIR/new" ]; then
    while IFS=: read -r file check; do
        grep -m1 "^$file:[0-9]*:[0-9]*: warning: .*\[$check\]" "$T_DIR/tidy.rel"
    done < "$T_DIR/new" | head -40 | diag
fi
test ! -s "$T_DIR/new"; ok $? "clang-tidy: no new finding ($(wc -l < "$T_DIR/found") known, $(wc -l < "$T_DIR/new") new)"
