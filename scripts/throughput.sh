#!/usr/bin/env bash
# Sustained throughput of klagg and of the tokio baseline: the simulator sends a fixed count
# of trades across N symbols as fast as it can, each engine in its own pinned process takes
# them in, and the count each applied is checked against the count sent (zero loss).
#
#   scripts/throughput.sh [--count N] [--symbols N] [--rate MSGS_PER_S] [--out DIR]
#
# --rate caps the simulator (default 3000000: as fast as it goes on a small machine).
# Cores (env): SIM_CORES=1 IO_CORE=0 SHARD_CORE=1 CONSUMER_CORE=0 BASELINE_CORES=0,1
# klagg's gateway pushes every PUSH_INTERVAL_MS=100 (the default config's).
# The simulator shares the machine, so on a small one it is the limit; the CPU each engine
# spent per message shows what the engine itself would sustain on a core of its own.
# Ends with one `RESULT engine=... msgs_per_s=<x> lost=<n>` line per engine.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=5000000
SYMBOLS=100
RATE=3000000
OUT=target/throughput
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
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
: "${CONSUMER_CORE:=0}"
: "${PUSH_INTERVAL_MS:=100}"
TRACK_CPU=1
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

read -r klagg_cpu klagg_io_cpu <"$OUT/klagg.cpu"
read -r baseline_cpu _ <"$OUT/baseline.cpu"
awk -v n="$COUNT" -v k="$klagg_cpu" -v io="$klagg_io_cpu" -v b="$baseline_cpu" 'BEGIN {
    printf "CPU per message: klagg %.0f ns (io thread %.0f ns: one core sustains %.1fM msgs/s), baseline %.0f ns\n",
        k * 1e9 / n, io * 1e9 / n, (io > 0 ? n / io / 1e6 : 0), b * 1e9 / n }'
"$BIN" latency-report --throughput \
    --run "klagg=$OUT/klagg-sim.csv,$OUT/klagg.csv" \
    --run "baseline=$OUT/baseline-sim.csv,$OUT/baseline.csv"
