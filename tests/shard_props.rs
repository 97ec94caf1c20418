//! Property tests of the shard against references that share none of its machinery.
//!
//! - Every pull of a shard fed random operations (trades late or in order, duplicates, trades
//!   held back and filled later by the backfill or a second connection, gaps given up, tail
//!   claims, warm starts, restored klines, ticks) equals the pull of a naive shard fed the same
//!   (`tests/support/naive_shard.rs`): the same closed klines of each (symbol, interval) in the
//!   same order, the same changed open klines, the same counters.
//! - A shard that in the end got every trade (gaps filled, tails claimed) holds exactly the
//!   klines the oracle builds from all of them, for every interval.

#[path = "support/naive_shard.rs"]
mod naive_shard;

use std::collections::BTreeMap;
use std::time::Duration;

use crossbeam_channel::{Receiver, bounded};
use klagg::aggregator::{
    Delta, DeltaConsumer, Gap, GapFillConfig, KlineRecord, Shard, ShardConfig, ShardRequest,
    WarmStart,
};
use klagg::interval::Interval;
use klagg::kline::Kline;
use klagg::oracle::{OracleTrade, Period, build};
use klagg::trade::AggTradePayload;
use naive_shard::NaiveShard;
use proptest::prelude::*;

const SYMBOLS: usize = 3;
const ONE: i64 = 100_000_000;

/// Interval lists: all standard ones, a few with the month and week, custom seconds and
/// minutes, and lists without `1s` (the leaf is then the shard's own).
const INTERVAL_SETS: [&str; 5] = [
    "1s,1m,3m,5m,15m,30m,1h,2h,4h,6h,8h,12h,1d,3d,1w,1M",
    "1m,5m,1h,1d,1w,1M",
    "1s,10s,1m,7m,90s",
    "15m,1m,1s,1M",
    "3m,1h",
];

/// Where a case starts: just before a month ends (2024-02-29 is a Thursday), just before a
/// week begins (Sunday 2024-03-03), and in an ordinary hour.
const STARTS: [i64; 3] = [
    1_709_251_200_000 - 200_000,
    1_709_510_400_000 - 150_000,
    1_712_000_000_000,
];

/// What happens to a trade the market makes.
#[derive(Debug, Clone, Copy)]
enum Fate {
    /// Both shards get it.
    Live,
    /// They get it, then an earlier trade of the symbol again.
    WithDuplicate,
    /// It is held back, for a fill or a second connection later.
    Withheld,
}

#[derive(Debug, Clone)]
enum Op {
    Trade {
        symbol: usize,
        advance_ms: i64,
        late_ms: i64,
        step: i64,
        quantity: i64,
        raw: i64,
        maker: bool,
        fate: Fate,
    },
    Tick {
        advance_ms: i64,
    },
    Pull,
    Fill {
        symbol: usize,
        count: usize,
        by_live_stream: bool,
        newest_first: bool,
    },
    AbandonGap {
        symbol: usize,
    },
    ClaimTail {
        symbol: usize,
    },
    BeginWarm {
        symbol: usize,
    },
    FinishWarm {
        symbol: usize,
        minutes_back: i64,
    },
    AbandonWarm {
        symbol: usize,
    },
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        8 => Just(Fate::Live),
        1 => Just(Fate::WithDuplicate),
        2 => Just(Fate::Withheld),
    ]
}

fn op(late: bool) -> impl Strategy<Value = Op> {
    let late_ms = if late {
        prop_oneof![4 => Just(0i64), 1 => 1..4_000i64].boxed()
    } else {
        Just(0i64).boxed()
    };
    let symbol = 0..SYMBOLS;
    prop_oneof![
        30 => (symbol.clone(), 0..2_500i64, late_ms, -5..=5i64, 1..1_000i64, 1..=3i64, any::<bool>(), fate())
            .prop_map(|(symbol, advance_ms, late_ms, step, quantity, raw, maker, fate)| Op::Trade {
                symbol, advance_ms, late_ms, step, quantity, raw, maker, fate,
            }),
        4 => (0..4_000i64).prop_map(|advance_ms| Op::Tick { advance_ms }),
        4 => Just(Op::Pull),
        4 => (symbol.clone(), 1..6usize, any::<bool>(), any::<bool>()).prop_map(
            |(symbol, count, by_live_stream, newest_first)| Op::Fill {
                symbol, count, by_live_stream, newest_first,
            }
        ),
        1 => symbol.clone().prop_map(|symbol| Op::AbandonGap { symbol }),
        1 => symbol.clone().prop_map(|symbol| Op::ClaimTail { symbol }),
        1 => symbol.clone().prop_map(|symbol| Op::BeginWarm { symbol }),
        1 => (symbol.clone(), 0..3i64).prop_map(|(symbol, minutes_back)| Op::FinishWarm { symbol, minutes_back }),
        1 => symbol.prop_map(|symbol| Op::AbandonWarm { symbol }),
    ]
}

