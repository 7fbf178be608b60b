# lib.sh - helpers for the integration tests: temp state, daemons, TAP output. Sourced, not run.

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
STORE_BIN="$top_builddir/store/spoolgate-store"
SPOOLCTL="$top_builddir/tools/spoolctl"
SENDMAIL="$top_builddir/tools/spoolgate-sendmail"
STORE_LOAD="$top_builddir/tests/integration/store-load"

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/spoolgate-test.XXXXXX")
T_CONFIG="$T_DIR/spoolgate.ini"
T_TRANSPORT="$T_DIR/transport"
T_SOCKET="$T_DIR/run/store.sock"
T_STORE_LOG="$T_DIR/store.log"
T_NUM=0
T_FAILED=0
STORE_PID=

SAN_PATTERN='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:'

cleanup() {
    # Daemons get SIGTERM first so LeakSanitizer can report at exit.
    for pid in ${GATEWAY_PID:-} ${ROUTER_PID:-} $SMTPD_PID $STORE_PID; do kill -TERM "$pid" 2>/dev/null; done
    for pid in ${GATEWAY_PID:-} ${ROUTER_PID:-} $SMTPD_PID $STORE_PID; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    # Helpers started in the background (peers, DNS) are listed in T_BG_PIDS:
    # dash's `jobs` does not see them from inside the trap.
    for pid in ${T_BG_PIDS:-} ${DNS_PID:-} $(jobs -p); do kill -9 "$pid" 2>/dev/null; done
    for pid in ${T_BG_PIDS:-} ${DNS_PID:-}; do wait "$pid" 2>/dev/null; done
    # Sanitizer reports of the daemons go to their logs: bring them into ours.
    for log in "$T_DIR"/*.log; do
        [ -f "$log" ] || continue
        if grep -qE "$SAN_PATTERN" "$log"; then
            echo "# sanitizer report in $(basename "$log"):"
            grep -A30 -E "$SAN_PATTERN" "$log" | sed 's/^/#   /'
            T_FAILED=$((T_FAILED + 1))
            T_SANITIZER=1
        fi
    done
    if [ "$T_FAILED" -ne 0 ]; then
        for log in "$T_DIR"/*.log; do
            [ -f "$log" ] || continue
            echo "# last lines of $(basename "$log"):"
            tail -40 "$log" | sed 's/^/#   /'
        done
    fi
    # A test's own undoing once its daemons are gone (T_CLEANUP: shell code, e.g. an umount).
    [ -z "${T_CLEANUP:-}" ] || eval "$T_CLEANUP"
    # SG_KEEP_TEST_DIR=dir keeps the state and logs of the run for a look afterwards.
    [ -n "${SG_KEEP_TEST_DIR:-}" ] && rm -rf "$SG_KEEP_TEST_DIR" && cp -a "$T_DIR" "$SG_KEEP_TEST_DIR"
    rm -rf "$T_DIR"
    # A sanitizer report fails the script even when every check passed.
    [ -z "${T_SANITIZER:-}" ] || exit 1
}
trap cleanup EXIT

plan() { echo "1..$1"; }
ok() {
    T_NUM=$((T_NUM + 1))
    if [ "$1" -eq 0 ]; then echo "ok $T_NUM - $2"; else echo "not ok $T_NUM - $2"; T_FAILED=$((T_FAILED + 1)); fi
}
diag() { sed 's/^/# /'; }
bail() { echo "Bail out! $*"; exit 1; }

# wait_alive PID SECONDS COMMAND...: until the command succeeds (0); 1 when the
# process PID died or the time ran out.  How every daemon start waits for readiness.
wait_alive() {
    a_pid=$1 a_n=$(( $2 * 10 )); shift 2
    for _ in $(seq 1 "$a_n"); do
        "$@" > /dev/null 2>&1 && return 0
        kill -0 "$a_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# greets PORT PREFIX: a connection to 127.0.0.1:PORT is answered with PREFIX.
greets() {
    python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1', $1), 1); sys.exit(0 if s.recv(100).startswith(b'$2') else 1)"
}

write_config() {
    printf '[global]\nstate_dir = %s\n[store]\ncheckpoint_interval = 1s\n%s' "$T_DIR" "${1:-}" > "$T_CONFIG"
}

# start_store: in the background, logging to $T_STORE_LOG; waits until it answers.
# start_daemon NAME BIN LOG COMMAND...: run BIN on the test config in the foreground, its output
# appended to LOG, NAME_PID its pid; then until COMMAND succeeds (30 s at most, 1 if it died).
# Started as root, a daemon drops to its user (global.*_user) or refuses; the tests run
# them as root with --allow-root unless a test clears SG_ROOT_FLAG (least-privilege.sh).
SG_ROOT_FLAG=
[ "$(id -u)" = 0 ] && SG_ROOT_FLAG=--allow-root

# SG_DAEMON_WRAPPER (e.g. "valgrind --leak-check=full --error-exitcode=99") runs every
# daemon under it, for a one-off run of the suite under a memory checker.
start_daemon() {
    d_name=$1 d_bin=$2 d_log=$3; shift 3
    ${SG_DAEMON_WRAPPER:-} "$d_bin" -c "$T_CONFIG" --foreground $SG_ROOT_FLAG >> "$d_log" 2>&1 &
    eval "${d_name}_PID=$!"
    wait_alive "$!" 30 "$@"
}

# stop_daemon NAME: SIGTERM to NAME_PID, wait for it, forget it.
stop_daemon() {
    eval "d_pid=\${${1}_PID:-}"
    if [ -n "$d_pid" ]; then
        kill -TERM "$d_pid" 2>/dev/null
        wait "$d_pid" 2>/dev/null
    fi
    eval "${1}_PID="
}

start_store() { start_daemon STORE "$STORE_BIN" "$T_STORE_LOG" "$SPOOLCTL" -s "$T_SOCKET" generation; }
stop_store() { stop_daemon STORE; }

# store_load_tap MODE EXTRA: store-load MODE against the test store, its TAP relayed with EXTRA
# more checks planned, the first of them its exit status.
store_load_tap() {
    "$STORE_LOAD" "$1" -s "$T_SOCKET" > "$T_DIR/$1.out" 2>&1
    s_rc=$?
    relay_tap "$T_DIR/$1.out" "$2"
    ok "$s_rc" "store-load $1 exits 0"
}

kill9_store() {
    kill -9 "$STORE_PID" 2>/dev/null
    wait "$STORE_PID" 2>/dev/null
    STORE_PID=
}

store_alive() { [ -n "$STORE_PID" ] && kill -0 "$STORE_PID" 2>/dev/null; }

# Scale for slow builds (sanitizers): SG_TEST_SCALE=2 halves the work.
scale() { echo $(( $1 / ${SG_TEST_SCALE:-1} )); }

# relay_tap FILE EXTRA: plan for the ok/not ok lines a helper program wrote to
# FILE plus EXTRA more of our own, then relay its lines under our numbering.
relay_tap() {
    grep -E '^(not )?ok' "$1" | sed -E 's/^((not )?ok)( [0-9]+)? - /\1 /' > "$1.lines"
    plan $(( $(wc -l < "$1.lines") + $2 ))
    while read -r verdict rest; do
        case "$verdict" in not) ok 1 "${rest#ok }";; *) ok 0 "$rest";; esac
    done < "$1.lines"
}

# wait_for_log PATTERN: until the store log has a line matching it (10 s at most).
wait_for_log() { wait_for 10 grep -qE "$1" "$T_STORE_LOG"; }

# ---- smtpd ------------------------------------------------------------------
SMTPD_BIN="$top_builddir/smtpd/spoolgate-smtpd"
T_SMTPD_LOG="$T_DIR/smtpd.log"
SMTPD_PID=
T_HOSTNAME=mx.test.invalid
T_LOCAL_DOMAIN=local.test
T_PO_DOMAIN=po.test
T_USER=alice
T_PASS=wonderland

# free_port [ADDRESS...]: a TCP port free on 127.0.0.1 and on every ADDRESS given (tests that
# put several peers on one port, one per loopback address, need it free on each).
free_port() {
    python3 - "$@" <<'PY'
import socket, sys
for _ in range(50):
    first = socket.socket()
    first.bind(("127.0.0.1", 0))
    port, held = first.getsockname()[1], [first]
    try:
        for addr in set(sys.argv[1:]) - {"127.0.0.1"}:
            s = socket.socket()
            held.append(s)
            s.bind((addr, port))
    except OSError:
        continue
    finally:
        for s in held:
            s.close()
    print(port)
    break
PY
}

# make_tls: a self-signed certificate for localhost and a users file.
make_tls() {
    [ -s "$T_DIR/cert.pem" ] && [ -s "$T_DIR/users" ] && return 0
    openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=localhost" -days 2 \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$T_DIR/key.pem" -out "$T_DIR/cert.pem" > /dev/null 2>&1 || return 1
    printf '%s:%s\n' "$T_USER" "$(openssl passwd -6 "$T_PASS")" > "$T_DIR/users"
}

# make_ca NAME: a private CA, $T_DIR/NAME.pem and NAME.key (IPC over TCP's tests).
make_ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=$1" -days 2 \
        -keyout "$T_DIR/$1.key" -out "$T_DIR/$1.pem" > /dev/null 2>&1
}

# make_cert NAME CN SAN [CA]: $T_DIR/NAME.pem and NAME.key for CN with subjectAltName SAN
# ("DNS:mx.test,IP:127.0.0.1"), signed by CA (default ca, made by make_ca).
make_cert() {
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$T_DIR/$1.key" \
        -out "$T_DIR/$1.csr" > /dev/null 2>&1 &&
    printf 'subjectAltName=%s\n' "$3" > "$T_DIR/$1.ext" &&
    openssl x509 -req -in "$T_DIR/$1.csr" -CA "$T_DIR/${4:-ca}.pem" -CAkey "$T_DIR/${4:-ca}.key" \
        -CAcreateserial -days 2 -extfile "$T_DIR/$1.ext" -out "$T_DIR/$1.pem" > /dev/null 2>&1
}

# write_smtpd_config [extra smtpd lines]: store + smtpd on free loopback ports;
# loopback is NOT in mynetworks, so relaying needs AUTH.
write_smtpd_config() {
    # The router's transport map: smtpd accepts local-domain mail only with a route.
    printf '%s\n' "${T_ROUTES:-$T_LOCAL_DOMAIN smtp:[127.0.0.1]:9}" > "$T_TRANSPORT"
    SMTP_PORT=$(free_port)
    SUBMIT_PORT=$(free_port)
    make_tls || bail "cannot make a TLS certificate"
    write_config "$(printf '[global]\nhostname = %s\n[smtpd]\nlisten = 127.0.0.1:%s [::1]:%s\nsubmission_listen = 127.0.0.1:%s\nmynetworks = %s\nlocal_domains = %s\ntls_cert_file = %s\ntls_key_file = %s\nauth_users_file = %s\n%s\n[gateway]\ndomain = %s\n[router]\ntransport_map = %s\n' \
        "$T_HOSTNAME" "$SMTP_PORT" "$SMTP_PORT" "$SUBMIT_PORT" "${T_MYNETWORKS:-192.0.2.0/24}" "$T_LOCAL_DOMAIN" \
        "$T_DIR/cert.pem" "$T_DIR/key.pem" "$T_DIR/users" "${1:-}" "$T_PO_DOMAIN" "$T_TRANSPORT")"
}

# smtpd lines that turn the per-client rate limits off, for the tests that open many sessions or
# make many errors from 127.0.0.1 (outside mynetworks here) on purpose; smtpd-rates.sh tests them.
T_RATES_OFF="client_connection_rate_limit = 0
client_message_rate_limit = 0
client_recipient_rate_limit = 0
client_auth_failure_rate_limit = 0
client_error_rate_limit = 0"

# start_smtpd_suite [extra smtpd lines]: store and smtpd on the smtpd config, the client
# environment exported; bails out when either does not start.
start_smtpd_suite() {
    write_smtpd_config "$@"
    start_store || bail "spoolgate-store does not start"
    start_smtpd || bail "spoolgate-smtpd does not start"
    export_smtp_env
}

# start_smtpd: in the background, logging to $T_SMTPD_LOG; waits for its greeting.
start_smtpd() { start_daemon SMTPD "$SMTPD_BIN" "$T_SMTPD_LOG" greets "$SMTP_PORT" 2; }
stop_smtpd() { stop_daemon SMTPD; }

# Environment for the Python SMTP test clients.
export_smtp_env() {
    export SG_HOST=127.0.0.1 SG_SMTP_PORT="$SMTP_PORT" SG_SUBMIT_PORT="$SUBMIT_PORT" \
        SG_SPOOLCTL="$SPOOLCTL" SG_STORE_SOCKET="$T_SOCKET" SG_HOSTNAME="$T_HOSTNAME" \
        SG_CA_FILE="$T_DIR/cert.pem" SG_USER="$T_USER" SG_PASS="$T_PASS" \
        SG_LOCAL_DOMAIN="$T_LOCAL_DOMAIN" SG_PO_DOMAIN="$T_PO_DOMAIN" SG_SMTPD_PID="$SMTPD_PID" \
        SG_MAX_SIZE=1048576 SG_SMTPD_LOG="$T_SMTPD_LOG"
}

# ---- router -----------------------------------------------------------------
ROUTER_BIN="$top_builddir/router/spoolgate-router"
T_ROUTER_LOG="$T_DIR/router.log"
ROUTER_PID=
PEER_PY="$top_srcdir/tests/integration/smtp_peer.py"
DSN_CHECK="python3 $top_srcdir/tests/integration/dsn_check.py"

# start_peer NAME MODE [ADDRESS [PORT [PEER OPTIONS]]]: an SMTP test peer; sets NAME_PORT,
# stores into $T_DIR/NAME.
start_peer() {
    p_name=$1 p_mode=$2 p_addr=${3:-127.0.0.1} p_port=${4:-}
    shift 2; [ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift
    mkdir -p "$T_DIR/$p_name"
    # A port chosen here and taken by another test before the peer binds it: choose again.
    for _ in 1 2 3 4 5; do
        start_peer_once "${p_port:-$(free_port "$p_addr")}" "$@" && return 0
        [ -z "$p_port" ] && grep -qs 'address already in use' "$T_DIR/$p_name.out" || break
    done
    echo "# peer $p_name did not start, or did not say ready in 30 s:"; sed 's/^/#   /' "$T_DIR/$p_name.out"
    return 1
}

# start_peer_once PORT [PEER OPTIONS]: start_peer's one try, with p_name, p_mode, p_addr set.
start_peer_once() {
    s_port=$1; shift
    # Emptied here, not by the child's redirection: a peer started again under the same name
    # would otherwise be taken as ready on the old run's "ready" line before the child opens it.
    : > "$T_DIR/$p_name.out"
    python3 "$PEER_PY" --host "$p_addr" --port "$s_port" --mode "$p_mode" --dir "$T_DIR/$p_name" \
        --name "$p_name.peer" "$@" >> "$T_DIR/$p_name.out" 2>&1 &
    eval "${p_name}_PID=$!"
    T_BG_PIDS="${T_BG_PIDS:-} $!"
    eval "${p_name}_PORT=$s_port"
    # 30 s: a loaded machine (the sanitizer suite on two cores) starts Python slowly.
    for _ in $(seq 1 300); do
        grep -q '^ready' "$T_DIR/$p_name.out" && return 0
        eval "kill -0 \$${p_name}_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_peers_on_one_port NAME:MODE:ADDRESS...: the peers on one port free on all their addresses,
# sets P; a port taken between the choice and the bind (other tests run beside this one) is
# given up for another, up to five times.
start_peers_on_one_port() {
    for _ in 1 2 3 4 5; do
        P=$(free_port $(for spec in "$@"; do echo "${spec##*:}"; done))
        started=
        for spec in "$@"; do
            s_name=${spec%%:*} s_rest=${spec#*:}
            failed=$s_name
            start_peer "$s_name" "${s_rest%%:*}" "${s_rest#*:}" "$P" || break
            started="$started $s_name" failed=
        done
        [ -z "$failed" ] && return 0
        for s_name in $started; do stop_peer "$s_name"; done
        grep -qs 'address already in use' "$T_DIR/$failed.out" || return 1
        echo "# port $P was taken meanwhile; another"
    done
    return 1
}

# hang_peer: a peer on HANG_PORT that takes connections and never greets; sets HANG_PID.
hang_peer() {
    : > "$T_DIR/hang.out"
    python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096); print("ready", flush=True)
conns = []
while True:
    conns.append(s.accept()[0])' "$HANG_PORT" >> "$T_DIR/hang.out" 2>&1 &
    HANG_PID=$!
    T_BG_PIDS="${T_BG_PIDS:-} $HANG_PID"
    wait_for 10 grep -q ready "$T_DIR/hang.out"
}

stop_peer() {
    eval "kill \$${1}_PID" 2>/dev/null
    eval "wait \$${1}_PID" 2>/dev/null
}

# write_router_config TRANSPORT_LINES [extra ini text]: store + smtpd (loopback may relay) + router.
write_router_config() {
    T_ROUTES="$1" T_MYNETWORKS=127.0.0.0/8 write_smtpd_config "[router]
due_interval = 1s
${2:-}"
}

start_router() { start_daemon ROUTER "$ROUTER_BIN" "$T_ROUTER_LOG" grep -q "re-categorized now" "$T_ROUTER_LOG"; }
stop_router() { stop_daemon ROUTER; }

# start_mail_path [NAME]: store, smtpd and router, one check each (NAME: the router's).
start_mail_path() {
    start_store; ok $? "spoolgate-store starts"
    start_smtpd; ok $? "spoolgate-smtpd starts"
    start_router; ok $? "${1:-spoolgate-router starts}"
}

# can_strace: strace is here and may attach to a running process (ptrace allowed).  The daemons
# this test starts from now on run without LeakSanitizer, which cannot run in a traced process
# (it fails at the exit); the other tests check leaks.
can_strace() {
    command -v strace > /dev/null || return 1
    sleep 30 & cs_probe=$!
    timeout 5 strace -qq -f -p "$cs_probe" -o /dev/null -e trace=nanosleep 2> /dev/null & cs_tracer=$!
    sleep 0.5; kill "$cs_tracer" 2> /dev/null; wait "$cs_tracer"; cs_rc=$?; kill "$cs_probe"
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"; export ASAN_OPTIONS
    [ "$cs_rc" = 143 ]
}

# slow_syncs NAME MICROSECONDS: from now on every fsync and fdatasync of daemon NAME takes that
# long (strace attached to NAME_PID; SLOW_PID is the tracer's pid): work of it is in flight.
slow_syncs() {
    eval "ss_pid=\$${1}_PID"
    strace -qq -f -p "$ss_pid" -o /dev/null -e trace=fdatasync,fsync \
        -e inject=fdatasync:delay_enter="$2" -e inject=fsync:delay_enter="$2" &
    SLOW_PID=$!
    T_BG_PIDS="${T_BG_PIDS:-} $SLOW_PID"
    sleep 0.5
}

# queue_shows SECONDS MATCH PATTERN: until `spoolctl list --match MATCH` has a line matching PATTERN.
queue_shows() { wait_for "$1" sh -c "$SPOOLCTL -s $T_SOCKET list --match '$2' | grep -q '$3'"; }

# peer_got PEER ADDRESS: until a message the recording peer PEER kept names ADDRESS (10 s at most).
peer_got() { wait_for 10 sh -c "cat '$T_DIR'/$1/*.json 2>/dev/null | grep -q '$2'"; }

# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
    w_n=$(( $1 * 10 )); shift
    for _ in $(seq 1 "$w_n"); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

# send_mail FROM TO [TO...] < body: over SMTP to smtpd; prints the queue id.
send_mail() {
    cat > "$T_DIR/send_mail.body"
    python3 - "$SMTP_PORT" "$T_DIR/send_mail.body" "$@" <<'PY'
import smtplib, sys
port, body_file, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
body = open(body_file, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
    s.ehlo("test.client")
    opts = []
    if rcpts and rcpts[0].startswith("NOTIFY="):
        opts = [rcpts.pop(0)]
    s.mail(sender)
    for r in rcpts:
        code, msg = s.rcpt(r, opts)
        if code != 250:
            sys.exit(f"RCPT {r}: {code} {msg!r}")
    code, msg = s.data(body)
    print(msg.decode().split()[-1])
PY
}

# store_count: messages in the store.
store_count() { "$SPOOLCTL" -s "$T_SOCKET" list | tail -1 | cut -d' ' -f1; }

# ---- gateway ------------------------------------------------------------------
GATEWAY_BIN="$top_builddir/gateway/spoolgate-gateway"
T_GATEWAY_LOG="$T_DIR/gateway.log"
GATEWAY_PID=
PO_SIM="python3 $top_srcdir/tests/postoffice_sim.py"
T_SHARE="$T_DIR/share"

start_gateway() {
    start_daemon GATEWAY "$GATEWAY_BIN" "$T_GATEWAY_LOG" grep -q "postoffice directory loaded" "$T_GATEWAY_LOG"
    g_rc=$?
    T_BG_PIDS="${T_BG_PIDS:-} $GATEWAY_PID"
    return $g_rc
}
stop_gateway() { stop_daemon GATEWAY; }

# caps_table_rows SOURCE: the request table of a daemon's server (rows "{{IPC_TYPE, cap}, handler}"),
# one "IPC_TYPE cap" a line, sorted, to compare with the rows store-caps tests (store-caps -l).
caps_table_rows() {
    sed -n 's/^ *{{\(IPC_[A-Z_]*\), *\([^}]*\)}.*/\1 \2/p' "$1" |
        sed 's/"//g; s/IPC_CAP_DIRECTORY/directory/; s/IPC_CAP_DELIVER/deliver/' | sort
}
