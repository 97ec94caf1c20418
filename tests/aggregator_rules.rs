//! The kline rules of a shard: rollover, empty periods, calendar boundaries, dedupe and gaps,
//! clock-driven closing and late-trade corrections.

mod common;

use common::{ONE, T0, consumer, pull, shard, trade};
use klagg::aggregator::{Gap, Shard, ShardConfig, TradeOutcome};
use klagg::interval::Interval;
use klagg::kline::Kline;

const MIN: i64 = 60_000;

#[test]
fn trades_in_one_period_build_one_kline() {
    let mut s = shard("1m", 4);
    s.process_trade(&trade(1, 1, T0 + 5, 100 * ONE, 2 * ONE));
    s.process_trade(&trade(1, 2, T0 + 10, 103 * ONE, ONE));
    s.process_trade(&trade(1, 3, T0 + MIN - 1, 99 * ONE, ONE));
    let k = s.open_kline(1, 0).expect("open kline");
    assert_eq!((k.open_time, k.close_time), (T0, T0 + MIN - 1));
    assert_eq!(
        (k.open, k.high, k.low, k.close),
        (100 * ONE, 103 * ONE, 99 * ONE, 99 * ONE)
    );
    assert_eq!(k.volume, i128::from(4 * ONE));
    assert_eq!(
        k.quote_volume,
        i128::from(ONE) * i128::from(ONE) * (200 + 103 + 99)
    );
    // Even agg ids are buyer-maker, so ids 1 and 3 are the taker buys.
    assert_eq!(k.taker_buy_volume, i128::from(2 * ONE + ONE));
    assert_eq!(k.count, 6);
    assert_eq!((k.first_trade_id, k.last_trade_id), (10, 31));
    assert!(
        s.open_kline(0, 0).is_none(),
        "a symbol that never traded has no kline"
    );
}

