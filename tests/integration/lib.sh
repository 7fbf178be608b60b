# lib.sh - helpers for the integration tests: temp state, daemons, TAP output. Sourced, not run.

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
STORE_BIN="$top_builddir/store/spoolgate-store"
SPOOLCTL="$top_builddir/tools/spoolctl"
SENDMAIL="$top_builddir/tools/spoolgate-sendmail"
STORE_LOAD="$top_builddir/tests/integration/store-load"

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/spoolgate-test.XXXXXX")
T_CONFIG="$T_DIR/spoolgate.ini"
T_SOCKET="$T_DIR/run/store.sock"
T_STORE_LOG="$T_DIR/store.log"
T_NUM=0
T_FAILED=0
STORE_PID=

cleanup() {
    [ -n "$STORE_PID" ] && kill -9 "$STORE_PID" 2>/dev/null
    # Sanitizer reports of the daemons go to their logs: bring them into ours.
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T_STORE_LOG" 2>/dev/null; then
        echo "# spoolgate-store sanitizer report:"
        sed 's/^/#   /' "$T_STORE_LOG" | grep -A30 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:'
        T_FAILED=$((T_FAILED + 1))
    fi
    for pid in $(jobs -p); do kill -9 "$pid" 2>/dev/null; done
    wait 2>/dev/null
    if [ "$T_FAILED" -ne 0 ]; then
        echo "# kept logs of the failed run:"
        sed 's/^/#   /' "$T_STORE_LOG" 2>/dev/null | tail -40
    fi
    rm -rf "$T_DIR"
}
trap cleanup EXIT

plan() { echo "1..$1"; }
ok() {
    T_NUM=$((T_NUM + 1))
    if [ "$1" -eq 0 ]; then echo "ok $T_NUM - $2"; else echo "not ok $T_NUM - $2"; T_FAILED=$((T_FAILED + 1)); fi
}
diag() { sed 's/^/# /'; }
bail() { echo "Bail out! $*"; exit 1; }

write_config() {
    printf '[global]\nstate_dir = %s\n[store]\ncheckpoint_interval = 1s\n%s' "$T_DIR" "${1:-}" > "$T_CONFIG"
}

# start_store: in the background, logging to $T_STORE_LOG; waits until it answers.
start_store() {
    "$STORE_BIN" -c "$T_CONFIG" --foreground >> "$T_STORE_LOG" 2>&1 &
    STORE_PID=$!
    for _ in $(seq 1 300); do
        "$SPOOLCTL" -s "$T_SOCKET" generation > /dev/null 2>&1 && return 0
        kill -0 "$STORE_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

stop_store() {
    kill -TERM "$STORE_PID" 2>/dev/null
    wait "$STORE_PID" 2>/dev/null
    STORE_PID=
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
wait_for_log() {
    for _ in $(seq 1 100); do
        grep -qE "$1" "$T_STORE_LOG" && return 0
        sleep 0.1
    done
    return 1
}
