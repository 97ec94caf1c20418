#!/usr/bin/env bash
# Soak: klagg against the simulator for a while with many symbols at a high rate, connections
# dropped and stalled, garbage frames and duplicates injected every few seconds, klagg
# stopped and started again halfway, and frozen (SIGSTOP) for 3 s in the second half. At the end every kline klagg stored in SQLite is compared
# with the klines rebuilt from the trades the simulator recorded (`klagg check-store`), and
# klagg's peak RSS and its drift over the second run are reported.
#
#   scripts/soak.sh [--minutes 10] [--symbols 1000] [--rate 20000] [--out target/soak]
#
# klagg runs with two connections per stream (exchange.redundancy = 2). The simulator takes its
# drops and stalls one connection at a time (--one-fault-at-a-time): a fault every few seconds
# somewhere, but never on both copies of a stream, so a gap in klagg's status line is a defect;
# only klagg's restart makes real gaps, and the backfill fills them. After trading stops the
# simulator goes on serving REST and the soak waits (up to 180 s) until klagg's /metrics shows
# nothing left to fill (klagg_gaps_pending and klagg_warm_starts_pending both 0).
# The simulator does not meter REST weight, so the backfill gets 60,000 a minute: at Binance's
# 2,400, refilling a gap on 1,000 symbols at once takes over 8 minutes.
# Ends with `RESULT soak klines=<n> mismatches=<n> lost_trades=<n> rss_drift_pct=<x>
# drained_s=<n|timeout>` and exits non-zero if a stored kline is wrong or missing, or if klagg
# still had gaps to fill when the drain timed out. The gateway keeps 10 closed klines a slot in
# memory (gateway.history_per_slot), so the drift is not its REST history filling up.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=10
SYMBOLS=1000
RATE=20000
OUT=target/soak
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
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
# After trading: the longest wait for klagg to have nothing left to fill, and the least (for the
# last gaps to be seen at all).
DRAIN_MAX_S=180
DRAIN_MIN_S=5
# How long klagg is frozen in the second run.
FREEZE_S=3

BIN=target/release/klagg
echo "building release klagg..."
cargo build --release --quiet --bin klagg
rm -rf "$OUT"
mkdir -p "$OUT"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

# free_port: a loopback TCP port nothing listens on, for klagg's gateway (its /metrics).
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
    done
    echo "no free loopback port found for the gateway" >&2
    return 1
}
GATEWAY="127.0.0.1:$(free_port)"

"$BIN" sim --addr 127.0.0.1:0 --symbols "$SYMBOLS" --rate "$RATE" --record "$OUT/trades" \
    --drop-every 4s --stall-every 6s --stall-for 2s --garbage-per-s 1 --duplicate-every 5000 \
    --one-fault-at-a-time --trade-for "${SECONDS_TOTAL}s" >"$OUT/sim.log" 2>&1 &
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
bind = "$GATEWAY"
# The REST history fills as periods close (1,500 klines a slot by default, ~216 MB of 1s klines
# for 1,000 symbols after 25 min); kept small here so the RSS drift shows what does not stop
# growing.
history_per_slot = 10

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

# sample RUN: checks klagg is alive and appends its RSS (kB) to $OUT/rss.csv.
sample() {
    kill -0 "$KLAGG_PID" 2>/dev/null || { echo "klagg died; its log:" >&2; tail -20 "$OUT/klagg.log" >&2; exit 1; }
    awk -v run="$1" -v t="$SECONDS" '/^VmRSS:/ { print run "," t "," $2 }' "/proc/$KLAGG_PID/status" >>"$OUT/rss.csv"
}

# run_for SECONDS RUN: lets klagg run, sampling its RSS every 2 s.
run_for() {
    local until=$((SECONDS + $1))
    while [ "$SECONDS" -lt "$until" ]; do
        sample "$2"
        sleep 2
    done
}

# metric NAME: the value of an unlabelled metric on klagg's /metrics; nothing when klagg does not
# answer or does not (yet) have the metric.
metric() {
    { python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' \
        "http://$GATEWAY/metrics" 2>/dev/null || true; } |
        awk -v name="$1" '$1 == name { value = $2 } END { if (value != "") print value }'
}

# drain RUN: waits until klagg has nothing left to fill (both pending gauges 0 on two looks in a
# row, a missing gauge counting as not 0), at least DRAIN_MIN_S and at most DRAIN_MAX_S; sets
# DRAINED to the seconds it took, or "timeout".
drain() {
    local start=$SECONDS report=$((SECONDS + 10)) gaps warm zero=0
    while :; do
        sample "$1"
        gaps=$(metric klagg_gaps_pending)
        warm=$(metric klagg_warm_starts_pending)
        if [ "$gaps" = 0 ] && [ "$warm" = 0 ]; then zero=$((zero + 1)); else zero=0; fi
        if [ "$zero" -ge 2 ] && [ $((SECONDS - start)) -ge "$DRAIN_MIN_S" ]; then
            DRAINED=$((SECONDS - start))
            echo "drained: nothing left to fill after ${DRAINED}s"
            return
        fi
        if [ $((SECONDS - start)) -ge "$DRAIN_MAX_S" ]; then
            DRAINED=timeout
            echo "drain TIMED OUT after ${DRAIN_MAX_S}s: klagg_gaps_pending=${gaps:-missing}" \
                "klagg_warm_starts_pending=${warm:-missing}; stopping klagg with gaps unfilled" >&2
            return
        fi
        if [ "$SECONDS" -ge "$report" ]; then
            report=$((report + 10))
            echo "  draining $((SECONDS - start))s: klagg_gaps_pending=${gaps:-missing}" \
                "klagg_warm_starts_pending=${warm:-missing}"
        fi
        sleep 1
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
# Halfway through the second run klagg is frozen (SIGSTOP) for a few seconds while the market
# trades on: the trades wait in its sockets and must still land in their klines.
SECOND=$((SECONDS_TOTAL - HALF))
run_for $((SECOND / 2)) 2
echo "freezing klagg for ${FREEZE_S}s..."
kill -STOP "$KLAGG_PID"
sleep "$FREEZE_S"
kill -CONT "$KLAGG_PID"
run_for $((SECOND - SECOND / 2 - FREEZE_S)) 2
# The market stops trading but still serves REST: the backfill fills the last gaps, then klagg
# stops with everything it will ever have, then the simulator.
echo "trading stopped; waiting until klagg has nothing left to fill..."
drain 2
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
echo "RESULT soak $fields rss_drift_pct=$drift drained_s=$DRAINED"
[ "$DRAINED" = timeout ] && [ "$checked" -eq 0 ] && exit 1
exit "$checked"
