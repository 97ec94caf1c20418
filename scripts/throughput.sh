#!/usr/bin/env bash
# Sustained throughput of klagg and of the tokio baseline: the simulator sends a fixed count
# of trades across N symbols as fast as it can, each engine in its own pinned process takes
# them in, and the count each applied is checked against the count sent (zero loss).
#
#   scripts/throughput.sh [--count N] [--symbols N] [--rate MSGS_PER_S] [--out DIR]
#
# --rate caps the simulator (default 3000000: as fast as it goes on a small machine).
# Cores (env): SIM_CORES=1 IO_CORE=0 SHARD_CORE=1 CONSUMER_CORE=1 BASELINE_CORES=0,1
# Ends with one `RESULT engine=... msgs_per_s=<x> lost=<n>` line per engine.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=5000000
SYMBOLS=100
RATE=3000000
OUT=target/throughput
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --count) COUNT=$2; shift 2 ;;
        --symbols) SYMBOLS=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (expected --count, --symbols, --rate or --out)" >&2; exit 2 ;;
    esac
done
for n in "$COUNT" "$SYMBOLS" "$RATE"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive whole number, got '$n'" >&2; exit 2; }
done
mkdir -p "$OUT"
# shellcheck source=scripts/lib/engines.sh
source scripts/lib/engines.sh
# One stamp in 1024 marks when trades flowed; the counts come from the engines' own tallies.
SAMPLE=1024
BASELINE_MAX_STAMPS=$((COUNT / SAMPLE * 4 + 1000))

build_release
SIM_ARGS=(--symbols "$SYMBOLS" --rate "$RATE" --count "$COUNT" --sample-every "$SAMPLE")

echo "klagg: $COUNT trades over $SYMBOLS symbols, as fast as the simulator sends..."
start_sim klagg "${SIM_ARGS[@]}" --stamps "$OUT/klagg-sim.csv" \
    --wait-for-clients "$(klagg_connections "$SYMBOLS")"
run_klagg klagg "$SAMPLE"

echo "baseline (tokio): $COUNT trades over $SYMBOLS symbols..."
start_sim baseline "${SIM_ARGS[@]}" --stamps "$OUT/baseline-sim.csv" \
    --wait-for-clients "$(baseline_connections "$SYMBOLS")"
run_baseline baseline "$SAMPLE"

"$BIN" latency-report --throughput \
    --run "klagg=$OUT/klagg-sim.csv,$OUT/klagg.csv" \
    --run "baseline=$OUT/baseline-sim.csv,$OUT/baseline.csv"
