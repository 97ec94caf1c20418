#!/usr/bin/env bash
# Soak: klagg against the simulator for a while with many symbols at a high rate, connections
# dropped and stalled, garbage frames and duplicates injected every few seconds, and klagg
# stopped and started again halfway. At the end every kline klagg stored in SQLite is compared
# with the klines rebuilt from the trades the simulator recorded (`klagg check-store`), and
# klagg's peak RSS and its drift over the second run are reported.
#
#   scripts/soak.sh [--minutes 10] [--symbols 1000] [--rate 20000] [--out target/soak]
#
# klagg runs with two connections per stream (exchange.redundancy = 2); the simulator's faults
# are spread over connections (--spread-faults), so both copies of a stream rarely fail at once.
# The simulator does not meter REST weight, so the backfill gets 60,000 a minute: at Binance's
# 2,400, refilling a gap on 1,000 symbols at once takes over 8 minutes.
# Ends with `RESULT soak klines=<n> mismatches=<n> lost_trades=<n> rss_drift_pct=<x>` and exits
# non-zero if a stored kline is wrong or missing.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=10
SYMBOLS=1000
RATE=20000
OUT=target/soak
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) MINUTES=$2; shift 2 ;;
        --symbols) SYMBOLS=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (expected --minutes, --symbols, --rate or --out)" >&2; exit 2 ;;
    esac
done
[[ "$MINUTES" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v m="$MINUTES" 'BEGIN { exit !(m > 0) }' || {
    echo "--minutes: expected a positive number of minutes, e.g. 10 or 0.5, got '$MINUTES'" >&2
    exit 2
}
for n in "$SYMBOLS" "$RATE"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive whole number, got '$n'" >&2; exit 2; }
done
SECONDS_TOTAL=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }')
HALF=$((SECONDS_TOTAL / 2))
# After trading, for the backfill to fill the gaps of the last faults.
DRAIN_S=20

BIN=target/release/klagg
echo "building release klagg..."
cargo build --release --quiet --bin klagg
rm -rf "$OUT"
mkdir -p "$OUT"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

"$BIN" sim --addr 127.0.0.1:0 --symbols "$SYMBOLS" --rate "$RATE" --record "$OUT/trades" \
    --drop-every 8s --stall-every 13s --stall-for 2s --garbage-per-s 1 --duplicate-every 5000 \
    --spread-faults --trade-for "${SECONDS_TOTAL}s" >"$OUT/sim.log" 2>&1 &
SIM_PID=$!
SIM_ADDR=""
for _ in $(seq 1 100); do
    SIM_ADDR=$(sed -n 's/^klagg sim listening on \(.*\)$/\1/p' "$OUT/sim.log")
    [ -n "$SIM_ADDR" ] && break
    sleep 0.1
done
[ -n "$SIM_ADDR" ] || { echo "the simulator did not start:" >&2; cat "$OUT/sim.log" >&2; exit 1; }

cat >"$OUT/klagg.toml" <<TOML
[exchange]
ws_url = "ws://$SIM_ADDR/market/stream"
rest_url = "http://$SIM_ADDR"
symbols = "all"
max_symbols = $((SYMBOLS + 64))
redundancy = 2

[klines]
intervals = "all"
database = "$OUT/klines.sqlite"

[threads]
io_cores = []
aggregator_cores = []
consumer_cores = []

[gateway]
bind = "127.0.0.1:0"

[backfill]
weight_per_minute = 60000

[latency]
sample_every = 0
TOML

# start_klagg: starts klagg run, appending to its log; sets KLAGG_PID.
start_klagg() {
    "$BIN" run --config "$OUT/klagg.toml" --status-every 10s >>"$OUT/klagg.log" 2>&1 &
    KLAGG_PID=$!
}

# run_for SECONDS RUN: lets klagg run, sampling its RSS (kB) every 2 s into $OUT/rss.csv.
run_for() {
    local until=$((SECONDS + $1))
    while [ "$SECONDS" -lt "$until" ]; do
        kill -0 "$KLAGG_PID" 2>/dev/null || { echo "klagg died; its log:" >&2; tail -20 "$OUT/klagg.log" >&2; exit 1; }
        awk -v run="$2" -v t="$SECONDS" '/^VmRSS:/ { print run "," t "," $2 }' "/proc/$KLAGG_PID/status" >>"$OUT/rss.csv"
        sleep 2
    done
}

# stop_klagg: SIGTERM, and the graceful stop it promises (exit 0).
stop_klagg() {
    kill -TERM "$KLAGG_PID"
    wait "$KLAGG_PID" || { echo "klagg did not stop cleanly; its log:" >&2; tail -20 "$OUT/klagg.log" >&2; exit 1; }
}

echo "soak: $SYMBOLS symbols at $RATE trades/s for $MINUTES min, faults every few seconds, klagg restarted at ${HALF}s..."
start_klagg
run_for "$HALF" 1
echo "restarting klagg..."
stop_klagg
start_klagg
run_for $((SECONDS_TOTAL - HALF)) 2
# The market stops trading but still serves REST: the backfill fills the last gaps, then klagg
# stops with everything it will ever have, then the simulator.
run_for "$DRAIN_S" 2
stop_klagg
kill -INT "$SIM_PID"
wait "$SIM_PID" || true
grep -h "^stopped:" "$OUT/klagg.log" || true

echo "checking every stored kline against the recorded trades..."
set +e
"$BIN" check-store --trades "$OUT/trades" --database "$OUT/klines.sqlite" | tee "$OUT/check.log"
checked=${PIPESTATUS[0]}
set -e
fields=$(tail -1 "$OUT/check.log")
read -r peak drift < <(awk -F, '
    { if ($3 > peak) peak = $3 }
    $1 == 2 { n++; rss[n] = $3 }
    END {
        q = int(n / 4); if (q < 1) q = 1
        for (i = 1; i <= q; i++) { first += rss[i]; last += rss[n - q + i] }
        printf "%d %.1f\n", peak, (first > 0 ? (last - first) * 100 / first : 0)
    }' "$OUT/rss.csv")
echo "peak RSS $((peak / 1024)) MiB; drift over the second run ${drift}%"
echo "RESULT soak $fields rss_drift_pct=$drift"
exit "$checked"
