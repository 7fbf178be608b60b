#!/bin/sh
# repl-hosts.sh - the replicated store across hosts, as far as one machine goes: each site in its own network namespace (its own network stack and address, the same ports), the clients in another, one bridge between; IPC over TCP with mutual TLS; under steady SMTP load the master's host is cut off the network and joined again (issue 21).

# Outside: the namespaces are made (root only), and this script runs again inside the clients'.
if [ -z "${SG_HOSTS_NS:-}" ]; then
    NS="sgh$$"
    if [ "$(id -u)" != 0 ] || ! command -v ip > /dev/null || ! ip netns add "${NS}sw" 2> /dev/null; then
        echo "1..0 # SKIP network namespaces need root and iproute2 ($(id -un))"
        exit 0
    fi
    hosts_down() { for h in sw c a b c3; do ip netns del "$NS$h" 2> /dev/null; done; }
    trap hosts_down EXIT INT TERM
    ip -n "${NS}sw" link add br0 type bridge && ip -n "${NS}sw" link set br0 up || exit 1
    n=0
    for h in a b c3 c; do
        n=$((n + 1))
        addr=10.231.0.$n
        [ "$h" = c ] && addr=10.231.0.10
        ip netns add "$NS$h" && ip -n "$NS$h" link set lo up &&
            ip link add "$NS$h-a" type veth peer name "$NS$h-b" &&
            ip link set "$NS$h-a" netns "$NS$h" && ip link set "$NS$h-b" netns "${NS}sw" &&
            ip -n "${NS}sw" link set "$NS$h-b" master br0 up &&
            ip -n "$NS$h" addr add "$addr/24" dev "$NS$h-a" && ip -n "$NS$h" link set "$NS$h-a" up ||
            exit 1
    done
    SG_HOSTS_NS=$NS ip netns exec "${NS}c" sh "$0"
    exit $?
fi

. "$(dirname "$0")/lib.sh"
REPL_SITES="a b c"
. "$(dirname "$0")/repl_lib.sh"
SEND="python3 $top_srcdir/tests/integration/repl_send.py"
NS=$SG_HOSTS_NS

# Site a on host 10.231.0.1, b on .2, c on .3 (its namespace is c3: c is the clients'); every
# site on the same ports, as on three machines.
host_ns() { case $1 in a) echo "${NS}a" ;; b) echo "${NS}b" ;; c) echo "${NS}c3" ;; esac; }
host_ip() { case $1 in a) echo 10.231.0.1 ;; b) echo 10.231.0.2 ;; c) echo 10.231.0.3 ;; esac; }
host_start() {
    h_w=${SG_DAEMON_WRAPPER:-}
    SG_DAEMON_WRAPPER="ip netns exec $(host_ns "$1") $h_w"
    repl_start "$1"
    SG_DAEMON_WRAPPER=$h_w
}
host_link() { ip -n "$(host_ns "$1")" link set "$(host_ns "$1")-a" "$2"; }

plan 13
make_ca ca && make_cert mx mx.test "DNS:mx.test,IP:10.231.0.1,IP:10.231.0.2,IP:10.231.0.3" ||
    bail "openssl: no certificates"
TLS_KEYS="ipc_tls_cert = $T_DIR/mx.pem
ipc_tls_key = $T_DIR/mx.key
ipc_tls_ca = $T_DIR/ca.pem"
REPL_GROUP= REPL_IPC= list=
for s in $REPL_SITES; do
    REPL_GROUP="$REPL_GROUP $s=$(host_ip "$s"):7001"
    REPL_IPC="$REPL_IPC $s=tcp:$(host_ip "$s"):2790"
    list="$list tcp:$(host_ip "$s"):2790"
done
for s in $REPL_SITES; do
    repl_write_site "$s" "ipc_listen = $(host_ip "$s"):2790
ipc_tls_peers = mx.test=smtpd mx.test=router mx.test=admin
[global]
$TLS_KEYS"
    host_start "$s"
done
wait_for 60 repl_master; ok $? "three sites on three network stacks (10.231.0.1-3, same ports): $(repl_master) elected master"
m=$(repl_master)

