#!/bin/sh
# smtpd-parked.sh - 1 000 sessions parked in DATA/BDAT: spoolctl, spoolgate-sendmail, the router and new mail still work, smtpd's store connections stay within max_store_connections.
. "$(dirname "$0")/lib.sh"
# 1 000 client sockets here and as many in smtpd.
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 4096 ] || ulimit -n 4096 2>/dev/null ||
    bail "needs 4096 file descriptors (ulimit -n is $(ulimit -n))"
PARKED="python3 $top_srcdir/tests/integration/smtp_parked.py"
export SG_SOURCES="127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4"

plan 21
start_peer sink sink
write_router_config "local.test smtp:[127.0.0.1]:$sink_PORT
sender.test smtp:[127.0.0.1]:$sink_PORT" "[store]
max_clients = 40
reserved_clients = 8
[smtpd]
max_store_connections = 16
store_wait_timeout = 2s
max_sessions_per_client = 2000"
start_mail_path
export_smtp_env

# smtpd_unix: smtpd's Unix sockets: its store connections, its monitor link, the gateway link.
smtpd_unix() { $PARKED unix "$SMTPD_PID"; }
BOUND=$((16 + 2))

# checks TAG NAME: admin, local submission, the router and a fresh SMTP client, with sessions parked.
checks() {
    tag=$1; shift
    "$SPOOLCTL" -s "$T_SOCKET" list > "$T_DIR/list.$tag" 2>&1; ok $? "$1: spoolctl list works"
    "$SPOOLCTL" -s "$T_SOCKET" stats > "$T_DIR/stats.$tag" 2>&1; ok $? "$1: spoolctl stats works"
    printf 'Subject: local %s\n\nhi\n' "$1" | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test "local-$tag@local.test" > "$T_DIR/sendmail.$tag" 2>&1
    ok $? "$1: spoolgate-sendmail submits"
    peer_got sink "local-$tag@local.test"; ok $? "$1: the router delivers that message to the sink"
    n=$(smtpd_unix); [ "$n" -le "$BOUND" ]; ok $? "$1: smtpd holds $n Unix sockets (at most $BOUND)"
}

rm -f "$T_DIR/release1"
$PARKED park data0:400,small:588,big:6,bdat:6 "$T_DIR/release1" > "$T_DIR/park1.tap" 2>&1 &
PARK1=$!; T_BG_PIDS="$T_BG_PIDS $PARK1"
wait_for 60 grep -q '^# parked' "$T_DIR/park1.tap" || bail "the sessions could not be parked"
grep -q '^ok 1 ' "$T_DIR/park1.tap"; ok $? "1 000 sessions parked in DATA/BDAT"
grep '^not ok' -A4 "$T_DIR/park1.tap" | diag
checks one "1000 parked"
R=$($PARKED fresh fresh1@local.test 2000)
case "$R" in 250*) ok 0 "a fresh client's mail is accepted: $R";; *) ok 1 "a fresh client's mail is accepted: $R";; esac
peer_got sink fresh1@local.test; ok $? "and delivered"

# Enough sessions with bodies over a chunk that every store connection is taken.
rm -f "$T_DIR/release2"
$PARKED park big:24 "$T_DIR/release2" > "$T_DIR/park2.tap" 2>&1 &
PARK2=$!; T_BG_PIDS="$T_BG_PIDS $PARK2"
wait_for 30 grep -q '^# parked' "$T_DIR/park2.tap" || bail "the second sessions could not be parked"
grep -q '^ok 1 ' "$T_DIR/park2.tap"; ok $? "24 more sessions parked past a chunk of body"
checks two "store connections all taken"
R=$($PARKED fresh fresh2@local.test 2000)
case "$R" in 451\ 4.3.2*) ok 0 "a fresh client gets a clear 4xx: $R";; *) ok 1 "a fresh client gets a clear 4xx: $R";; esac
grep -q "sessions wait for one in turn" "$T_SMTPD_LOG"; ok $? "smtpd logged that sessions wait for a store connection"

touch "$T_DIR/release1" "$T_DIR/release2"
wait "$PARK1" "$PARK2"
grep -q '^ok 2 ' "$T_DIR/park1.tap" && grep -q '^ok 2 ' "$T_DIR/park2.tap"
ok $? "the parked sessions were held open and not answered all along"
grep '^not ok' -A4 "$T_DIR/park1.tap" "$T_DIR/park2.tap" | diag
R=$($PARKED fresh fresh3@local.test 2000)
case "$R" in 250*) ok 0 "once they went, mail is accepted again: $R";; *) ok 1 "once they went, mail is accepted again: $R";; esac