/// How a case is set up.
#[derive(Debug, Clone)]
struct Setup {
    intervals: &'static str,
    start_ms: i64,
    grace_ms: i64,
    gap_fill: GapFillConfig,
    /// Intervals whose open kline of symbol 0 is restored before the first trade.
    restored: Vec<bool>,
}

fn setup() -> impl Strategy<Value = Setup> {
    let gap_fill = prop_oneof![
        Just(GapFillConfig::OFF),
        Just(GapFillConfig {
            timeout_ms: 60_000,
            ..GapFillConfig::LIVE
        }),
        Just(GapFillConfig {
            timeout_ms: 45_000,
            max_buffered_trades: 25,
            max_pending: 2,
            ..GapFillConfig::REDUNDANT
        }),
    ];
    (
        0..INTERVAL_SETS.len(),
        0..STARTS.len(),
        prop_oneof![Just(1_500i64), Just(250i64)],
        gap_fill,
        prop::collection::vec(any::<bool>(), 16),
    )
        .prop_map(|(set, start, grace_ms, gap_fill, restored)| Setup {
            intervals: INTERVAL_SETS[set],
            start_ms: STARTS[start],
            grace_ms,
            gap_fill,
            restored,
        })
}

/// The exchange: each symbol's next agg and raw ids and price, and every trade it made.
struct Market {
    clock: i64,
    next_agg: [i64; SYMBOLS],
    next_raw: [i64; SYMBOLS],
    price: [i64; SYMBOLS],
    trades: Vec<AggTradePayload>,
    withheld: [Vec<AggTradePayload>; SYMBOLS],
}

