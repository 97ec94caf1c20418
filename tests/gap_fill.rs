//! Gaps in a symbol's agg ids filled after the fact, by a backfill or by a second connection:
//! the klines a consumer ends up with (later versions replacing earlier ones) equal those of a
//! shard that saw every trade in order, empty periods of the gap included. What never comes is
//! counted.

mod common;

use std::collections::BTreeMap;

use common::{T0, TwoSymbolMarket, consumer, pull};
use crossbeam_channel::Receiver;
use klagg::aggregator::{
    DeltaConsumer, GapFillConfig, KlineRecord, Shard, ShardConfig, ShardRequest, TradeOutcome,
};
use klagg::interval::Interval;
use klagg::kline::Kline;
use klagg::trade::AggTradePayload;

const INTERVALS: &str = "1s,1m,5m,1h";
const SYMBOLS: u32 = 2;

/// A market of two symbols over about twenty minutes, with pauses of up to 4 s so that many
/// 1s periods are empty: agg ids consecutive per symbol, raw ids consecutive too.
fn market() -> Vec<AggTradePayload> {
    let mut market = TwoSymbolMarket::new(0x9e37_79b9_7f4a_7c15);
    let mut time = T0 + 400;
    (0..3_000)
        .map(|_| {
            time += (market.random() % 800) as i64;
            market.trade_at(time)
        })
        .collect()
}

fn live_shard(gap_fill: GapFillConfig) -> Shard {
    let mut config = ShardConfig::new(Interval::parse_list(INTERVALS).expect("intervals"), SYMBOLS);
    config.gap_fill = gap_fill;
    Shard::new(config).expect("shard")
}

/// A shard and one consumer of it, whose pulls are folded into what the consumer holds.
struct Watched {
    shard: Shard,
    consumer: DeltaConsumer,
    requests: Receiver<ShardRequest>,
    /// Closed klines by (symbol, interval, open time), later versions replacing earlier ones.
    closed: BTreeMap<(u32, u16, i64), Kline>,
}

impl Watched {
    fn new(gap_fill: GapFillConfig) -> Watched {
        let mut shard = live_shard(gap_fill);
        let (consumer, requests) = consumer(&mut shard);
        Watched {
            shard,
            consumer,
            requests,
            closed: BTreeMap::new(),
        }
    }

    /// A live trade, after the clock reached its time.
    fn trade(&mut self, trade: &AggTradePayload) -> TradeOutcome {
        self.shard.tick(trade.trade_time_ms);
        self.shard.process_trade(trade)
    }

    /// Pulls once, folding the closed klines in; returns them as they came.
    fn pull(&mut self) -> Vec<KlineRecord> {
        let delta = pull(&mut self.shard, &mut self.consumer, &self.requests);
        for r in &delta.closed {
            self.closed
                .insert((r.symbol, r.interval, r.kline.open_time), r.kline);
        }
        delta.closed
    }

    /// Everything the consumer holds now: closed klines and the open ones.
    fn klines(&mut self) -> BTreeMap<(u32, u16, i64), Kline> {
        self.pull();
        let mut all = self.closed.clone();
        for symbol in 0..SYMBOLS {
            for interval in 0..self.shard.intervals().len() {
                if let Some(k) = self.shard.open_kline(symbol, interval) {
                    all.insert((symbol, interval as u16, k.open_time), k);
                }
            }
        }
        all
    }
}

/// What a shard that saw exactly `trades`, in order, holds.
fn reference(trades: &[AggTradePayload]) -> BTreeMap<(u32, u16, i64), Kline> {
    let mut watched = Watched::new(GapFillConfig::OFF);
    for t in trades {
        watched.trade(t);
    }
    watched.klines()
}

/// Asserts that a consumer holds exactly the klines it should, naming the first differences.
#[track_caller]
fn assert_same(
    actual: &BTreeMap<(u32, u16, i64), Kline>,
    expected: &BTreeMap<(u32, u16, i64), Kline>,
) {
    let differing: Vec<String> = expected
        .iter()
        .filter(|(key, kline)| actual.get(key) != Some(kline))
        .map(|(key, kline)| format!("{key:?}: expected {kline:?}, got {:?}", actual.get(key)))
        .chain(
            actual
                .keys()
                .filter(|key| !expected.contains_key(key))
                .map(|key| format!("{key:?}: not expected")),
        )
        .collect();
    assert!(
        differing.is_empty(),
        "{} klines differ, first: {:#?}",
        differing.len(),
        &differing[..differing.len().min(3)]
    );
}

/// Symbol 0's trades with agg ids in `from..=to`.
fn hole(from: i64, to: i64) -> impl Fn(&AggTradePayload) -> bool {
    move |t| t.symbol == 0 && (from..=to).contains(&t.agg_id)
}

