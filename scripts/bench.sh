#!/usr/bin/env bash
# Runs the aggregation benchmark and prints ns per trade and per trade×interval.
# Usage: scripts/bench.sh            (about three minutes on a 2-core VM)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench aggregate -- --noplot 2>&1 | tee target/bench-aggregate.txt
awk '
  /^process_trade\/busy_1_interval/                { name = "klagg, busy, 1 interval (1m)"; n = 1 }
  /^process_trade\/busy_16_intervals$/             { name = "klagg, busy, 16 intervals"; n = 16 }
  /^process_trade\/busy_16_intervals_no_consumer/  { name = "klagg, busy, 16, no consumer"; n = 16 }
  /^process_trade\/quiet_16_intervals/             { name = "klagg, quiet, 16 intervals"; n = 16 }
  /^trade_aggregation\/1m_ohlcv/                   { name = "trade_aggregation, busy, 1m"; n = 1 }
  /time:/ && name != "" {
    match($0, /\[[^]]*\]/)
    split(substr($0, RSTART + 1, RLENGTH - 2), part, " ")
    v = part[3]; u = part[4]
    ns = (u == "ms") ? v * 1e6 : (u == "s") ? v * 1e9 : (u == "µs" || u == "us") ? v * 1e3 : v
    printf "%-32s %7.2f ns/trade %6.2f ns/(trade x interval)\n", name, ns / 1e6, ns / 1e6 / n
    name = ""
  }' target/bench-aggregate.txt