impl Market {
    fn new(start_ms: i64) -> Market {
        Market {
            clock: start_ms,
            next_agg: [100, 5_000, 70_000],
            next_raw: [1_000, 50_000, 700_000],
            price: [50 * ONE, 3 * ONE, 2_000 * ONE],
            trades: Vec::new(),
            withheld: Default::default(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn trade(
        &mut self,
        symbol: usize,
        time: i64,
        step: i64,
        quantity: i64,
        raw: i64,
        maker: bool,
    ) -> AggTradePayload {
        self.price[symbol] = (self.price[symbol] + step * ONE / 100).max(1);
        let trade = AggTradePayload {
            symbol: symbol as u32,
            is_buyer_maker: maker,
            price: self.price[symbol],
            quantity: quantity * ONE / 1_000,
            agg_id: self.next_agg[symbol],
            first_trade_id: self.next_raw[symbol],
            last_trade_id: self.next_raw[symbol] + raw - 1,
            trade_time_ms: time,
            event_time_ms: time,
        };
        self.next_agg[symbol] += 1;
        self.next_raw[symbol] += raw;
        self.trades.push(trade);
        trade
    }

    /// What the exchange's REST answers for a warm start of `symbol` from `from_ms`: each
    /// interval's open kline from the trades before it (no trade ids, as REST klines), and its
    /// trades from it on.
    fn warm_start(&self, symbol: usize, intervals: &[&str], from_ms: i64) -> WarmStart {
        let mut before: Vec<&AggTradePayload> = self
            .trades
            .iter()
            .filter(|t| t.symbol as usize == symbol && t.trade_time_ms < from_ms)
            .collect();
        before.sort_by_key(|t| t.agg_id);
        let open = intervals
            .iter()
            .map(|name| {
                let Some(last) = before.last() else {
                    return Kline::empty(i64::MIN, i64::MIN, 0);
                };
                let period = Period::parse(name).expect("interval");
                let start = period.start_of(from_ms);
                let mut kline = Kline::empty(start, period.next(start) - 1, last.price);
                for t in before.iter().filter(|t| t.trade_time_ms >= start) {
                    kline.apply(t);
                }
                (kline.first_trade_id, kline.last_trade_id) = (-1, -1);
                kline
            })
            .collect();
        let mut trades: Vec<AggTradePayload> = self
            .trades
            .iter()
            .filter(|t| t.symbol as usize == symbol && t.trade_time_ms >= from_ms)
            .copied()
            .collect();
        trades.sort_by_key(|t| t.agg_id);
        WarmStart {
            symbol: symbol as u32,
            from_ms,
            open,
            trades,
        }
    }
}

/// The shard under test and one consumer of it.
struct Engine {
    shard: Shard,
    consumer: DeltaConsumer,
    requests: Receiver<ShardRequest>,
}

impl Engine {
    fn new(setup: &Setup) -> Engine {
        let mut config = ShardConfig::new(
            Interval::parse_list(setup.intervals).expect("intervals"),
            SYMBOLS as u32,
        );
        config.close_grace_ms = setup.grace_ms;
        config.gap_fill = setup.gap_fill;
        config.max_recorded_gaps = 64;
        let mut shard = Shard::new(config).expect("shard");
        let (tx, requests) = bounded(4);
        let consumer = DeltaConsumer::new(shard.register_consumer(), tx);
        Engine {
            shard,
            consumer,
            requests,
        }
    }

    fn pull(&mut self) -> Delta {
        self.consumer.request().expect("request");
        self.shard.serve_requests(&self.requests);
        self.consumer.receive(Duration::ZERO).expect("delta")
    }
}

/// Closed klines per (symbol, interval), in the order they came.
fn by_slot(closed: &[KlineRecord]) -> BTreeMap<(u32, u16), Vec<(bool, Kline)>> {
    let mut slots: BTreeMap<(u32, u16), Vec<(bool, Kline)>> = BTreeMap::new();
    for r in closed {
        slots
            .entry((r.symbol, r.interval))
            .or_default()
            .push((r.correction, r.kline));
    }
    slots
}

fn sorted_gaps(mut gaps: Vec<Gap>) -> Vec<(u32, i64, i64)> {
    let mut out: Vec<_> = gaps
        .drain(..)
        .map(|g| (g.symbol, g.from_agg_id, g.to_agg_id))
        .collect();
    out.sort_unstable();
    out
}

/// Pulls both and checks they agree.
fn compare_pulls(
    engine: &mut Engine,
    naive: &mut NaiveShard,
    step: usize,
) -> Result<(), TestCaseError> {
    let delta = engine.pull();
    let expected = naive.pull();
    prop_assert_eq!(
        by_slot(&delta.closed),
        by_slot(&expected.closed),
        "closed klines at step {}",
        step
    );
    prop_assert_eq!(&delta.open, &expected.open, "open klines at step {}", step);
    prop_assert_eq!(delta.missed_closed, 0);
    prop_assert_eq!(
        engine.shard.stats(),
        &naive.stats,
        "counters at step {}",
        step
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    engine.shard.take_gaps(&mut a);
    naive.take_gaps(&mut b);
    prop_assert_eq!(
        sorted_gaps(a),
        sorted_gaps(b),
        "gaps reported at step {}",
        step
    );
    engine.consumer.recycle(delta);
    Ok(())
}

/// Restores the open klines `setup.restored` names for symbol 0, from a minute of trades
/// before the start.
fn restore(setup: &Setup, market: &mut Market, engine: &mut Engine, naive: &mut NaiveShard) {
    let names: Vec<&str> = setup.intervals.split(',').collect();
    let prehistory: Vec<AggTradePayload> = (0..8)
        .map(|i| {
            market.trade(
                0,
                setup.start_ms - 60_000 + i * 7_300,
                i % 3 - 1,
                100 + i,
                2,
                i % 2 == 0,
            )
        })
        .collect();
    for (interval, name) in names.iter().enumerate() {
        if !setup.restored[interval] {
            continue;
        }
        let period = Period::parse(name).expect("interval");
        let start = period.start_of(setup.start_ms);
        let mut kline = Kline::empty(start, period.next(start) - 1, prehistory[7].price);
        for t in prehistory.iter().filter(|t| t.trade_time_ms >= start) {
            kline.apply(t);
        }
        let a = engine.shard.restore_open(0, interval, &kline);
        let b = naive.restore_open(0, interval, &kline);
        assert_eq!(a, b);
    }
}

/// Runs `ops` on both shards, comparing every answer and every pull.
fn run_against_naive(setup: &Setup, ops: &[Op]) -> Result<(), TestCaseError> {
    let names: Vec<&str> = setup.intervals.split(',').collect();
    let mut engine = Engine::new(setup);
    let mut naive = NaiveShard::new(&names, SYMBOLS, setup.grace_ms, setup.gap_fill, 64);
    let mut market = Market::new(setup.start_ms);
    restore(setup, &mut market, &mut engine, &mut naive);
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Trade {
                symbol,
                advance_ms,
                late_ms,
                step: price_step,
                quantity,
                raw,
                maker,
                fate,
            } => {
                market.clock += advance_ms;
                let time = market.clock - late_ms;
                let trade = market.trade(symbol, time, price_step, quantity, raw, maker);
                let mut deliver = |t: &AggTradePayload| -> Result<(), TestCaseError> {
                    let a = engine.shard.process_trade(t);
                    let b = naive.process_trade(t);
                    prop_assert_eq!(a, b, "outcome of {:?} at step {}", t, step);
                    Ok(())
                };
                match fate {
                    Fate::Live => deliver(&trade)?,
                    Fate::WithDuplicate => {
                        deliver(&trade)?;
                        let earlier = market
                            .trades
                            .iter()
                            .rev()
                            .filter(|t| t.symbol as usize == symbol)
                            .nth(1 + (quantity as usize % 3))
                            .copied();
                        if let Some(earlier) = earlier {
                            deliver(&earlier)?;
                        }
                    }
                    Fate::Withheld => market.withheld[symbol].push(trade),
                }
            }
            Op::Tick { advance_ms } => {
                market.clock += advance_ms;
                engine.shard.tick(market.clock);
                naive.tick(market.clock);
            }
            Op::Pull => compare_pulls(&mut engine, &mut naive, step)?,
            Op::Fill {
                symbol,
                count,
                by_live_stream,
                newest_first,
            } => {
                let withheld = &mut market.withheld[symbol];
                if newest_first {
                    withheld.reverse();
                }
                let taken: Vec<_> = withheld.drain(..count.min(withheld.len())).collect();
                if newest_first {
                    withheld.reverse();
                }
                for t in taken {
                    if by_live_stream {
                        let (a, b) = (engine.shard.process_trade(&t), naive.process_trade(&t));
                        prop_assert_eq!(a, b, "second connection's {:?} at step {}", t, step);
                    } else {
                        let (a, b) = (engine.shard.fill_trade(&t), naive.fill_trade(&t));
                        prop_assert_eq!(a, b, "fill of {:?} at step {}", t, step);
                    }
                }
            }
            Op::AbandonGap { symbol } => {
                let (a, b) = (
                    engine.shard.abandon_gap(symbol as u32),
                    naive.abandon_gap(symbol),
                );
                prop_assert_eq!(a, b);
            }
            Op::ClaimTail { symbol } => {
                let withheld = &market.withheld[symbol];
                if let (Some(from), Some(to)) = (
                    withheld.iter().map(|t| t.agg_id).min(),
                    withheld.iter().map(|t| t.agg_id).max(),
                ) {
                    let (a, b) = (
                        engine.shard.claim_tail(symbol as u32, from, to),
                        naive.claim_tail(symbol, from, to),
                    );
                    prop_assert_eq!(a, b, "claim at step {}", step);
                }
            }
            Op::BeginWarm { symbol } => {
                let (a, b) = (
                    engine.shard.begin_warm(symbol as u32),
                    naive.begin_warm(symbol),
                );
                prop_assert_eq!(a, b);
            }
            Op::FinishWarm {
                symbol,
                minutes_back,
            } => {
                let from_ms = market.clock.div_euclid(60_000) * 60_000 - minutes_back * 60_000;
                let data = market.warm_start(symbol, &names, from_ms);
                let (a, b) = (
                    engine.shard.finish_warm(data.clone()),
                    naive.finish_warm(data),
                );
                prop_assert_eq!(a, b);
                prop_assert_eq!(engine.shard.warming(symbol as u32), naive.warming(symbol));
            }
            Op::AbandonWarm { symbol } => {
                engine.shard.abandon_warm(symbol as u32);
                naive.abandon_warm(symbol);
            }
        }
    }
    compare_pulls(&mut engine, &mut naive, ops.len())?;
    market.clock += 400_000;
    engine.shard.tick(market.clock);
    naive.tick(market.clock);
    compare_pulls(&mut engine, &mut naive, ops.len() + 1)?;
    for symbol in 0..SYMBOLS {
        for interval in 0..names.len() {
            prop_assert_eq!(
                engine.shard.open_kline(symbol as u32, interval),
                naive.open_kline(symbol, interval)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn every_pull_equals_the_naive_shards(
        setup in setup(),
        ops in prop::collection::vec(op(true), 1..160),
    ) {
        run_against_naive(&setup, &ops)?;
    }
}

/// The oracle's view of a trade.
fn oracle_trade(t: &AggTradePayload) -> OracleTrade {
    OracleTrade {
        agg_id: t.agg_id,
        price: t.price,
        quantity: t.quantity,
        first_trade_id: t.first_trade_id,
        last_trade_id: t.last_trade_id,
        time_ms: t.trade_time_ms,
        is_buyer_maker: t.is_buyer_maker,
    }
}

/// Runs in-order trades (some duplicated, some held back) with ticks, then fills every trade
/// held back (claiming tails no later trade revealed), and checks every kline against the
/// oracle of all the trades.
fn run_against_oracle(setup: &Setup, ops: &[Op]) -> Result<(), TestCaseError> {
    let names: Vec<&str> = setup.intervals.split(',').collect();
    let mut engine = Engine::new(setup);
    let mut market = Market::new(setup.start_ms);
    let mut held: BTreeMap<(u32, u16, i64), Kline> = BTreeMap::new();
    let mut absorb = |delta: &Delta| {
        for r in &delta.closed {
            held.insert((r.symbol, r.interval, r.kline.open_time), r.kline);
        }
    };
    for op in ops {
        match *op {
            Op::Trade {
                symbol,
                advance_ms,
                step,
                quantity,
                raw,
                maker,
                fate,
                ..
            } => {
                market.clock += advance_ms;
                let first = !market.trades.iter().any(|t| t.symbol as usize == symbol);
                let trade = market.trade(symbol, market.clock, step, quantity, raw, maker);
                match fate {
                    // A symbol's first trade comes live: a tail claim needs a trade to follow.
                    Fate::Withheld if !first => market.withheld[symbol].push(trade),
                    _ => {
                        engine.shard.process_trade(&trade);
                    }
                }
                if let Fate::WithDuplicate = fate {
                    engine.shard.process_trade(&trade);
                }
            }
            Op::Tick { advance_ms } => {
                market.clock += advance_ms;
                engine.shard.tick(market.clock);
            }
            Op::Pull => {
                let delta = engine.pull();
                absorb(&delta);
                engine.consumer.recycle(delta);
            }
            _ => {}
        }
    }
    for symbol in 0..SYMBOLS {
        let withheld = std::mem::take(&mut market.withheld[symbol]);
        let tail: Vec<AggTradePayload> = withheld
            .into_iter()
            .filter(|t| !engine.shard.fill_trade(t))
            .collect();
        // Trades held back after the symbol's last delivered one: no jump shows them.
        if let (Some(first), Some(last)) = (tail.first(), tail.last()) {
            prop_assert!(
                engine
                    .shard
                    .claim_tail(symbol as u32, first.agg_id, last.agg_id)
            );
        }
        for t in &tail {
            prop_assert!(engine.shard.fill_trade(t));
        }
        prop_assert!(!engine.shard.gap_pending(symbol as u32));
    }
    market.clock += 5_000;
    engine.shard.tick(market.clock);
    let delta = engine.pull();
    absorb(&delta);
    prop_assert_eq!(engine.shard.stats().gap_ids_unfilled, 0);
    for symbol in 0..SYMBOLS {
        let trades: Vec<OracleTrade> = market
            .trades
            .iter()
            .filter(|t| t.symbol as usize == symbol)
            .map(oracle_trade)
            .collect();
        for (interval, name) in names.iter().enumerate() {
            let Some(open) = engine.shard.open_kline(symbol as u32, interval) else {
                prop_assert!(trades.is_empty());
                continue;
            };
            let mut view: Vec<Kline> = held
                .range(
                    (symbol as u32, interval as u16, i64::MIN)
                        ..=(symbol as u32, interval as u16, i64::MAX),
                )
                .map(|(_, k)| *k)
                .collect();
            view.push(open);
            let expected: Vec<Kline> = build(
                &trades,
                Period::parse(name).expect("interval"),
                open.open_time,
            )
            .into_iter()
            .map(|k| Kline {
                open_time: k.open_time,
                close_time: k.close_time,
                open: k.open,
                high: k.high,
                low: k.low,
                close: k.close,
                volume: k.volume,
                quote_volume: k.quote_volume,
                taker_buy_volume: k.taker_buy_volume,
                taker_buy_quote_volume: k.taker_buy_quote_volume,
                count: k.count,
                first_trade_id: k.first_trade_id,
                last_trade_id: k.last_trade_id,
            })
            .collect();
            prop_assert_eq!(view, expected, "symbol {} interval {}", symbol, name);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn a_complete_history_equals_the_oracle(
        setup in setup().prop_map(|s| Setup {
            gap_fill: GapFillConfig { timeout_ms: 3_600_000, ..GapFillConfig::LIVE },
            ..s
        }),
        ops in prop::collection::vec(op(false), 1..200),
    ) {
        run_against_oracle(&setup, &ops)?;
    }
}