/// Agg ids of symbol 0 a few minutes in: a hole of about a minute and a half.
const HOLE: (i64, i64) = (1_300, 1_400);

/// The live settings, but waiting as long as the whole market lasts.
const PATIENT: GapFillConfig = GapFillConfig {
    timeout_ms: 3_600_000,
    ..GapFillConfig::LIVE
};

#[test]
fn a_backfilled_gap_leaves_every_kline_as_if_nothing_was_missing() {
    let trades = market();
    let in_hole = hole(HOLE.0, HOLE.1);
    let mut engine = Watched::new(PATIENT);
    let mut outcomes = Vec::new();
    for t in trades.iter().filter(|t| !in_hole(t)) {
        outcomes.push(engine.trade(t));
        // Consumers pull along, so they hold the klines the gap got wrong.
        if outcomes.len() % 100 == 0 {
            engine.pull();
        }
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == TradeOutcome::AppliedAfterGap)
            .count(),
        1
    );
    assert!(engine.shard.gap_pending(0));
    assert!(!engine.shard.gap_pending(1));
    let before_fill = engine.klines();
    assert_ne!(
        before_fill,
        reference(&trades),
        "the gap shows before it is filled"
    );

    // The backfill delivers the missing trades in two pages, after the live stream went on.
    let missing: Vec<_> = trades.iter().filter(|t| in_hole(t)).copied().collect();
    let (first, second) = missing.split_at(missing.len() / 2);
    for t in first {
        assert!(engine.shard.fill_trade(t));
    }
    assert!(engine.shard.gap_pending(0), "half a fill is not a fill");
    engine.pull();
    for t in second {
        assert!(engine.shard.fill_trade(t));
    }
    assert!(!engine.shard.gap_pending(0));
    assert_same(&engine.klines(), &reference(&trades));
    let stats = engine.shard.stats();
    assert_eq!(
        (stats.gaps, stats.gaps_filled, stats.gaps_unfilled),
        (1, 1, 0)
    );
    assert_eq!(stats.gap_trades_filled, missing.len() as u64);
    assert_eq!(stats.trades, trades.len() as u64);
    assert!(stats.gap_corrections > 0);
    assert!(
        !engine.shard.fill_trade(&missing[0]),
        "a trade of a filled gap is not taken again"
    );
}

#[test]
fn a_pending_gap_holds_its_symbols_periods_until_the_fill() {
    let trades = market();
    let in_hole = hole(HOLE.0, HOLE.1);
    let mut engine = Watched::new(PATIENT);
    let mut gap_seen = false;
    let mut held_wrongly = Vec::new();
    for t in trades.iter().filter(|t| !in_hole(t)) {
        // What the clock closes before the trade that shows the gap is no concern of it.
        engine.shard.tick(t.trade_time_ms);
        let mut closed = engine.pull();
        if !gap_seen {
            closed.clear();
        }
        engine.shard.process_trade(t);
        gap_seen |= engine.shard.gap_pending(0);
        closed.extend(engine.pull());
        if gap_seen {
            held_wrongly.extend(
                closed
                    .into_iter()
                    .filter(|r| r.symbol == 0 && r.kline.is_empty()),
            );
        }
    }
    assert!(gap_seen);
    assert_eq!(engine.shard.stats().gaps_pending, 1);
    assert!(
        held_wrongly.is_empty(),
        "{} empty klines of symbol 0 emitted while its gap was pending, first {:?}",
        held_wrongly.len(),
        held_wrongly.first()
    );
    // The clock runs far past the last trade: the other symbol's periods close, symbol 0's wait.
    let end = trades.last().expect("trades").trade_time_ms + 600_000;
    engine.shard.tick(end);
    let closed = engine.pull();
    assert!(closed.iter().any(|r| r.symbol == 1));
    assert!(
        closed.iter().all(|r| r.symbol != 0),
        "symbol 0 closed while waiting"
    );

    for t in trades.iter().filter(|t| in_hole(t)) {
        engine.shard.fill_trade(t);
    }
    assert_eq!(engine.shard.stats().gaps_pending, 0);
    engine.shard.tick(end);
    let mut reference = Watched::new(GapFillConfig::OFF);
    for t in &trades {
        reference.trade(t);
    }
    reference.shard.tick(end);
    assert_same(&engine.klines(), &reference.klines());
}

