#!/bin/sh
# least-privilege.sh - started as root, each daemon runs as its own user; internal sockets serve each role only its capabilities.
. "$(dirname "$0")/lib.sh"
PROBE="python3 $top_srcdir/tests/integration/ipc_caps_probe.py"
SAY="python3 $top_srcdir/tests/integration/smtp_say.py"

if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root: it creates the daemon users and binds a port below 1024"
    exit 0
fi
plan 40

"$top_srcdir/scripts/add-users" > "$T_DIR/add-users.out" 2>&1 && "$top_srcdir/scripts/add-users" > /dev/null 2>&1
ok $? "scripts/add-users creates the users and group, and runs again without harm"
for r in store smtpd router gateway; do id -nG "spoolgate-$r" | tr ' ' '\n' | grep -qx spoolgate || break; done
ok $? "each daemon user is a member of the group spoolgate"

# The daemons must reach their state below T_DIR (mktemp makes it 0700).
chmod 755 "$T_DIR"
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH:"John Smith" > /dev/null
chown -R spoolgate-gateway: "$T_SHARE"
start_peer sink sink
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT" "[gateway]
share = $T_SHARE
poll_interval = 1s"
# A port below 1024 for submission: bound as root, served after the drop.
LOW_PORT=$(python3 -c '
import random, socket
for p in random.sample(range(600, 1000), 400):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: s.close()')
sed -i "s/^submission_listen = .*/submission_listen = 127.0.0.1:$LOW_PORT/" "$T_CONFIG"

# An earlier run as root (--allow-root) leaves root's files in the store directory.
start_store; stop_store
test "$(stat -c %U "$T_DIR/store/__db.001" 2>/dev/null || stat -c %U "$T_DIR/store")" = root
ok $? "a store run with --allow-root left files owned by root"

SG_ROOT_FLAG=
start_store; ok $? "spoolgate-store starts as root without --allow-root"
start_smtpd; ok $? "spoolgate-smtpd starts"
start_router; ok $? "spoolgate-router starts"
start_gateway && wait_for 10 grep -q "postoffice directory ready" "$T_SMTPD_LOG" &&
    wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
ok $? "spoolgate-gateway starts, and smtpd and the router reach it"

# proc_ids PID: "uid euid suid fsuid / gid egid sgid fsgid / groups / CapEff / NoNewPrivs"
proc_ids() {
    awk '/^Uid:/{u=$2" "$3" "$4" "$5} /^Gid:/{g=$2" "$3" "$4" "$5} /^Groups:/{$1=""; gr=$0}
         /^CapEff:/{c=$2} /^NoNewPrivs:/{n=$2} END{print u" / "g" /"gr" / "c" / "n}' "/proc/$1/status"
}
for r in store smtpd router gateway; do
    eval "pid=\$$(echo $r | tr a-z A-Z)_PID"
    u=$(id -u "spoolgate-$r") g=$(id -g "spoolgate-$r") ipc=$(getent group spoolgate | cut -d: -f3)
    groups=$(printf '%s\n%s\n' "$g" "$ipc" | sort -n | tr '\n' ' ' | sed 's/ $//')
    got=$(proc_ids "$pid")
    got_groups=$(echo "$got" | cut -d/ -f3 | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ' | sed 's/ $//')
    want="$u $u $u $u / $g $g $g $g"
    case "$got" in "$want /"*" / 0000000000000000 / 1")
        test "$got_groups" = "$groups"; ok $? "spoolgate-$r runs as spoolgate-$r ($got)";;
    *) ok 1 "spoolgate-$r runs as spoolgate-$r: want $want, groups $groups, no capabilities, no new privileges (got: $got)";;
    esac
done
grep -q "running as user spoolgate-smtpd" "$T_SMTPD_LOG"; ok $? "smtpd logs the user it runs as"
greets "$LOW_PORT" 220; ok $? "smtpd serves port $LOW_PORT, bound before the drop"

test "$(stat -c '%U %a' "$T_DIR/store")" = "spoolgate-store 700"
ok $? "the store directory is the store user's alone ($(stat -c '%U %a' "$T_DIR/store"))"
test -z "$(find "$T_DIR/store" ! -user spoolgate-store)"
ok $? "every file in it, also those the root run left, is the store user's ($(find "$T_DIR/store" ! -user spoolgate-store | head -3 | tr '\n' ' '))"
test "$(stat -c '%U:%G %a' "$T_DIR/run")" = "spoolgate-store:spoolgate 751"; ok $? "run/ is spoolgate-store:spoolgate 0751"
test "$(stat -c '%U:%G %a' "$T_DIR/run/store.sock")" = "spoolgate-store:spoolgate 660"; ok $? "store.sock is spoolgate-store:spoolgate 0660"
test "$(stat -c '%U:%G %a' "$T_DIR/run/submit.sock")" = "spoolgate-store:spoolgate 666"; ok $? "submit.sock is 0666"
test "$(stat -c '%U:%G %a' "$T_DIR/run/gateway.sock")" = "spoolgate-gateway:spoolgate 660"; ok $? "gateway.sock is spoolgate-gateway:spoolgate 0660"

