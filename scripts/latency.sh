#!/usr/bin/env bash
# End-to-end latency, side by side in one invocation: the floor (a bare tungstenite reader
# spinning on non-blocking sockets: the socket and nothing else), klagg spinning, klagg parked,
# and the tokio baseline, each fed by the simulator in its own process with the same work (all
# 16 intervals, every kline change delivered to a consumer; no warm start, no backfill). Every
# trade is stamped on CLOCK_MONOTONIC when the simulator has written its frame, when the engine
# reads it, pushes it, updates its klines and delivers them; stamps are joined by (symbol,
# trade id) after each run.
#
#   scripts/latency.sh [--duration 20] [--symbols 100] [--rate 20000] [--runs 3] [--out DIR]
#                      [--engines floor,klagg-spin,klagg-park,baseline]
#
# The engines run --runs times each, alternating (floor, klagg-spin, klagg-park, baseline,
# floor, ...), so the host's moods fall on all of them; the report gives, per engine, the
# median over its runs of each percentile and the spread (lowest..highest), the voluntary
# context switches per message of each of its threads, writes DIR/latency.csv and
# DIR/latency.svg (the run of each engine with the median p99) and ends with one line per
# engine:
#   RESULT engine=<floor|klagg-spin|klagg-park|baseline> p50_us=… p99_us=… p999_us=… msgs=…
#     lost=… csw_per_msg=…
# (medians; csw_per_msg counts the engine's stage threads: klagg's io, shard and gateway
# threads, the baseline's tokio workers, the floor's reader).
#
# Context switches are counted from a second after trading begins to a second before it ends.
#
# Cores (env): the simulator on SIM_CORES=0, every engine on the same one core ENGINE_CORE=1
# (klagg: io, shard and gateway all there, so they run in one thread). PARK_US=200 bounds a
# parked klagg's sleep (its wakers end sleeps at once); PARK_IDLE=backoff makes klagg-park spin
# SPIN_US (100) after its last work before it sleeps (default PARK_IDLE=park). REDUNDANCY=2
# adds klagg-redundant: parked, two connections per stream merged by agg id.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=20
SYMBOLS=100
RATE=20000
RUNS=3
OUT=target/latency
ENGINES=(floor klagg-spin klagg-park baseline)
usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift 2 ;;
        --symbols) SYMBOLS=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --engines) IFS=, read -r -a ENGINES <<<"$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (expected --duration, --symbols, --rate, --runs, --out or --engines)" >&2; exit 2 ;;
    esac
done
for n in "$DURATION" "$SYMBOLS" "$RATE" "$RUNS"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive whole number, got '$n'" >&2; exit 2; }
done
mkdir -p "$OUT"
: "${SIM_CORES:=0}" "${ENGINE_CORE:=1}" "${PARK_US:=200}" "${REDUNDANCY:=1}" "${PARK_IDLE:=park}"
IO_CORE=$ENGINE_CORE SHARD_CORE=$ENGINE_CORE CONSUMER_CORE=$ENGINE_CORE
BASELINE_CORES=$ENGINE_CORE BASELINE_THREADS=1 BACKFILL=false
# shellcheck source=scripts/lib/engines.sh
source scripts/lib/engines.sh
BASELINE_MAX_STAMPS=$((RATE * (DURATION + 5) * 4))
[[ "$REDUNDANCY" =~ ^[1-4]$ ]] || { echo "REDUNDANCY: expected 1 to 4, got '$REDUNDANCY'" >&2; exit 2; }
WANTED_REDUNDANCY=$REDUNDANCY

build_release floor
SIM_ARGS=(--symbols "$SYMBOLS" --rate "$RATE" --duration "${DURATION}s")
for engine in "${ENGINES[@]}"; do
    case "$engine" in
        floor|klagg-spin|klagg-park|baseline) ;;
        *) echo "--engines: unknown engine '$engine' (expected floor, klagg-spin, klagg-park or baseline)" >&2; exit 2 ;;
    esac
done
[ "$WANTED_REDUNDANCY" -gt 1 ] && ENGINES+=(klagg-redundant)
: >"$OUT/results.txt"
: >"$OUT/csw.txt"