#[test]
fn a_second_connection_fills_the_gap_of_the_first() {
    let trades = market();
    let in_hole = hole(HOLE.0, HOLE.1);
    let mut engine = Watched::new(PATIENT);
    // The first connection missed the hole; the second carries everything, a little later.
    // Of the hole's trades, those the second brings before the first jumps ahead are simply
    // the next trades; the rest fill the gap the jump opens.
    // Two trades behind: under the close grace, as redundant connections to one exchange are.
    let lag = 2;
    let (mut applied, mut filled, mut duplicates) = (0, 0, 0);
    for (i, t) in trades.iter().enumerate() {
        if !in_hole(t) {
            engine.trade(t);
        }
        if i >= lag {
            match engine.trade(&trades[i - lag]) {
                TradeOutcome::Applied => applied += 1,
                TradeOutcome::Filled => filled += 1,
                TradeOutcome::Duplicate => duplicates += 1,
                other => panic!("the second connection's trade {i}: {other:?}"),
            }
        }
    }
    for t in &trades[trades.len() - lag..] {
        engine.trade(t);
    }
    let missing = trades.iter().filter(|t| in_hole(t)).count();
    assert!(
        filled > 0,
        "the jump came before the second connection caught up"
    );
    assert_eq!(applied + filled, missing);
    assert_eq!(duplicates + missing + lag, trades.len());
    assert_eq!(engine.shard.stats().gaps_filled, 1);
    assert_same(&engine.klines(), &reference(&trades));
}

#[test]
fn a_redundant_stream_asks_the_backfill_only_for_what_the_other_connection_did_not_bring() {
    let trades = market();
    let mut engine = Watched::new(GapFillConfig::REDUNDANT);
    let mut gaps = Vec::new();
    // Symbol 0 jumps twice: the first hole is filled 300 ms later by the other connection, the
    // second never is.
    let first = hole(1_200, 1_230);
    let second = hole(1_500, 1_520);
    let mut first_fill_at = None;
    for t in trades.iter().filter(|t| !first(t) && !second(t)) {
        engine.trade(t);
        if t.symbol == 0 && t.agg_id == 1_231 {
            first_fill_at = Some(t.trade_time_ms + 300);
        }
        if first_fill_at.is_some_and(|at| t.trade_time_ms >= at) {
            first_fill_at = None;
            for f in trades.iter().filter(|t| first(t)) {
                assert!(engine.shard.fill_trade(f));
            }
        }
        engine.shard.take_gaps(&mut gaps);
    }
    let asked: Vec<(u32, i64, i64)> = gaps
        .iter()
        .map(|g| (g.symbol, g.from_agg_id, g.to_agg_id))
        .collect();
    assert_eq!(asked, [(0, 1_500, 1_520)], "only the hole nobody filled");
    let stats = engine.shard.stats();
    // The second was given up by the clock: the market outlasts the 5 minutes' wait.
    assert_eq!(
        (stats.gaps, stats.gaps_filled, stats.gaps_unfilled),
        (2, 1, 1)
    );
}

#[test]
fn a_redundant_streams_gap_goes_to_the_backfill_after_a_second() {
    let trades = market();
    let in_hole = hole(HOLE.0, HOLE.1);
    let mut engine = Watched::new(GapFillConfig::REDUNDANT);
    let mut gaps = Vec::new();
    let mut found_at = None;
    for t in trades.iter().filter(|t| !in_hole(t)) {
        engine.trade(t);
        if t.symbol == 0 && t.agg_id == HOLE.1 + 1 {
            found_at = Some(t.trade_time_ms);
        }
        engine.shard.take_gaps(&mut gaps);
        if !gaps.is_empty() {
            let waited = t.trade_time_ms - found_at.expect("found before reported");
            assert!(
                (1_000..2_000).contains(&waited),
                "reported after {waited} ms"
            );
            break;
        }
    }
    assert_eq!(gaps.len(), 1);
    assert_eq!((gaps[0].from_agg_id, gaps[0].to_agg_id), HOLE);
}

#[test]
fn a_gap_given_up_keeps_what_came_and_counts_the_rest() {
    let trades = market();
    let in_hole = hole(HOLE.0, HOLE.1);
    let mut engine = Watched::new(PATIENT);
    for t in trades.iter().filter(|t| !in_hole(t)) {
        engine.trade(t);
    }
    let missing: Vec<_> = trades.iter().filter(|t| in_hole(t)).copied().collect();
    let came = &missing[..missing.len() / 3];
    for t in came {
        engine.shard.fill_trade(t);
    }
    assert!(engine.shard.abandon_gap(0));
    assert!(!engine.shard.abandon_gap(0), "nothing left to give up");
    let never: Vec<i64> = missing[came.len()..].iter().map(|t| t.agg_id).collect();
    let known: Vec<_> = trades
        .iter()
        .filter(|t| t.symbol != 0 || !never.contains(&t.agg_id))
        .copied()
        .collect();
    assert_same(&engine.klines(), &reference(&known));
    let stats = engine.shard.stats();
    assert_eq!((stats.gaps_filled, stats.gaps_unfilled), (0, 1));
    assert_eq!(stats.gap_ids_unfilled, never.len() as u64);
    assert_eq!(stats.gap_trades_filled, came.len() as u64);
}