# Mail both ways, every daemon working as its own user.
printf 'Subject: one\n\nto the sink\n' | send_mail a@sender.test bob@sender.test > /dev/null
peer_got sink bob@sender.test; ok $? "SMTP in -> store -> router -> the SMTP peer"
printf 'Subject: two\n\nto the postoffice\n' | send_mail a@sender.test "jsmith@$T_PO_DOMAIN" > /dev/null
wait_for 15 sh -c "ls '$T_SHARE'/P1/*.P1 2>/dev/null | grep -q ."
ok $? "SMTP in -> gateway -> a transfer file in P1/"
test "$(stat -c %U "$(ls "$T_SHARE"/P1/*.P1 | head -1)")" = spoolgate-gateway; ok $? "written as spoolgate-gateway"
$PO_SIM send "$T_SHARE" --from JSMITH --to SMTP:carol@sender.test --subject out --body "from the postoffice" \
    --domain "$T_PO_DOMAIN" > /dev/null
chown -R spoolgate-gateway: "$T_SHARE/OUT"
peer_got sink carol@sender.test; ok $? "OUT/ -> gateway -> store -> router -> the SMTP peer"
test "$(stat -c %U "$T_DIR/gateway/gateway.journal" 2>/dev/null)" = spoolgate-gateway
ok $? "the gateway's journal is in its own directory, as its user"
test "$(stat -c '%U %a' "$T_DIR/router" 2>/dev/null)" = "spoolgate-router 700"
ok $? "the router's state directory (kept outcomes) is its user's alone"
# (a copy: the build tree may be below a directory nobody cannot search)
mkdir -m 755 "$T_DIR/bin" && cp "$SENDMAIL" "$T_DIR/bin/" && chmod 755 "$T_DIR/bin/spoolgate-sendmail"
printf 'Subject: three\n\nlocal\n' | setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$T_DIR/bin/spoolgate-sendmail" -s "$T_DIR/run/submit.sock" -f nobody@sender.test dave@sender.test \
    > "$T_DIR/sendmail.out" 2>&1
ok $? "any local user (nobody) submits through submit.sock ($(head -1 "$T_DIR/sendmail.out"))"

# Authorization on the internal sockets: file mode first, then SO_PEERCRED per role.
probe() { $PROBE "$@" 2>&1 | head -1; }
case "$(probe --as nobody "$T_SOCKET" list)" in "CONNECT-REFUSED Permission denied"*) ok 0 "nobody cannot connect to store.sock";;
    *) ok 1 "nobody cannot connect to store.sock (got: $(probe --as nobody "$T_SOCKET" list))";; esac
case "$(probe --as nobody "$T_DIR/run/gateway.sock" directory)" in "CONNECT-REFUSED Permission denied"*) ok 0 "nobody cannot connect to gateway.sock";;
    *) ok 1 "nobody cannot connect to gateway.sock";; esac
out=$(probe --as-ids "$(id -u nobody):$(id -g nobody):spoolgate" "$T_SOCKET" submit)
case "$out" in "HELLO-REFUSED "*"may not use this socket"*) ok 0 "a uid of no daemon, even in group spoolgate, is refused by SO_PEERCRED";;
    *) ok 1 "a uid of no daemon in group spoolgate is refused (got: $out)";; esac
# expect_caps WHO SOCKET CAPS WANT: WANT is ok (hello accepted) or no (refused for that capability).
expect_caps() {
    out=$(probe --as "spoolgate-$1" "$2" "$3")
    case "$4:$out" in ok:HELLO-OK|no:"HELLO-REFUSED "*"may not have capability"*) ok 0 "spoolgate-$1 asking for '$3' on $(basename "$2"): $4";;
        *) ok 1 "spoolgate-$1 asking for '$3' on $(basename "$2"): want $4 (got: $out)";; esac
}
expect_caps smtpd "$T_SOCKET" submit ok
expect_caps smtpd "$T_SOCKET" admin no
expect_caps smtpd "$T_SOCKET" read no
expect_caps smtpd "$T_SOCKET" list no
expect_caps router "$T_SOCKET" read,update,list,due,events,submit ok
expect_caps router "$T_SOCKET" admin no
expect_caps gateway "$T_SOCKET" update no
expect_caps smtpd "$T_DIR/run/gateway.sock" deliver no
expect_caps router "$T_DIR/run/gateway.sock" directory no
grep -q "uid $(id -u spoolgate-smtpd) may not have capability 'admin'" "$T_STORE_LOG"
ok $? "the store logs the refusal with the client's uid"

# Refuse root without the users (and without --allow-root): loudly, on stderr, before anything.
sed '0,/^\[global\]$/s//[global]\nsmtpd_user = no-such-user-sg/' "$T_CONFIG" > "$T_DIR/nouser.ini"
"$SMTPD_BIN" -c "$T_DIR/nouser.ini" --foreground > "$T_DIR/nouser.out" 2>&1
rc=$?
test "$rc" = 1 && grep -q "will not run as root: user 'no-such-user-sg' (global.smtpd_user) does not exist" "$T_DIR/nouser.out"
ok $? "with no such user smtpd refuses to run as root and says why (exit $rc: $(head -1 "$T_DIR/nouser.out"))"
