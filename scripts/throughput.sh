#!/usr/bin/env bash
# Sustained throughput of klagg and of the tokio baseline through one core each, fed by
# `klagg blast` (pre-encoded frames, paced by TCP) on another core: every trade the generator
# sends is counted against the trades each engine says it applied.
#
#   scripts/throughput.sh [--count N] [--symbols N] [--runs N] [--out DIR]
#
# First the generator alone into a reader that discards (its own rate, on the engines' core),
# then klagg and the baseline --runs times each (default 3), alternating. Each engine runs
# entirely on ENGINE_CORE (default 1): klagg with its io, shard and consumer stages in one
# thread that spins when idle, the baseline with one tokio worker. The generator writes from
# GEN_CORE (default 0). An engine's rate is the generator's rate while it was paced by that
# engine; lost = trades sent - trades the engine applied (klagg's shard counter, the
# baseline's aggregator count); each run also shows the engine's CPU time per trade.
# Ends with one `RESULT engine=<generator|klagg|baseline> msgs_per_s=<median>
# lost=<sum over runs>` line per engine.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=10000000
SYMBOLS=100
RUNS=3
OUT=target/throughput
usage() { sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --count) COUNT=$2; shift 2 ;;
        --symbols) SYMBOLS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (expected --count, --symbols, --runs or --out)" >&2; exit 2 ;;
    esac
done
for n in "$COUNT" "$SYMBOLS" "$RUNS"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive whole number, got '$n'" >&2; exit 2; }
done
mkdir -p "$OUT"
: "${GEN_CORE:=0}"
: "${ENGINE_CORE:=1}"
# klagg: every stage on the engine core in one thread, spinning; nothing sampled, no backfill.
IO_CORE=$ENGINE_CORE SHARD_CORE=$ENGINE_CORE CONSUMER_CORE=$ENGINE_CORE
: "${IDLE:=spin}"
: "${PUSH_INTERVAL_MS:=100}"
BACKFILL=false
# The engines' CPU time is read while they run (klagg spins, so its CPU time is its wall time
# on the core; less means the core was shared with something else).
TRACK_CPU=1
# shellcheck source=scripts/lib/engines.sh
source scripts/lib/engines.sh

build_release

# field NAME LINE: the value of NAME=value in LINE.
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

echo "generator alone: $COUNT trades over $SYMBOLS symbols into a discarding reader on core $ENGINE_CORE..."
gen_line=$("$BIN" blast --symbols "$SYMBOLS" --count "$COUNT" --cores "$GEN_CORE" \
    --discard --discard-core "$ENGINE_CORE" | tail -1)
echo "  $gen_line"
echo "generator $(field msgs_per_s "$gen_line") $(field lost "$gen_line") $(field cpu_ns_per_trade "$gen_line")" \
    >"$OUT/rates"

# one_run ENGINE N: the generator on GEN_CORE, ENGINE on ENGINE_CORE, until COUNT are sent.
one_run() {
    local engine=$1 n=$2 name="$1-$2" pid sent rate applied
    start_blast "$name" --symbols "$SYMBOLS" --count "$COUNT" --cores "$GEN_CORE"
    if [ "$engine" = klagg ]; then
        klagg_config "$OUT/$name.toml" 0
        taskset -c "$ENGINE_CORE" "$BIN" run --config "$OUT/$name.toml" --status-every 60s \
            >"$OUT/$name.log" 2>&1 &
    else
        taskset -c "$ENGINE_CORE" "$BASELINE" --url "ws://$SIM_ADDR/market/stream" \
            --symbols "$(sim_symbols)" --worker-threads 1 >"$OUT/$name.log" 2>&1 &
    fi
    pid=$!
    local cpu
    wait_engine_run "$pid" >"$OUT/$name.cpu"
    read -r cpu _ <"$OUT/$name.cpu"
    stop_engine "$pid" "$name" "$engine"
    local line
    line=$(grep '^blast: sent=' "$OUT/$name-sim.log" | tail -1)
    sent=$(field sent "$line")
    rate=$(field msgs_per_s "$line")
    if [ "$engine" = klagg ]; then
        applied=$(sed -n 's/^stopped:.* trades \([0-9]*\) .*/\1/p' "$OUT/$name.log" | tail -1)
        # Trades that reach the shards after their period closed (close grace passed) are
        # counted as received but dropped as late, per interval: say so, they are not applied.
        local late
        late=$(sed -n 's/^stopped:.* late \([0-9]*\) .*/\1/p' "$OUT/$name.log" | tail -1)
        [ "${late:-0}" = 0 ] || echo "  klagg run $n: $late (trade, interval) pairs dropped as late" >&2
    else
        applied=$(field trades "$(grep '^baseline: trades=' "$OUT/$name.log" | tail -1)")
    fi
    [ -n "$applied" ] || { echo "$engine did not report its trades; its log:" >&2; tail -5 "$OUT/$name.log" >&2; exit 1; }
    local cpu_ns
    cpu_ns=$(awk -v c="$cpu" -v n="$applied" 'BEGIN { printf "%.0f", (n > 0 ? c * 1e9 / n : 0) }')
    echo "  $engine run $n: sent $sent at $rate msgs/s, applied $applied, lost $((sent - applied)), $cpu_ns ns of CPU per trade"
    echo "$engine $rate $((sent - applied)) $cpu_ns" >>"$OUT/rates"
}

for n in $(seq 1 "$RUNS"); do
    echo "run $n of $RUNS: klagg, then the baseline, each on core $ENGINE_CORE..."
    one_run klagg "$n"
    one_run baseline "$n"
done

awk '
    { rate[$1, ++n[$1]] = $2; lost[$1] += $3; cpu[$1] = cpu[$1] " " $4 }
    function median(e,   i, j, t, a, k) {
        k = n[e]
        for (i = 1; i <= k; i++) a[i] = rate[e, i]
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        lo[e] = a[1]; hi[e] = a[k]
        return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    END {
        g = median("generator"); k = median("klagg"); b = median("baseline")
        printf "generator alone: %.2fM msgs/s, ns of its core per trade:%s\n", g / 1e6, cpu["generator"]
        printf "klagg:    median %.2fM msgs/s (%.2f-%.2fM over %d runs), lost %d, ns of CPU per trade:%s\n", k / 1e6, lo["klagg"] / 1e6, hi["klagg"] / 1e6, n["klagg"], lost["klagg"], cpu["klagg"]
        printf "baseline: median %.2fM msgs/s (%.2f-%.2fM over %d runs), lost %d, ns of CPU per trade:%s\n", b / 1e6, lo["baseline"] / 1e6, hi["baseline"] / 1e6, n["baseline"], lost["baseline"], cpu["baseline"]
        if (b > 0) printf "klagg / baseline: %.1fx (medians)\n", k / b
        printf "RESULT engine=generator msgs_per_s=%.0f lost=%d\n", g, lost["generator"]
        printf "RESULT engine=klagg msgs_per_s=%.0f lost=%d\n", k, lost["klagg"]
        printf "RESULT engine=baseline msgs_per_s=%.0f lost=%d\n", b, lost["baseline"]
    }' "$OUT/rates"
