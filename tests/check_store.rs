//! `klagg check-store` against a run whose database it did not make: klines built by the
//! engine's shard from recorded trades, stored as the sink stores them (closed klines and the
//! open ones at stop), then checked against the recorder's files. A run that lost its last
//! trades must show them as lost, whatever interval or open kline they were in.

use std::time::Duration;

use klagg::aggregator::{DeltaConsumer, Shard, ShardConfig};
use klagg::check_store::{CheckOptions, CheckReport, check};
use klagg::interval::Interval;
use klagg::kline::Kline;
use klagg::sim::market::Recorder;
use klagg::sim::{SimTrade, SymbolSpec};
use klagg::store::KlineStore;

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;
const INTERVALS: &str = "1s,1m,1h,1d,1w,1M";

fn specs() -> Vec<SymbolSpec> {
    ["AAAUSDT", "BBBUSDT"]
        .iter()
        .map(|name| SymbolSpec {
            name: (*name).to_owned(),
            price_decimals: 2,
            quantity_decimals: 3,
            listed_at_ms: None,
        })
        .collect()
}

/// Two symbols trading every 70 ms (and 110 ms) for 5 s; raw trade ids three per aggregate.
fn trades() -> Vec<SimTrade> {
    let mut trades = Vec::new();
    for (symbol, step) in [(0u32, 70i64), (1, 110)] {
        for n in 0..5_000 / step {
            let agg_id = 1_000 + n;
            trades.push(SimTrade {
                symbol,
                agg_id,
                price: 1_000_000 + (n % 17) * 100,
                quantity: 1_000 + n * 10,
                first_trade_id: agg_id * 3,
                last_trade_id: agg_id * 3 + 2,
                time_ms: T0 + 10 + n * step,
                is_buyer_maker: n % 3 == 0,
            });
        }
    }
    trades
}

/// What a run that applied `applied` stored: every closed kline and the open ones at stop.
fn store_run(path: &std::path::Path, intervals: &[Interval], applied: &[SimTrade]) {
    let mut config = ShardConfig::new(intervals.to_vec(), 2);
    config.max_backlog = 1_000_000;
    let mut shard = Shard::new(config).unwrap();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let mut consumer = DeltaConsumer::new(shard.register_consumer(), tx);
    for trade in applied {
        shard.process_trade(&trade.payload(trade.time_ms));
    }
    consumer.request().unwrap();
    shard.serve_requests(&rx);
    let delta = consumer.receive(Duration::ZERO).unwrap();
    let names = specs();
    let rows: Vec<(String, Interval, Kline)> = delta
        .open
        .iter()
        .chain(&delta.closed)
        .map(|r| {
            let name = names[r.symbol as usize].name.clone();
            (name, intervals[usize::from(r.interval)], r.kline)
        })
        .collect();
    KlineStore::open(path).unwrap().write_batch(&rows).unwrap();
}

/// Records `trades`, stores what a run that applied `applied` would, and checks.
fn check_run(trades: &[SimTrade], applied: &[SimTrade]) -> CheckReport {
    let dir = tempfile::tempdir().unwrap();
    let recorded = dir.path().join("trades");
    let mut recorder = Recorder::create(&recorded, &specs()).unwrap();
    for trade in trades {
        recorder.record(trade).unwrap();
    }
    recorder.finish().unwrap();
    let intervals = Interval::parse_list(INTERVALS).unwrap();
    let database = dir.path().join("klines.sqlite");
    store_run(&database, &intervals, applied);
    check(&CheckOptions {
        trades: recorded,
        database,
        intervals,
    })
    .unwrap()
}

#[test]
fn a_run_that_applied_every_trade_checks_exact() {
    let trades = trades();
    let report = check_run(&trades, &trades);
    assert!(report.is_exact(), "{report:?}");
    assert_eq!(report.symbols, 2);
    // 1s: 5 seconds; every coarser interval one open kline; two symbols.
    assert_eq!(report.klines, 2 * (5 + 5));
    assert_eq!(report.fields(), "klines=20 mismatches=0 lost_trades=0");
}

#[test]
fn trades_lost_at_the_very_end_are_counted_even_in_the_open_klines() {
    let trades = trades();
    // The last 150 ms of trading never reached the engine: two trades of symbol 0, one of 1.
    let end = trades.iter().map(|t| t.time_ms).max().unwrap();
    let applied: Vec<SimTrade> = trades
        .iter()
        .filter(|t| t.time_ms <= end - 150)
        .copied()
        .collect();
    let lost_raw: i64 = trades
        .iter()
        .filter(|t| t.time_ms > end - 150)
        .map(|t| t.last_trade_id - t.first_trade_id + 1)
        .sum();
    assert!(lost_raw > 0);
    let report = check_run(&trades, &applied);
    assert_eq!(report.lost_trades, lost_raw as u64, "{report:?}");
    assert!(report.mismatches > 0, "{report:?}");
    assert!(!report.is_exact());
    assert!(
        report
            .fields()
            .ends_with(&format!("lost_trades={lost_raw}"))
    );
}

#[test]
fn a_stored_kline_no_recorded_trade_explains_is_a_mismatch() {
    let trades = trades();
    let mut more = trades.clone();
    let last = *more.last().unwrap();
    more.push(SimTrade {
        agg_id: last.agg_id + 1,
        first_trade_id: last.last_trade_id + 1,
        last_trade_id: last.last_trade_id + 1,
        time_ms: last.time_ms + 2_000,
        ..last
    });
    let report = check_run(&trades, &more);
    assert!(report.mismatches > 0, "{report:?}");
    assert_eq!(report.lost_trades, 0);
}
