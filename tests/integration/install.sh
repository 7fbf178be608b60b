#!/bin/sh
# install.sh - make install DESTDIR: the layout, a man page per program, units that parse, --version, spoolgate-config, a detached daemon's failure.
. "$(dirname "$0")/lib.sh"
plan 16
B=$top_builddir
ROOT=$T_DIR/root
# The install directories as configured.
dirs=$(printf 'show:\n\t@echo "$(sbindir)|$(sysconfdir)|$(mandir)|$(docdir)|$(systemdsystemunitdir)|$(bindir)"\n' |
    env -u MAKEFLAGS -u MFLAGS make -s -C "$B" -f Makefile -f - show)
IFS='|' read -r SBIN ETC MAN DOC UNITS BIN <<E
$dirs
E
env -u MAKEFLAGS -u MFLAGS make -s -C "$B" install DESTDIR="$ROOT" > "$T_DIR/install.log" 2>&1
ok $? "make install DESTDIR= succeeds"
PROGS="spoolgate-store spoolgate-smtpd spoolgate-router spoolgate-gateway spoolctl spoolgate-sendmail spoolgate-config"
missing=
for p in $PROGS; do [ -x "$ROOT$SBIN/$p" ] || missing="$missing $p"; done
[ -z "$missing" ]; ok $? "every program in sbindir ($SBIN)${missing:+, missing:$missing}"
missing=
for p in $PROGS; do
    ls "$ROOT$MAN"/man[18]/"$p".[18] > /dev/null 2>&1 || missing="$missing $p"
done
[ -f "$ROOT$MAN/man5/spoolgate.ini.5" ] || missing="$missing spoolgate.ini.5"
[ -z "$missing" ]; ok $? "a man page for every program and spoolgate.ini(5)${missing:+, missing:$missing}"
bad=
for m in "$ROOT$MAN"/man*/*; do
    LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$m" 2>&1 > /dev/null | grep -q . && bad="$bad ${m##*/}"
done
[ -z "$bad" ]; ok $? "every man page renders without a warning${bad:+:$bad}"
"$ROOT$SBIN/spoolgate-config" --man | cmp -s - "$ROOT$MAN/man5/spoolgate.ini.5"
ok $? "the installed spoolgate.ini(5) is what spoolgate-config --man writes from the key table"
keys=$(grep -c '^\.TP' "$ROOT$MAN/man5/spoolgate.ini.5")
n=$("$ROOT$SBIN/spoolgate-config" -d | grep -c ' =')
[ "$keys" -eq "$((n + 1))" ]; ok $? "spoolgate.ini(5) documents every key ($n keys, $keys .TP entries with FILES)"
"$ROOT$SBIN/spoolgate-config" --example | cmp -s - "$ROOT$ETC/spoolgate/spoolgate.ini.example" &&
    cmp -s "$ROOT$ETC/spoolgate/spoolgate.ini" "$ROOT$ETC/spoolgate/spoolgate.ini.example"
ok $? "spoolgate.ini.example and spoolgate.ini (none was there) are spoolgate-config --example"
# The example parses, and only the state directory differs from the defaults.
"$ROOT$SBIN/spoolgate-config" -c "$ROOT$ETC/spoolgate/spoolgate.ini.example" -n global.state_dir store.cache_size > "$T_DIR/n.out"
[ $? -eq 0 ] && grep -q "^state_dir = " "$T_DIR/n.out" && ! grep -q cache_size "$T_DIR/n.out"
ok $? "the example is a valid config whose only non-default is the state directory"
echo "; mine" >> "$ROOT$ETC/spoolgate/spoolgate.ini"
env -u MAKEFLAGS -u MFLAGS make -s -C "$B" install DESTDIR="$ROOT" > "$T_DIR/install2.log" 2>&1 &&
    grep -q '^; mine' "$ROOT$ETC/spoolgate/spoolgate.ini"
ok $? "a second make install leaves an existing spoolgate.ini as it is"
missing=
for d in README.md DESIGN.md POSTOFFICE.md ROUTER.md SMTPD.md PERFORMANCE.md SPOOLCTL.md ROBUSTNESS.md; do
    [ -f "$ROOT$DOC/$d" ] || missing="$missing $d"
