#!/bin/sh
# bench-smoke.sh - the benchmarks still run: scripts/bench-relay --quick, scripts/bench-repl --quick and scripts/bench-scale 200 on this build each finish and print their results (no thresholds: numbers belong to the benchmarks, not to tests).
. "$(dirname "$0")/lib.sh"
for t in smtp-source smtp-sink postfix; do
    [ -x "/usr/sbin/$t" ] || { echo "1..0 # SKIP /usr/sbin/$t not installed (scripts/install-deps test)"; exit 0; }
done

plan 6
build=$(cd "$top_builddir" && pwd) || bail "no build dir"
src=$(cd "$top_srcdir" && pwd) || bail "no source dir"

# One small cell against Postfix (its own private config, queue and ports), both MTAs.
timeout 300 "$src/scripts/bench-relay" --quick --build "$build" > "$T_DIR/relay.out" 2>&1
r=$?
[ $r = 0 ] || tail -20 "$T_DIR/relay.out" | diag
ok $r "bench-relay --quick finishes (exit $r)"
# A row per MTA with numbers in it, and the ratio.
grep -qE '^\| 16x4k N=500 \| Postfix \| [0-9]+ \| [0-9]+ \|' "$T_DIR/relay.out" &&
    grep -qE '^\| 16x4k N=500 \| spoolgate \| [0-9]+ \| [0-9]+ \|' "$T_DIR/relay.out" &&
    grep -qE '^\| 16x4k N=500 \| spoolgate/Postfix \| [0-9.]+ \| [0-9.]+ \|' "$T_DIR/relay.out"
ok $? "bench-relay measured both MTAs: $(grep -E '^\| 16x4k N=500 \| spoolgate/Postfix' "$T_DIR/relay.out" | tr -s ' ')"

# Three replicated sites against one store: each cell starts and ends.
timeout 300 "$src/scripts/bench-repl" --quick --build "$build" > "$T_DIR/repl.out" 2>&1
r=$?
[ $r = 0 ] || tail -20 "$T_DIR/repl.out" | diag
ok $r "bench-repl --quick finishes (exit $r)"
# Four rows (commits at 8 and 32 clients, relay accept and end to end), each with both rates.
rows=$(grep -cE '^\| (durable commits/s|relay (accept|e2e) msg/s).* \| [0-9]+ \| [0-9]+ \| [0-9.]+ \|$' "$T_DIR/repl.out")
grep -E '^\| (durable|relay)' "$T_DIR/repl.out" | diag
test "$rows" = 4; ok $? "bench-repl measured every cell, single and replicated ($rows of 4 rows)"

# The queue at scale, small: every phase runs to its end (a changed spoolctl requeue once
# stopped it half way, unseen).
timeout 300 "$src/scripts/bench-scale" 200 "$build" > "$T_DIR/scale.out" 2>&1
r=$?
[ $r = 0 ] || tail -20 "$T_DIR/scale.out" | diag
ok $r "bench-scale 200 finishes (exit $r)"
diag < "$T_DIR/scale.out"
grep -qE '^deferral \(dead hop\): +all [0-9]+ recipients deferred' "$T_DIR/scale.out" &&
    grep -qE '^router SIGTERM exit: +[0-9.]+ s' "$T_DIR/scale.out" &&
    grep -qE '^smtpd RSS: .* with 10 000 sessions open' "$T_DIR/scale.out"
ok $? "bench-scale deferred everything, timed the router's SIGTERM and smtpd's 10 000 sessions"
