//! Exact warm start at the shard: an engine that starts in the middle of every open period
//! rebuilds each from an exchange's REST klines (days, hours, minutes) and REST trades since
//! the minute, joined with its live trades by agg id, and then holds exactly the klines of a
//! shard that saw every trade from the start.

mod common;

use std::collections::BTreeMap;

use common::{T0, TwoSymbolMarket, consumer, pull};
use klagg::aggregator::{GapFillConfig, Shard, ShardConfig, WarmStart};
use klagg::backfill::{open_klines, plan};
use klagg::interval::Interval;
use klagg::kline::Kline;
use klagg::trade::AggTradePayload;

const INTERVALS: &str = "1s,1m,5m,1h,4h,1d,1w,1M";
const SYMBOLS: u32 = 2;
const DAY: i64 = 86_400_000;

/// Two symbols trading about every half minute for two and a half days from 2024-01-01 (a
/// Monday, the first of a month), then every 100 ms or so for the last ten minutes.
fn market() -> Vec<AggTradePayload> {
    let mut market = TwoSymbolMarket::new(0x2545_f491_4f6c_dd1d);
    let quiet_until = T0 + 2 * DAY + DAY / 2;
    let end = quiet_until + 600_000;
    let mut trades = Vec::new();
    let mut time = T0 + 400;
    while time < end {
        time += if time < quiet_until {
            (market.random() % 60_000) as i64
        } else {
            (market.random() % 200) as i64
        };
        trades.push(market.trade_at(time));
    }
    trades
}

fn shard(intervals: &str) -> Shard {
    let mut config = ShardConfig::new(Interval::parse_list(intervals).unwrap(), SYMBOLS);
    config.gap_fill = GapFillConfig::LIVE;
    Shard::new(config).unwrap()
}

/// Every kline a consumer of `shard` holds after `feed` (later versions replacing earlier
/// ones) and the open ones at the end, by (symbol, interval, open time).
fn watch(shard: &mut Shard, feed: impl FnOnce(&mut Shard)) -> BTreeMap<(u32, u16, i64), Kline> {
    let (mut c, rx) = consumer(shard);
    feed(shard);
    let mut held = BTreeMap::new();
    for r in pull(shard, &mut c, &rx).closed {
        held.insert((r.symbol, r.interval, r.kline.open_time), r.kline);
    }
    for symbol in 0..SYMBOLS {
        for interval in 0..shard.intervals().len() {
            if let Some(k) = shard.open_kline(symbol, interval) {
                held.insert((symbol, interval as u16, k.open_time), k);
            }
        }
    }
    held
}

/// The exchange's REST klines of `interval` ("1d", "1h", "1m") opening in `start..end`: the
/// closed klines of a shard that saw `trades`.
fn rest_klines(
    trades: &[AggTradePayload],
    symbol: u32,
    interval: &str,
    start: i64,
    end: i64,
) -> Vec<Kline> {
    let mut exchange = shard(interval);
    let held = watch(&mut exchange, |s| {
        for t in trades {
            s.tick(t.trade_time_ms);
            s.process_trade(t);
        }
        s.tick(end + 10_000);
    });
    held.iter()
        .filter(|((sym, _, open), _)| *sym == symbol && (start..end).contains(open))
        .map(|(_, k)| *k)
        .collect()
}

#[test]
fn an_engine_started_mid_period_rebuilds_every_open_kline_exactly() {
    let trades = market();
    let intervals = Interval::parse_list(INTERVALS).unwrap();
    // The engine starts 3 minutes before the market's end: its first live trade is then.
    let start_at = trades[trades.len() - 1].trade_time_ms - 180_000;
    let first_live = trades
        .iter()
        .position(|t| t.trade_time_ms >= start_at)
        .unwrap();
    let warm = plan(&intervals, start_at);
    // What the exchange answers, a moment after the engine started: klines before the
    // plan's minute, and trades from it on up to a little after the first live trade.
    let before: Vec<AggTradePayload> = trades[..first_live + 50].to_vec();
    let fetched_at = before.last().unwrap().trade_time_ms;
    let states: Vec<WarmStart> = (0..SYMBOLS)
        .map(|symbol| {
            let fetched: Vec<Vec<Kline>> = warm
                .ranges
                .iter()
                .map(|r| rest_klines(&before, symbol, r.interval, r.start_ms, r.end_ms))
                .collect();
            WarmStart {
                symbol,
                from_ms: warm.from_ms,
                open: open_klines(&intervals, &warm, &fetched).expect("complete klines"),
                trades: before
                    .iter()
                    .filter(|t| t.symbol == symbol && t.trade_time_ms >= warm.from_ms)
                    .copied()
                    .collect(),
            }
        })
        .collect();

    let mut engine = shard(INTERVALS);
    let held = watch(&mut engine, |s| {
        for symbol in 0..SYMBOLS {
            assert!(s.begin_warm(symbol));
        }
        let mut states = Some(states);
        for t in &trades[first_live..] {
            s.tick(t.trade_time_ms);
            s.process_trade(t);
            if t.trade_time_ms >= fetched_at
                && let Some(states) = states.take()
            {
                for state in states {
                    assert!(s.finish_warm(state));
                }
            }
        }
    });
    assert!(!engine.warming(0) && !engine.warming(1));
    assert_eq!(engine.stats().warm_starts, 2, "{:?}", engine.stats());
    assert_eq!(
        engine.stats().trades,
        trades.len() as u64 - before_from(&trades, warm.from_ms)
    );

    let reference = watch(&mut shard(INTERVALS), |s| {
        for t in &trades {
            s.tick(t.trade_time_ms);
            s.process_trade(t);
        }
    });
    // Every kline the engine holds is the exchange's, open ones included; and it holds every
    // period from the ones open when it started.
    let mut checked = 0;
    for (key, kline) in &held {
        assert_eq!(Some(kline), reference.get(key), "{key:?}");
        checked += 1;
    }
    for (key, kline) in reference.iter().filter(|((_, interval, open), _)| {
        *open >= intervals[*interval as usize].open_time(warm.from_ms)
    }) {
        assert_eq!(held.get(key), Some(kline), "{key:?} missing");
    }
    assert!(checked > 100, "klines checked: {checked}");
}

/// How many trades come before `from_ms`: they are in the rebuilt klines, not applied.
fn before_from(trades: &[AggTradePayload], from_ms: i64) -> u64 {
    trades.iter().filter(|t| t.trade_time_ms < from_ms).count() as u64
}
