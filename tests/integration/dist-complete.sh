#!/bin/sh
# dist-complete.sh - the distribution (make distdir, what make dist and distcheck pack) holds every file of the source tree that is under version control, so make distcheck builds and tests what a clone does.
. "$(dirname "$0")/lib.sh"

plan 2
B=$top_builddir
if ! git -C "$top_srcdir" rev-parse --git-dir > /dev/null 2>&1; then
    ok 0 "# SKIP not a git checkout (this is an unpacked distribution itself)"
    ok 0 "# SKIP not a git checkout"
    exit 0
fi
D=$T_DIR/dist
env -u MAKEFLAGS -u MFLAGS make -s -C "$B" distdir distdir="$D" > "$T_DIR/distdir.log" 2>&1
r=$?; [ $r -eq 0 ] || tail -20 "$T_DIR/distdir.log" | diag
ok $r "make distdir succeeds"
missing=
for f in $(git -C "$top_srcdir" ls-files); do
    case $f in .gitignore | */.gitignore) continue ;; esac
    [ -e "$D/$f" ] || missing="$missing $f"
done
[ -z "$missing" ]; ok $? "every file under version control is in the distribution${missing:+, missing:$missing}"