done
[ -z "$missing" ]; ok $? "the docs in docdir${missing:+, missing:$missing}"
# The units: one per daemon, Type=notify, ExecStart on the installed program; and the target.
bad=
for d in store smtpd router gateway; do
    u="$ROOT$UNITS/spoolgate-$d.service"
    grep -q '^Type=notify$' "$u" && grep -q "^ExecStart=$SBIN/spoolgate-$d -f -c $ETC/spoolgate/spoolgate.ini$" "$u" &&
        grep -q '^ExecReload=' "$u" && grep -q '^WantedBy=spoolgate.target$' "$u" || bad="$bad $d"
done
[ -f "$ROOT$UNITS/spoolgate.target" ] || bad="$bad target"
[ -z "$bad" ]; ok $? "a Type=notify unit per daemon and spoolgate.target in $UNITS${bad:+, wrong:$bad}"
if command -v systemd-analyze > /dev/null; then
    # verify resolves ExecStart against the real root: point it at the DESTDIR copies.
    mkdir -p "$T_DIR/units"
    for f in "$ROOT$UNITS"/*; do sed "s|=$SBIN/|=$ROOT$SBIN/|" "$f" > "$T_DIR/units/${f##*/}"; done
    SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$T_DIR"/units/* > "$T_DIR/verify.log" 2>&1
    ! grep -v -e 'Failed to setup working directory' -e 'network-online.target' \
        -e 'remote-fs.target' -e 'is not a valid unit' -e '^$' "$T_DIR/verify.log" | grep -q .
    ok $? "systemd-analyze verify finds nothing wrong with the units"
    diag < "$T_DIR/verify.log"
else
    ok 0 "# SKIP systemd-analyze not found (structural check above)"
fi
bad=
for p in $PROGS; do
    out=$("$ROOT$SBIN/$p" --version) && [ "$out" = "$p (spoolgate) $(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$B/build-config.h")" ] || bad="$bad $p"
done
[ -z "$bad" ]; ok $? "--version on every program, exit 0, the configure version${bad:+, wrong:$bad}"
# The sendmail links: only on request, to spoolgate-sendmail; a name another program holds is refused.
[ ! -e "$ROOT$SBIN/sendmail" ] && env -u MAKEFLAGS -u MFLAGS make -s -C "$B" install-sendmail-link DESTDIR="$ROOT" > "$T_DIR/link.log" 2>&1 &&
    [ "$(readlink "$ROOT$SBIN/sendmail")" = "$SBIN/spoolgate-sendmail" ] && [ "$(readlink "$ROOT$BIN/mailq")" = "$SBIN/spoolgate-sendmail" ] &&
    rm "$ROOT$SBIN/sendmail" && echo other > "$ROOT$SBIN/sendmail" &&
    ! env -u MAKEFLAGS -u MFLAGS make -s -C "$B" install-sendmail-link DESTDIR="$ROOT" > "$T_DIR/link2.log" 2>&1 &&
    grep -q '^other$' "$ROOT$SBIN/sendmail"
ok $? "make install-sendmail-link (not make install) links sendmail and mailq; another sendmail is kept"
# spoolgate-config's exit codes: 78 with file:line for a refused config, 64 for usage.
printf '[store]\ncache_size = 12q\n' > "$T_DIR/bad.ini"
"$ROOT$SBIN/spoolgate-config" -c "$T_DIR/bad.ini" > /dev/null 2> "$T_DIR/bad.err"; rc=$?
"$ROOT$SBIN/spoolgate-config" -n -d > /dev/null 2>&1; rc2=$?
[ $rc -eq 78 ] && grep -q "bad.ini:2: store.cache_size" "$T_DIR/bad.err" && [ $rc2 -eq 64 ]
ok $? "spoolgate-config: 78 and file:line for a bad config ($rc), 64 for a usage error ($rc2)"
# A detached router whose transport map is broken: the starter exits non-zero naming the file.
printf 'example.org smtp:[127.0.0.1:25\n' > "$T_DIR/badmap"
write_config "$(printf '[router]\ntransport_map = %s\n' "$T_DIR/badmap")"
"$B/router/spoolgate-router" -c "$T_CONFIG" $SG_ROOT_FLAG > "$T_DIR/router.out" 2> "$T_DIR/router.err"; rc=$?
[ $rc -ne 0 ] && grep -q "$T_DIR/badmap:1" "$T_DIR/router.err"
ok $? "a detached router with a broken transport map exits $rc, stderr names the file"
diag < "$T_DIR/router.err"
[ $T_FAILED -eq 0 ]