start_peer sink sink || bail "the sink does not start"
write_router_config "ok.test smtp:[127.0.0.1]:$sink_PORT tls=none" "retry_first = 1s
retry_max = 2s
[smtpd]
store_wait_timeout = 5s
[global]
store =$list
$TLS_KEYS"
start_smtpd || bail "smtpd does not start"
start_router || bail "the router does not start"
smtpd_pid=$SMTPD_PID router_pid=$ROUTER_PID
wait_for 10 grep -qE "client 10\.231\.0\.10:[0-9]+ cert mx\.test spoolgate-router/router: connected" "$T_DIR/store-$m.log"
ok $? "the router on the clients' host (10.231.0.10) reached master $m over TCP with its certificate"

$SEND "$SMTP_PORT" 20 before > "$T_DIR/sent.out"
test "$(grep -c ' 250 ' "$T_DIR/sent.out")" = 20; ok $? "20 messages get 250 through master $m"
"$SPOOLCTL" -c "$T_CONFIG" repl > "$T_DIR/repl.out" 2>&1
[ "$(grep -c ' connected' "$T_DIR/repl.out")" = 6 ] && grep -q "^site $m .*: master" "$T_DIR/repl.out"; r=$?
[ $r = 0 ] || diag < "$T_DIR/repl.out"
ok $r "spoolctl repl from the clients' host: every site connected to the two others over the network"

# Steady load from here until the group has one master again: runs of 40 messages over 4
# sessions, each run its own tag; every 250 is one line in $T_DIR/accepted.
repl_load_start l 4 0.2
wait_for 30 sh -c "[ -s '$T_DIR/accepted' ]" || bail "the load gets no 250"