#[test]
fn boundary_closes_and_skipped_periods_become_empty_klines() {
    let mut s = shard("1m", 1);
    let (mut c, rx) = consumer(&mut s);
    s.process_trade(&trade(0, 1, T0 + MIN - 1, 10 * ONE, ONE));
    s.process_trade(&trade(0, 2, T0 + 3 * MIN, 12 * ONE, ONE));
    let delta = pull(&mut s, &mut c, &rx);
    let opens: Vec<i64> = delta.closed.iter().map(|r| r.kline.open_time).collect();
    assert_eq!(opens, vec![T0, T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(delta.closed[0].kline.close, 10 * ONE);
    for empty in &delta.closed[1..] {
        assert_eq!(
            empty.kline,
            Kline::empty(
                empty.kline.open_time,
                empty.kline.open_time + MIN - 1,
                10 * ONE
            )
        );
    }
    let open = s.open_kline(0, 0).expect("open");
    assert_eq!(
        (open.open_time, open.open, open.count),
        (T0 + 3 * MIN, 12 * ONE, 2)
    );
    assert_eq!((s.stats().klines_closed, s.stats().empty_klines), (3, 2));
}

#[test]
fn a_trade_exactly_at_the_boundary_opens_the_next_period() {
    let mut s = shard("1s", 1);
    s.process_trade(&trade(0, 1, T0 + 999, ONE, ONE));
    assert_eq!(s.open_kline(0, 0).unwrap().open_time, T0);
    s.process_trade(&trade(0, 2, T0 + 1000, ONE, ONE));
    assert_eq!(s.open_kline(0, 0).unwrap().open_time, T0 + 1000);
}

#[test]
fn weeks_start_on_monday_and_months_follow_the_calendar() {
    let mut s = shard("1w,1M", 1);
    let (mut c, rx) = consumer(&mut s);
    let sunday_night = T0 - 1; // 2023-12-31T23:59:59.999Z, a Sunday
    let feb_2024 = 1_706_745_600_000;
    let mar_2024 = 1_709_251_200_000;
    s.process_trade(&trade(0, 1, sunday_night, ONE, ONE));
    s.process_trade(&trade(0, 2, T0, 2 * ONE, ONE));
    s.process_trade(&trade(0, 3, mar_2024 - 1, 3 * ONE, ONE));
    s.process_trade(&trade(0, 4, mar_2024, 4 * ONE, ONE));
    let delta = pull(&mut s, &mut c, &rx);
    let months: Vec<(i64, i64, i64)> = delta
        .closed
        .iter()
        .filter(|r| r.interval == 1)
        .map(|r| (r.kline.open_time, r.kline.close_time, r.kline.count))
        .collect();
    assert_eq!(
        months,
        vec![
            (1_701_388_800_000, T0 - 1, 2), // December 2023
            (T0, feb_2024 - 1, 2),          // January 2024
            (feb_2024, mar_2024 - 1, 2),    // February 2024, 29 days
        ]
    );
    let first_week = delta.closed.iter().find(|r| r.interval == 0).unwrap().kline;
    assert_eq!(
        (first_week.open_time, first_week.close_time),
        (T0 - 7 * 86_400_000, T0 - 1)
    );
    assert_eq!(s.open_kline(0, 1).unwrap().open_time, mar_2024);
}

#[test]
fn duplicates_are_dropped_and_gaps_recorded() {
    let mut s = shard("1m", 3);
    assert_eq!(
        s.process_trade(&trade(2, 100, T0, ONE, ONE)),
        TradeOutcome::Applied
    );
    assert_eq!(
        s.process_trade(&trade(2, 100, T0 + 1, ONE, ONE)),
        TradeOutcome::Duplicate
    );
    assert_eq!(
        s.process_trade(&trade(2, 99, T0 + 1, ONE, ONE)),
        TradeOutcome::Duplicate
    );
    assert_eq!(
        s.process_trade(&trade(2, 105, T0 + 2, ONE, ONE)),
        TradeOutcome::AppliedAfterGap
    );
    assert_eq!(
        s.process_trade(&trade(2, 106, T0 + 3, ONE, ONE)),
        TradeOutcome::Applied
    );
    let k = s.open_kline(2, 0).unwrap();
    assert_eq!(
        k.count, 6,
        "three trades of two raw trades each; duplicates not counted"
    );
    let stats = *s.stats();
    assert_eq!(
        (
            stats.trades,
            stats.duplicates,
            stats.gaps,
            stats.missing_agg_ids
        ),
        (3, 2, 1, 4)
    );
    let mut gaps = Vec::new();
    s.take_gaps(&mut gaps);
    assert_eq!(
        gaps,
        vec![Gap {
            symbol: 2,
            from_agg_id: 101,
            to_agg_id: 104
        }]
    );
    s.take_gaps(&mut gaps);
    assert_eq!(gaps.len(), 1, "gaps are handed out once");
}

#[test]
fn invalid_trades_are_counted_not_applied() {
    let mut s = shard("1m", 2);
    assert_eq!(
        s.process_trade(&trade(2, 1, T0, ONE, ONE)),
        TradeOutcome::Invalid
    );
    let mut inverted = trade(0, 1, T0, ONE, ONE);
    inverted.first_trade_id = inverted.last_trade_id + 1;
    assert_eq!(s.process_trade(&inverted), TradeOutcome::Invalid);
    assert_eq!(
        s.process_trade(&trade(0, 2, T0, 0, ONE)),
        TradeOutcome::Invalid
    );
    assert_eq!((s.stats().invalid, s.stats().trades), (3, 0));
    assert!(s.open_kline(0, 0).is_none());
}

#[test]
fn tick_closes_only_after_the_grace_and_fills_quiet_symbols() {
    let mut s = shard("1m", 2);
    let (mut c, rx) = consumer(&mut s);
    s.process_trade(&trade(0, 1, T0 + 10, 7 * ONE, ONE));
    s.tick(T0 + MIN + 1_499);
    assert!(
        pull(&mut s, &mut c, &rx).closed.is_empty(),
        "still inside the 1500 ms grace"
    );
    s.tick(T0 + MIN + 1_500);
    let delta = pull(&mut s, &mut c, &rx);
    assert_eq!(delta.closed.len(), 1);
    assert_eq!(delta.closed[0].kline.open_time, T0);
    assert_eq!(delta.open.len(), 1);
    assert_eq!(
        delta.open[0].kline,
        Kline::empty(T0 + MIN, T0 + 2 * MIN - 1, 7 * ONE)
    );
    // Two more quiet minutes close as two empty klines; symbol 1 never traded and stays silent.
    s.tick(T0 + 3 * MIN + 1_500);
    let delta = pull(&mut s, &mut c, &rx);
    let closed: Vec<(u32, i64, i64)> = delta
        .closed
        .iter()
        .map(|r| (r.symbol, r.kline.open_time, r.kline.count))
        .collect();
    assert_eq!(closed, vec![(0, T0 + MIN, 0), (0, T0 + 2 * MIN, 0)]);
}

#[test]
fn a_late_trade_corrects_the_kline_tick_just_closed() {
    let mut s = shard("1m", 1);
    let (mut c, rx) = consumer(&mut s);
    s.process_trade(&trade(0, 1, T0 + 10, 7 * ONE, ONE));
    s.tick(T0 + MIN + 1_500);
    let first = pull(&mut s, &mut c, &rx);
    assert_eq!(first.closed.len(), 1);
    // Trade time inside the closed minute, arriving 2.9 s after its end: within one more grace.
    s.tick(T0 + MIN + 2_900);
    s.process_trade(&trade(0, 2, T0 + MIN - 5, 9 * ONE, 2 * ONE));
    let delta = pull(&mut s, &mut c, &rx);
    assert_eq!(delta.closed.len(), 1);
    let corrected = delta.closed[0];
    assert!(corrected.correction);
    assert_eq!(
        (
            corrected.kline.open_time,
            corrected.kline.close,
            corrected.kline.count
        ),
        (T0, 9 * ONE, 4)
    );
    assert_eq!(corrected.kline.volume, i128::from(3 * ONE));
    // The empty minute after it carried the old close forward; it now carries the new one.
    assert_eq!(s.open_kline(0, 0).unwrap().close, 9 * ONE);
    assert_eq!(delta.open[0].kline.close, 9 * ONE);
    assert_eq!(s.stats().corrections, 1);
}

#[test]
fn a_trade_too_late_to_correct_is_dropped_and_counted() {
    let mut s = shard("1m,1h", 1);
    let (mut c, rx) = consumer(&mut s);
    s.process_trade(&trade(0, 1, T0 + 10, 7 * ONE, ONE));
    s.tick(T0 + MIN + 3_000);
    pull(&mut s, &mut c, &rx);
    s.process_trade(&trade(0, 2, T0 + 20, 8 * ONE, ONE));
    let delta = pull(&mut s, &mut c, &rx);
    assert!(delta.closed.is_empty(), "no correction past the window");
    assert_eq!(s.stats().late_dropped, 1, "dropped for 1m only");
    let hour = s.open_kline(0, 1).unwrap();
    assert_eq!(
        (hour.count, hour.close),
        (4, 8 * ONE),
        "the hour still absorbs it"
    );
}

#[test]
fn a_restored_open_kline_continues_with_live_trades_and_closes_whole() {
    use klagg::aggregator::RestoreError;
    let mut s = shard("1m", 2);
    let (mut c, rx) = consumer(&mut s);
    let mut saved = Kline::empty(T0, T0 + MIN - 1, 0);
    saved.apply(&trade(1, 10, T0 + 5, 50 * ONE, ONE));
    saved.apply(&trade(1, 11, T0 + 6, 60 * ONE, 2 * ONE));
    s.restore_open(1, 0, &saved).unwrap();
    assert_eq!(s.open_kline(1, 0), Some(saved));
    assert_eq!(
        s.restore_open(1, 0, &saved),
        Err(RestoreError::AlreadyLive),
        "restored state is live state"
    );
    s.process_trade(&trade(1, 20, T0 + 30_000, 40 * ONE, ONE));
    let mut expected = saved;
    expected.apply(&trade(1, 20, T0 + 30_000, 40 * ONE, ONE));
    assert_eq!(s.open_kline(1, 0), Some(expected));
    s.process_trade(&trade(1, 21, T0 + MIN, 41 * ONE, ONE));
    let delta = pull(&mut s, &mut c, &rx);
    assert_eq!(delta.closed.len(), 1);
    assert_eq!(delta.closed[0].kline, expected);
    assert_eq!(
        (expected.count, expected.low, expected.high),
        (6, 40 * ONE, 60 * ONE)
    );
    let next = s.open_kline(1, 0).unwrap();
    assert_eq!(
        (next.open_time, next.count, next.volume),
        (T0 + MIN, 2, i128::from(ONE))
    );
}

#[test]
fn only_a_period_of_the_slot_can_be_restored() {
    use klagg::aggregator::RestoreError;
    let mut s = shard("1m", 1);
    let empty = Kline::empty(T0, T0 + MIN - 1, 7 * ONE);
    assert_eq!(s.restore_open(1, 0, &empty), Err(RestoreError::OutOfRange));
    assert_eq!(s.restore_open(0, 1, &empty), Err(RestoreError::OutOfRange));
    assert_eq!(
        s.restore_open(0, 0, &Kline::empty(T0 + 1, T0 + MIN, ONE)),
        Err(RestoreError::NotAPeriod)
    );
    assert_eq!(
        s.restore_open(0, 0, &Kline::empty(T0, T0 + 2 * MIN - 1, ONE)),
        Err(RestoreError::NotAPeriod)
    );
    // An empty period restores as empty: the first live trade sets its open.
    s.restore_open(0, 0, &empty).unwrap();
    s.process_trade(&trade(0, 1, T0 + 10, 9 * ONE, ONE));
    let k = s.open_kline(0, 0).unwrap();
    assert_eq!((k.open, k.close, k.count), (9 * ONE, 9 * ONE, 2));
}

#[test]
fn a_batch_is_applied_as_its_trades_one_by_one() {
    // Several symbols (one out of range), new seconds, a duplicate, a gap, a late trade, an
    // invalid one: every path a trade can take, in one batch longer than the prefetch distance.
    let mut trades = Vec::new();
    let mut ids = [0i64; 3];
    for i in 0..40i64 {
        let symbol = (i * 7 % 3) as usize;
        ids[symbol] += if i == 17 { 3 } else { 1 };
        let time = T0 + i * 350 - if i == 25 { 5_000 } else { 0 };
        trades.push(trade(
            symbol as u32,
            ids[symbol],
            time,
            (100 + i % 9) * ONE,
            ONE,
        ));
    }
    trades.insert(12, trades[10]);
    trades.insert(20, trade(9, 1, T0, ONE, ONE));
    trades.insert(30, trade(1, 1_000, T0 + 9_000, -ONE, ONE));
    let mut one_by_one = shard("1s,1m,5m", 3);
    let mut batched = shard("1s,1m,5m", 3);
    let (mut c1, rx1) = consumer(&mut one_by_one);
    let (mut c2, rx2) = consumer(&mut batched);
    for t in &trades {
        one_by_one.process_trade(t);
    }
    batched.process_trades(&trades);
    assert_eq!(one_by_one.stats(), batched.stats());
    let (a, b) = (
        pull(&mut one_by_one, &mut c1, &rx1),
        pull(&mut batched, &mut c2, &rx2),
    );
    assert_eq!(a.closed, b.closed);
    assert_eq!(a.open, b.open);
    assert!(a.closed.len() > 10 && one_by_one.stats().duplicates == 1);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// A batch moves the clock once per run of fast-path trades: a late trade after such a run
    /// must still see the clock of the trades before it (its correction window depends on it),
    /// wherever the batches are cut.
    #[test]
    fn batches_cut_anywhere_keep_the_clock_of_one_by_one(
        steps in proptest::collection::vec((0u32..2, 0i64..150, 0i64..4, 0i64..6_000), 1..300),
        cuts in proptest::collection::vec(1usize..40, 1..20),
    ) {
        let mut ids = [0i64; 2];
        let mut clock = T0;
        let trades: Vec<_> = steps
            .iter()
            .enumerate()
            .map(|(i, &(symbol, advance, late_kind, late_ms))| {
                clock += advance;
                ids[symbol as usize] += 1;
                // One trade in four is late by up to 6 s: some correct a closed kline, some
                // come too late and are dropped, depending on the clock (the minute closed
                // last takes corrections until 2.5 s after its end).
                let time = clock - if late_kind == 0 { late_ms } else { 0 };
                trade(symbol, ids[symbol as usize], time, (100 + i as i64 % 7) * ONE, ONE)
            })
            .collect();
        // A grace off whole seconds, so that a correction window can end inside a second.
        let config = || ShardConfig {
            close_grace_ms: 1_250,
            ..ShardConfig::new(Interval::parse_list("1s,1m").expect("intervals"), 2)
        };
        let mut one_by_one = Shard::new(config()).expect("shard");
        let mut batched = Shard::new(config()).expect("shard");
        let (mut c1, rx1) = consumer(&mut one_by_one);
        let (mut c2, rx2) = consumer(&mut batched);
        for t in &trades {
            one_by_one.process_trade(t);
        }
        let mut rest = &trades[..];
        for &cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, after) = rest.split_at(cut.min(rest.len()));
            batched.process_trades(batch);
            rest = after;
        }
        proptest::prop_assert_eq!(one_by_one.stats(), batched.stats());
        let (a, b) = (
            pull(&mut one_by_one, &mut c1, &rx1),
            pull(&mut batched, &mut c2, &rx2),
        );
        proptest::prop_assert_eq!(a.closed, b.closed);
        proptest::prop_assert_eq!(a.open, b.open);
    }
}
