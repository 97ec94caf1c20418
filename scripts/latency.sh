#!/usr/bin/env bash
# End-to-end latency of klagg and of the tokio baseline, each fed by the simulator in its own
# process: every trade is stamped on CLOCK_MONOTONIC when the simulator sends it, when the
# engine reads its frame, pushes it, updates its kline and delivers it to a consumer; the
# stamps are joined by (symbol, trade id) after the run.
#
#   scripts/latency.sh [--duration SECONDS] [--symbols N] [--rate MSGS_PER_S] [--out DIR]
#
# Cores (env), by default the simulator on core 0 and the engine under test on core 1, so both
# engines get the same one core: SIM_CORES=0 IO_CORE=1 SHARD_CORE=1 CONSUMER_CORE=1
# BASELINE_CORES=1 BASELINE_THREADS=1. Waiting (env): IDLE=park PARK_US=20 (IDLE=spin only on
# isolated cores). REDUNDANCY=2 also runs klagg with two connections per stream
# (exchange.redundancy), merged by agg id: each trade is taken from whichever connection brings
# it first; the report then shows klagg alone, klagg-redundant and the baseline.
# Prints percentiles per stage and end to end, writes DIR/latency.csv and DIR/latency.svg,
# and ends with one `RESULT engine=...` line per engine.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=20
SYMBOLS=100
RATE=20000
OUT=target/latency
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift 2 ;;
        --symbols) SYMBOLS=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (expected --duration, --symbols, --rate or --out)" >&2; exit 2 ;;
    esac
done
for n in "$DURATION" "$SYMBOLS" "$RATE"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive whole number, got '$n'" >&2; exit 2; }
done
mkdir -p "$OUT"
: "${SIM_CORES:=0}" "${IO_CORE:=1}" "${SHARD_CORE:=1}" "${CONSUMER_CORE:=1}"
: "${BASELINE_CORES:=1}" "${BASELINE_THREADS:=1}"
# shellcheck source=scripts/lib/engines.sh
source scripts/lib/engines.sh
BASELINE_MAX_STAMPS=$((RATE * (DURATION + 5) * 4))

build_release
SIM_ARGS=(--symbols "$SYMBOLS" --rate "$RATE" --duration "${DURATION}s")
[[ "$REDUNDANCY" =~ ^[1-4]$ ]] || { echo "REDUNDANCY: expected 1 to 4, got '$REDUNDANCY'" >&2; exit 2; }
WANTED_REDUNDANCY=$REDUNDANCY
RUNS=()

# klagg_latency NAME REDUNDANCY: one klagg run with REDUNDANCY connections per stream.
klagg_latency() {
    REDUNDANCY=$2
    echo "$1: $SYMBOLS symbols, $RATE msgs/s for $DURATION s, $2 connection(s) per stream..."
    start_sim "$1" "${SIM_ARGS[@]}" --stamps "$OUT/$1-sim.csv" \
        --wait-for-clients "$(klagg_connections "$SYMBOLS")"
    run_klagg "$1" 1
    RUNS+=(--run "$1=$OUT/$1-sim.csv,$OUT/$1.csv")
}

klagg_latency klagg 1
if [ "$WANTED_REDUNDANCY" -gt 1 ]; then
    klagg_latency klagg-redundant "$WANTED_REDUNDANCY"
fi

echo "baseline (tokio): $SYMBOLS symbols, $RATE msgs/s for $DURATION s..."
start_sim baseline "${SIM_ARGS[@]}" --stamps "$OUT/baseline-sim.csv" \
    --wait-for-clients "$(baseline_connections "$SYMBOLS")"
run_baseline baseline 1

"$BIN" latency-report --out "$OUT" \
    "${RUNS[@]}" --run "baseline=$OUT/baseline-sim.csv,$OUT/baseline.csv"