#[test]
fn two_jumps_before_the_fill_are_one_pending_gap_filled_together() {
    let trades = market();
    let first = hole(1_200, 1_230);
    let second = hole(1_500, 1_520);
    let mut engine = Watched::new(PATIENT);
    for t in trades.iter().filter(|t| !first(t) && !second(t)) {
        engine.trade(t);
    }
    assert_eq!(engine.shard.stats().gaps, 2);
    for t in trades.iter().filter(|t| second(t)) {
        engine.shard.fill_trade(t);
    }
    assert!(engine.shard.gap_pending(0));
    for t in trades.iter().filter(|t| first(t)) {
        engine.shard.fill_trade(t);
    }
    assert!(!engine.shard.gap_pending(0));
    assert_same(&engine.klines(), &reference(&trades));
    assert_eq!(engine.shard.stats().gaps_filled, 1);
}

#[test]
fn a_gap_not_filled_in_time_is_given_up_by_the_clock() {
    let trades = market();
    let in_hole = hole(HOLE.0, HOLE.1);
    let config = GapFillConfig {
        timeout_ms: 60_000,
        ..PATIENT
    };
    let mut engine = Watched::new(config);
    let mut given_up_at = None;
    for t in trades.iter().filter(|t| !in_hole(t)) {
        engine.trade(t);
        if given_up_at.is_none() && engine.shard.stats().gaps_unfilled == 1 {
            given_up_at = Some(t.trade_time_ms);
        }
    }
    let found = trades
        .iter()
        .find(|t| t.symbol == 0 && t.agg_id == HOLE.1 + 1)
        .expect("trade after the hole")
        .trade_time_ms;
    let given_up_at = given_up_at.expect("given up");
    assert!(given_up_at - found >= 60_000 && given_up_at - found < 65_000);
    let missing = trades.iter().filter(|t| in_hole(t)).count() as u64;
    assert_eq!(engine.shard.stats().gap_ids_unfilled, missing);
    let known: Vec<_> = trades.iter().filter(|t| !in_hole(t)).copied().collect();
    assert_same(&engine.klines(), &reference(&known));
}

#[test]
fn live_trades_kept_for_gaps_are_bounded() {
    let trades = market();
    let in_hole = hole(HOLE.0, HOLE.1);
    let config = GapFillConfig {
        max_buffered_trades: 50,
        ..PATIENT
    };
    let mut engine = Watched::new(config);
    for t in trades.iter().filter(|t| !in_hole(t)) {
        engine.trade(t);
    }
    assert!(!engine.shard.gap_pending(0), "given up past the bound");
    assert_eq!(engine.shard.stats().gaps_unfilled, 1);
    let missing: Vec<_> = trades.iter().filter(|t| in_hole(t)).collect();
    assert!(!engine.shard.fill_trade(missing[0]), "too late to fill");
}

#[test]
fn a_claimed_tail_leaves_every_kline_as_if_nothing_was_missing() {
    let trades = market();
    // Symbol 0 trades for the last time at agg id HOLE.1, and its trades from HOLE.0 on never
    // reach the engine: no later trade shows the loss. Symbol 1 trades on for many minutes.
    let exchange: Vec<_> = trades
        .iter()
        .filter(|t| t.symbol != 0 || t.agg_id <= HOLE.1)
        .copied()
        .collect();
    let in_tail = hole(HOLE.0, HOLE.1);
    let mut engine = Watched::new(PATIENT);
    for (i, t) in exchange.iter().filter(|t| !in_tail(t)).enumerate() {
        engine.trade(t);
        if i % 100 == 0 {
            engine.pull();
        }
    }
    assert_eq!(
        engine.shard.stats().gaps,
        0,
        "no later trade shows the loss"
    );
    assert_ne!(engine.klines(), reference(&exchange));

    // A tail check's page: the claim, then its trades.
    assert!(engine.shard.claim_tail(0, HOLE.0, HOLE.1));
    for t in exchange.iter().filter(|t| in_tail(t)) {
        assert!(engine.shard.fill_trade(t));
    }
    assert!(!engine.shard.gap_pending(0));
    assert_same(&engine.klines(), &reference(&exchange));
    let stats = engine.shard.stats();
    assert_eq!(stats.tail_trades_filled, (HOLE.1 - HOLE.0 + 1) as u64);
    assert_eq!((stats.tail_gaps, stats.gaps_filled), (1, 1));
    assert_eq!(stats.trades, exchange.len() as u64);
    assert!(stats.gap_corrections > 0);
}
