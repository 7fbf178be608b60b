#!/bin/sh
# postoffice-sim.sh - the postoffice simulator (tests/postoffice_sim.py): tree, delivery, P1/BAD, send, broken files.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
SIM="$top_srcdir/tests/postoffice_sim.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/spoolgate-posim.XXXXXX") || exit 1
R="$T/share"
T_NUM=0
T_FAILED=0
LOOP_PID=

cleanup() {
    if [ -n "$LOOP_PID" ]; then kill -9 "$LOOP_PID" 2>/dev/null; wait "$LOOP_PID" 2>/dev/null; fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

plan() { echo "1..$1"; }
ok() {
    T_NUM=$((T_NUM + 1))
    if [ "$1" -eq 0 ]; then echo "ok $T_NUM - $2"; else echo "not ok $T_NUM - $2"; T_FAILED=$((T_FAILED + 1)); fi
}
sim() { python3 "$SIM" "$@"; }
# p1check FILE PYTHON: run PYTHON with h, body = parse_p1(FILE's bytes).
p1check() {
    python3 -c "import sys
sys.path.insert(0, sys.argv[1])
from postoffice_sim import parse_p1
h, body = parse_p1(open(sys.argv[2], 'rb').read())
$2" "$top_srcdir/tests" "$1"
}
# p1rejects FILE: parse_p1 raises ValueError (and nothing else) on FILE.
p1rejects() {
    python3 -c "import sys
sys.path.insert(0, sys.argv[1])
from postoffice_sim import parse_p1
try:
    parse_p1(open(sys.argv[2], 'rb').read())
except ValueError as e:
    print('# rejected:', e)
    sys.exit(0)
sys.exit(1)" "$top_srcdir/tests" "$1"
}

plan 29

# ---- create ---------------------------------------------------------------
sim create "$R" --network CORPNET --postoffice HQPO \
    --mailbox JSMITH:"John Smith" --mailbox ADOE:"Ann Doe" --mailbox BOB > "$T/create.out" 2>&1
ok $? "create makes a postoffice with 3 mailboxes"
printf 'NETWORK=CORPNET\r\nPOSTOFFICE=HQPO\r\n' > "$T/network.want"
cmp -s "$T/network.want" "$R/GLB/NETWORK.GLB"; ok $? "GLB/NETWORK.GLB is exactly NETWORK= and POSTOFFICE= with CRLF"
printf 'JSMITH\tJohn Smith\r\nADOE\tAnn Doe\r\nBOB\tBOB\r\n' > "$T/address.want"
cmp -s "$T/address.want" "$R/GLB/ADDRESS.GLB"; ok $? "GLB/ADDRESS.GLB is exactly MAILBOX<TAB>Display Name with CRLF"
test -d "$R/P1" && test -d "$R/OUT" && test -d "$R/OUT/BAD" &&
    test -d "$R/MAI/JSMITH" && test -d "$R/MAI/ADOE" && test -d "$R/MAI/BOB"
ok $? "P1/, OUT/, OUT/BAD/ and MAI/<BOX>/ exist"
sim create "$R" --network CORPNET --postoffice HQPO --mailbox X > /dev/null 2>&1
test $? -eq 1; ok $? "create refuses a root that already holds a postoffice"

# ---- deliver --------------------------------------------------------------
# The message carries a bare LF and a trailing line without CRLF: it must
# still come out byte for byte.
printf 'Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\nFrom: Alice <alice@example.org>\r\nTo: jsmith@hq.example, adoe@hq.example\r\nSubject: Hello\r\n\r\nLine one\r\nbare\nLF\r\n\r\nno final newline' > "$T/m1.msg"
printf 'P1-Version: 1\r\nMessage-Id: <m1@example.org>\r\nFrom: SMTP:alice@example.org\r\nTo: MS:CORPNET/HQPO/JSMITH\r\nTo: MS:CORPNET/HQPO/ADOE\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\nSubject: Hello\r\n\r\n' > "$T/m1.env"
cat "$T/m1.env" "$T/m1.msg" > "$R/P1/0000A001.P1"
cp "$R/P1/0000A001.P1" "$R/P1/0000A009.TMP"
sim deliver "$R" --once > "$T/deliver1.out" 2>&1; ok $? "deliver --once exits 0"
sed 's/^/# /' "$T/deliver1.out"
test ! -e "$R/P1/0000A001.P1"; ok $? "the delivered P1 file is removed"
cmp -s "$T/m1.msg" "$R/MAI/JSMITH/1.MSG"; ok $? "JSMITH/1.MSG is the message byte for byte"
cmp -s "$T/m1.msg" "$R/MAI/ADOE/1.MSG"; ok $? "ADOE/1.MSG is the message byte for byte"
cmp -s "$T/m1.env" "$R/MAI/JSMITH/1.ENV" && cmp -s "$T/m1.env" "$R/MAI/ADOE/1.ENV"
ok $? "each <n>.ENV holds the control lines"
test -z "$(ls "$R/MAI/BOB")"; ok $? "the third mailbox got nothing"
test "$(grep -c '^delivered 0000A001.P1 to MS:CORPNET/HQPO/' "$T/deliver1.out")" -eq 2 &&
    grep -q '^removed 0000A001.P1$' "$T/deliver1.out"
ok $? "deliver prints one line per action"
test -f "$R/P1/0000A009.TMP" && ! grep -q 0000A009 "$T/deliver1.out"; ok $? "a .TMP file in P1/ is ignored"
sim show "$R" JSMITH 1 > "$T/show.out" && cmp -s "$T/m1.msg" "$T/show.out"; ok $? "show prints the message exactly"

cat "$T/m1.env" "$T/m1.msg" > "$R/P1/0000A002.P1"
sim deliver "$R" --once > /dev/null 2>&1
cmp -s "$T/m1.msg" "$R/MAI/JSMITH/2.MSG" && test ! -e "$R/MAI/JSMITH/3.MSG"; ok $? "the next message is filed as 2.MSG"

sed 's|To: MS:CORPNET/HQPO/ADOE|To: MS:CORPNET/HQPO/NOSUCH|' "$R/P1/0000A009.TMP" > "$R/P1/0000A003.P1"
sim deliver "$R" --once > "$T/deliver3.out" 2>&1
test -f "$R/P1/BAD/0000A003.P1" && test ! -e "$R/P1/0000A003.P1"; ok $? "a file for an unknown mailbox goes to P1/BAD/"
grep -q 'unknown mailbox MS:CORPNET/HQPO/NOSUCH' "$R/P1/BAD/0000A003.WHY"; ok $? "P1/BAD/<name>.WHY gives the reason"
test ! -e "$R/MAI/JSMITH/3.MSG"; ok $? "nothing of it is delivered to the known recipient"

printf 'P1-Version: 1\r\nFrom: SMTP:alice@example.org\r\n\r\nx' > "$R/P1/0000A004.P1"
sim deliver "$R" --once > /dev/null 2>&1
test -f "$R/P1/BAD/0000A004.P1" && grep -q 'does not parse' "$R/P1/BAD/0000A004.WHY"
ok $? "a file that does not parse goes to P1/BAD/ too"

# python3 itself, not the sim function: $! must be the simulator's pid.
python3 "$SIM" deliver "$R" --interval 0.1 > "$T/loop.out" 2>&1 &
LOOP_PID=$!
cat "$T/m1.env" "$T/m1.msg" > "$T/0000A005.TMP" && mv "$T/0000A005.TMP" "$R/P1/0000A005.P1"
for _ in $(seq 1 50); do [ -e "$R/P1/0000A005.P1" ] || break; sleep 0.1; done
cmp -s "$T/m1.msg" "$R/MAI/ADOE/3.MSG"; ok $? "deliver --interval picks up a file dropped while it runs"
kill -TERM "$LOOP_PID"; wait "$LOOP_PID"; rc=$?; LOOP_PID=
test "$rc" -eq 0 && grep -q '^stopped$' "$T/loop.out"; ok $? "deliver --interval stops cleanly on SIGTERM"

# ---- send -----------------------------------------------------------------
N=$(sim send "$R" --from JSMITH --to SMTP:carol@example.com --to SMTP:dave@example.net \
    --subject "Report" --body "Hello Carol,
here it is." --message-id "<s1@hq.example>" 2> "$T/send.err")
ok $? "send exits 0 (printed '$N')"
set -- "$R"/OUT/*.TMP
echo "$N" | grep -Eq '^[0-9A-F]{8}\.P1$' && test -f "$R/OUT/$N" && test ! -e "$1"
ok $? "send leaves OUT/<8 hex>.P1 and no .TMP"
p1check "$R/OUT/$N" "
d = {}
for n, v in h:
    d.setdefault(n, []).append(v)
assert d['P1-Version'] == ['1'], d
assert d['From'] == ['MS:CORPNET/HQPO/JSMITH'], d
assert d['To'] == ['SMTP:carol@example.com', 'SMTP:dave@example.net'], d
assert d['Message-Id'] == ['<s1@hq.example>'] and d['Subject'] == ['Report'], d
head, _, text = body.partition(b'\r\n\r\n')
names = [l.split(b':')[0] for l in head.split(b'\r\n')]
for want in (b'Date', b'Message-ID', b'From', b'To', b'Subject'):
    assert want in names, (want, names)
assert b'\n' not in body.replace(b'\r\n', b''), 'bare LF'
assert text == b'Hello Carol,\r\nhere it is.\r\n', text
"
ok $? "the sent file parses: P1-Version, From: MS:, To: per recipient, RFC 5322 message with CRLF"
N2=$(sim send "$R" --from ADOE --to SMTP:carol@example.com)
test -n "$N2" && test "$N2" != "$N" && test -f "$R/OUT/$N2"; ok $? "a second send gets another name ($N2)"
sim send "$R" --from ADOE --to SMTP:carol@example.com --name "${N%.P1}" > /dev/null 2>&1
test $? -eq 1; ok $? "send --name refuses a name already on the share"

# ---- bad ------------------------------------------------------------------
fails=
for kind in missing-headers bad-address truncated binary lf-only no-to; do
    B=$(sim bad "$R" "$kind") && test -f "$R/OUT/$B" && p1rejects "$R/OUT/$B" || fails="$fails $kind"
done
test -z "$fails"; ok $? "every bad KIND makes an OUT/ file that parse_p1 rejects${fails:+ (failed:$fails)}"

# ---- list -----------------------------------------------------------------
sim list "$R" > "$T/list.out"
printf 'MAI/JSMITH 3\nMAI/ADOE 3\nMAI/BOB 0\nP1 0\nP1/BAD 2\nOUT 8\nOUT.GWK 0\nOUT/BAD 0\n' > "$T/list.want"
cmp -s "$T/list.want" "$T/list.out" || { sed 's/^/# /' "$T/list.out"; false; }
ok $? "list counts the mailboxes and the transfer directories"

sim show "$R" BOB 1 > /dev/null 2>&1
test $? -eq 1; ok $? "show of a missing message exits 1"

exit $((T_FAILED > 0))