# one_run ENGINE RUN: the simulator and ENGINE once; appends its RESULT line (with the run
# number) to results.txt and its threads' context switches per message to csw.txt.
one_run() {
    local engine=$1 run=$2 name="$1-$2" clients
    case "$engine" in
        klagg-*) REDUNDANCY=1; [ "$engine" = klagg-redundant ] && REDUNDANCY=$WANTED_REDUNDANCY
                 clients=$(klagg_connections "$SYMBOLS") ;;
        *) clients=$(baseline_connections "$SYMBOLS") ;;
    esac
    echo "$name: $SYMBOLS symbols, $RATE msgs/s for $DURATION s..."
    start_sim "$name" "${SIM_ARGS[@]}" --stamps "$OUT/$name-sim.csv" --wait-for-clients "$clients"
    case "$engine" in
        floor) run_floor "$name" ;;
        klagg-spin) IDLE=spin run_klagg "$name" 1 ;;
        klagg-park|klagg-redundant) IDLE=$PARK_IDLE run_klagg "$name" 1 ;;
        baseline) run_baseline "$name" 1 ;;
    esac
    "$BIN" latency-report --out "$OUT/$name" --run "$name=$OUT/$name-sim.csv,$OUT/$name.csv" \
        >"$OUT/$name.report" 2>&1
    local line
    # Per thread, and for the engine's stage threads together, voluntary switches per message.
    awk -v engine="$engine" '{ print engine, $1, $2 }' "$OUT/$name.csw" >>"$OUT/csw.txt"
    line=$(grep '^RESULT' "$OUT/$name.report" | sed "s/engine=$name /engine=$engine run=$run /")
    echo "$line csw_per_msg=$(awk '
        $1 ~ /^(klagg-(core|io|shard|stage|gateway)|tokio-|floor)/ { s += $2 }
        END { printf "%.4f", s }' "$OUT/$name.csw")" >>"$OUT/results.txt"
}

for run in $(seq 1 "$RUNS"); do
    for engine in "${ENGINES[@]}"; do
        one_run "$engine" "$run"
    done
done

echo
echo "voluntary context switches per message, by thread (median over runs):"
awk '{ key = $1 " " $2; n[key]++; v[key, n[key]] = $3 }
    END {
        for (k in n) {
            m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i]
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            printf "  %-34s %.5f\n", k, a[int((m + 1) / 2)]
        }
    }' "$OUT/csw.txt" | sort

# The plot and CSV: the run of each engine with the median p99.
PLOT=()
for engine in "${ENGINES[@]}"; do
    run=$(awk -v e="$engine" '$2 == "engine=" e { sub("run=", "", $3); sub("p99_us=", "", $5); print $5, $3 }' \
        "$OUT/results.txt" | sort -g | awk '{ r[NR] = $2 } END { print r[int((NR + 1) / 2)] }')
    PLOT+=(--run "$engine=$OUT/$engine-$run-sim.csv,$OUT/$engine-$run.csv")
done
"$BIN" latency-report --out "$OUT" "${PLOT[@]}" | grep -v '^RESULT'

echo
echo "medians over $RUNS runs (spread lowest..highest), end to end, µs:"
FINAL=""
for engine in "${ENGINES[@]}"; do
    FINAL+=$(awk -v e="$engine" '
        function median(a, n,   i, j, t) {
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return a[int((n + 1) / 2)]
        }
        $2 == "engine=" e {
            n++
            for (f = 4; f <= NF; f++) { split($f, kv, "="); v[kv[1], n] = kv[2] }
        }
        END {
            if (n == 0) { print "no result for " e > "/dev/stderr"; exit 1 }
            split("p50_us p99_us p999_us msgs lost csw_per_msg", keys, " ")
            line = "RESULT engine=" e
            for (k = 1; k <= 6; k++) {
                lo = ""; hi = ""
                for (i = 1; i <= n; i++) {
                    a[i] = v[keys[k], i] + 0
                    if (lo == "" || a[i] < lo) lo = a[i]
                    if (hi == "" || a[i] > hi) hi = a[i]
                }
                m = median(a, n)
                line = line " " keys[k] "=" m
                if (k <= 3 || k == 6) spread = spread sprintf("  %s %s (%s..%s)", keys[k], m, lo, hi)
            }
            printf "  %-16s%s\n", e, spread > "/dev/stderr"
            print line
        }' "$OUT/results.txt")$'\n'
done
echo
printf "%s" "$FINAL"
