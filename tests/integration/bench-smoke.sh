#!/bin/sh
# bench-smoke.sh - the benchmarks still run: scripts/bench-relay --quick and scripts/bench-repl --quick on this build each finish and print their table (no thresholds: numbers belong to the benchmarks, not to tests).
. "$(dirname "$0")/lib.sh"
for t in smtp-source smtp-sink postfix; do
    [ -x "/usr/sbin/$t" ] || { echo "1..0 # SKIP /usr/sbin/$t not installed (scripts/install-deps test)"; exit 0; }
done

plan 4
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