# The master's host drops off the network: no RST, no FIN; its peers hear nothing more.
host_link "$m" down
new=$(repl_new_master "$m")
test -n "$new"; ok $? "master $m cut off the network: the two others elect $new"
# What smtpd had open to the lost master hangs, and a session on it fails; new connections
# reach $new (the hello timeout, then the list or the master a site names).
wait_for 40 sh -c "$SEND $SMTP_PORT 1 probe 10 | grep -q ' 250 '"
ok $? "smtpd accepts again, through $new, with $m unreachable"
$SEND "$SMTP_PORT" 10 cut 15 >> "$T_DIR/sent.out"
test "$(grep -c '^cut-.* 250 ' "$T_DIR/sent.out")" -ge 5
ok $? "mail flows while $m is cut off ($(grep -c '^cut-.* 250 ' "$T_DIR/sent.out") of 10 got 250)"
# The router's connections to the lost master hang with requests in flight: the kernel gives
# them up (ipc_tcp.c: keepalive, user timeout) and the router goes on to the new master.
cut_delivered() {
    grep '^cut-.* 250 ' "$T_DIR/sent.out" | awk '{ print $1 }' | sort -u > "$T_DIR/cut.acked"
    grep -h '^token cut-' "$T_DIR"/sink/*.eml 2> /dev/null | tr -d '\r' | awk '{ print $2 }' | sort -u > "$T_DIR/cut.got"
    [ "$(comm -23 "$T_DIR/cut.acked" "$T_DIR/cut.got" | wc -l)" = 0 ]
}
wait_for 60 cut_delivered; r=$?
grep "mail store unavailable (tcp:$(host_ip "$m"):2790)" "$T_ROUTER_LOG" | tail -1 | diag
ok $r "with $m still cut off, the router left its dead connections, reached $new and delivered that mail"

# Joined again: the old master learns of the new one and steps down (exit 76); the supervisor
# (here: this loop) starts every site that exited.
host_link "$m" up
for _ in $(seq 1 300); do
    p=$(repl_pid "$m")
    kill -0 "$p" 2> /dev/null || break
    sleep 0.1
done
repl_restart_exited "after the network came back" host_start
mm=
for _ in $(seq 1 600); do mm=$(repl_master) && [ "$(repl_masters)" = 1 ] && break; mm=; sleep 0.1; done
test -n "$mm"; ok $? "back on the network: one master ($mm)"
# Through the cut and the return the load gets 451 while no master serves (never a 250 that is
# lost, checked below); once one serves, its 250s come again.
n0=$(wc -l < "$T_DIR/accepted")
wait_for 60 sh -c "[ \$(wc -l < '$T_DIR/accepted') -ge $((n0 + 40)) ]"; r=$?
repl_load_stop
refused=$(awk '{ s += $6 } END { print s + 0 }' "$T_DIR/load.out")
ok $r "the load (4 sessions) goes on: $(wc -l < "$T_DIR/accepted") accepted with 250, $n0 of them by the time the group had one master again; $refused refused (4xx) while none served"

delivered() {
    { awk '$2 == 250 { print $1 }' "$T_DIR/sent.out"; cut -d' ' -f1 "$T_DIR/accepted"; } | sort -u > "$T_DIR/acked"
    grep -h '^token ' "$T_DIR"/sink/*.eml 2> /dev/null | tr -d '\r' | awk '{ print $2 }' | sort > "$T_DIR/got.all"
    sort -u "$T_DIR/got.all" > "$T_DIR/got"
    [ "$(comm -23 "$T_DIR/acked" "$T_DIR/got" | wc -l)" = 0 ]
}
wait_for 90 delivered; r=$?
[ $r = 0 ] || comm -23 "$T_DIR/acked" "$T_DIR/got" | head | diag
echo "# $(wc -l < "$T_DIR/acked") got 250, $(wc -l < "$T_DIR/got") delivered, $(($(wc -l < "$T_DIR/got.all") - $(wc -l < "$T_DIR/got"))) twice"
ok $r "every message that got 250 (one at a time and under the load), before, during and after the cut, reached the sink"
# Mail delivered without a 250 is allowed only where the outcome was open when the client was
# answered: the cut fell after the master sent the commit to the others and before their acks, or
# its answer, came back. Then smtpd tells the client 451 (the store connection timed out, or the
# store took the commit back for want of a quorum in time, not knowing a replica had it), and the
# client's retry makes the one duplicate SMTP allows (RFC 5321 6.1). Mail smtpd was told was
# refused, or never handed to the store, must never be delivered.
grep -h 'mail store failed: ' "$T_SMTPD_LOG" | grep -v 'failed: cannot connect\|failed: not master' \
    | sed -n 's/.*session [0-9]*: \([0-9A-Z]*\): mail store failed: .*/\1/p' > "$T_DIR/open.qid"
grep -h 'committed but not acknowledged by a quorum' "$T_DIR"/store-*.log \
    | sed -n 's/.* \([0-9A-Z]*\): committed but .*/\1/p' >> "$T_DIR/open.qid"
sort -u -o "$T_DIR/open.qid" "$T_DIR/open.qid"
for f in "$T_DIR"/sink/*.eml; do
    tok=$(grep -m1 '^token ' "$f" | tr -d '\r' | awk '{ print $2 }')
    qid=$(grep -m1 -o 'with E*SMTP id [0-9A-Z]*' "$f" | awk '{ print $4 }')
    echo "$tok $qid"
done | sort -u > "$T_DIR/got.qid"
open=0 extra=0
for tok in $(comm -13 "$T_DIR/acked" "$T_DIR/got" | grep -v '^probe-'); do
    qid=$(awk -v t="$tok" '$1 == t { print $2; exit }' "$T_DIR/got.qid")
    if [ -n "$qid" ] && grep -qx "$qid" "$T_DIR/open.qid"; then
        open=$((open + 1))
    else
        extra=$((extra + 1))
        echo "delivered, never acknowledged, outcome not open: $tok $qid" | diag
    fi
done
test "$extra" = 0
ok $? "nothing delivered that got no 250 ($extra), but $open whose outcome the cut left open (451 after the store connection timed out, or a commit taken back for want of a quorum in time that a replica had)"
test "$SMTPD_PID" = "$smtpd_pid" && kill -0 "$smtpd_pid" && test "$ROUTER_PID" = "$router_pid" && kill -0 "$router_pid"
ok $? "smtpd and the router were never restarted"
stop_router; stop_smtpd; repl_stop_all
