//! Tail claims at the shard: a view of how a symbol's tail stands, and a claim of trades the
//! exchange has past it, filled the ordinary way.

use klagg::aggregator::{GapFillConfig, Shard, ShardConfig, Tail, TradeOutcome};
use klagg::interval::Interval;
use klagg::trade::AggTradePayload;

const T0: i64 = 1_700_000_000_000;

fn shard() -> Shard {
    let mut config = ShardConfig::new(Interval::parse_list("1s,1m").unwrap(), 2);
    config.gap_fill = GapFillConfig::LIVE;
    Shard::new(config).unwrap()
}

fn trade(agg_id: i64, time_ms: i64) -> AggTradePayload {
    AggTradePayload {
        symbol: 0,
        price: 100 + agg_id,
        quantity: 2,
        agg_id,
        first_trade_id: agg_id * 10,
        last_trade_id: agg_id * 10 + 1,
        trade_time_ms: time_ms,
        event_time_ms: time_ms,
        is_buyer_maker: agg_id % 2 == 0,
    }
}

/// Symbol 0 traded agg ids 1..=3, 400 ms apart.
fn traded() -> Shard {
    let mut shard = shard();
    for id in 1..=3 {
        shard.process_trade(&trade(id, T0 + id * 400));
    }
    shard
}

#[test]
fn a_view_holds_the_last_id_and_the_klines_of_the_last_trade() {
    let mut shard = traded();
    assert_eq!(shard.tail_view(1).tail, Tail::NeverTraded);
    assert_eq!(shard.tail_view(9).tail, Tail::NeverTraded);
    // The clock closes the last trade's second: the view still names that kline.
    shard.tick(T0 + 5_000);
    let Tail::Traded {
        last_agg_id,
        klines,
    } = shard.tail_view(0).tail
    else {
        panic!("symbol 0 traded");
    };
    assert_eq!(last_agg_id, 3);
    assert_eq!(klines[0].open_time, T0 + 1_000);
    assert_eq!((klines[0].count, klines[1].count), (2, 6));
    assert_eq!(
        klines[1].open_time,
        Interval::parse("1m").unwrap().open_time(T0)
    );
    shard.begin_warm(0);
    assert_eq!(shard.tail_view(0).tail, Tail::Busy);
}

#[test]
fn a_claim_opens_a_gap_its_trades_fill() {
    let mut shard = traded();
    assert!(shard.claim_tail(0, 4, 5));
    assert!(shard.gap_pending(0));
    assert_eq!(shard.tail_view(0).tail, Tail::Busy);
    assert!(shard.fill_trade(&trade(4, T0 + 1_600)));
    assert!(shard.fill_trade(&trade(5, T0 + 2_000)));
    assert!(!shard.gap_pending(0));
    let stats = *shard.stats();
    assert_eq!((stats.tail_gaps, stats.tail_trades_filled), (1, 2));
    assert_eq!((stats.gaps_filled, stats.trades), (1, 5));
    assert_eq!(shard.open_kline(0, 1).unwrap().count, 10);
    // The next live trade follows on.
    assert_eq!(
        shard.process_trade(&trade(6, T0 + 2_100)),
        TradeOutcome::Applied
    );
}

#[test]
fn a_claim_the_live_trades_overtook_opens_nothing() {
    let mut shard = traded();
    shard.process_trade(&trade(4, T0 + 1_600));
    assert!(!shard.claim_tail(0, 4, 4));
    assert!(!shard.gap_pending(0));
    // Its trade, arriving next, is a duplicate of nothing pending.
    assert!(!shard.fill_trade(&trade(4, T0 + 1_600)));
    assert_eq!(shard.stats().tail_gaps, 0);
}

#[test]
fn a_claim_the_live_trades_partly_overtook_claims_the_rest() {
    let mut shard = traded();
    shard.process_trade(&trade(4, T0 + 1_600));
    assert!(shard.claim_tail(0, 4, 6));
    assert!(!shard.fill_trade(&trade(4, T0 + 1_600)));
    assert!(shard.fill_trade(&trade(5, T0 + 1_700)));
    assert!(shard.fill_trade(&trade(6, T0 + 1_800)));
    assert!(!shard.gap_pending(0));
    assert_eq!(shard.stats().tail_trades_filled, 2);
    assert_eq!(shard.open_kline(0, 1).unwrap().count, 12);
}

#[test]
fn a_live_trade_bringing_a_claimed_id_is_a_fill() {
    let mut shard = traded();
    assert!(shard.claim_tail(0, 4, 5));
    // The live copy of trade 4 was still in the io ring when the claim came.
    assert_eq!(
        shard.process_trade(&trade(4, T0 + 1_600)),
        TradeOutcome::Filled
    );
    assert_eq!(
        shard.process_trade(&trade(6, T0 + 2_100)),
        TradeOutcome::Applied
    );
    assert!(shard.fill_trade(&trade(5, T0 + 2_000)));
    assert!(!shard.gap_pending(0));
    let stats = *shard.stats();
    assert_eq!((stats.duplicates, stats.trades, stats.gaps), (0, 6, 1));
    assert_eq!(shard.open_kline(0, 1).unwrap().count, 12);
}

#[test]
fn nothing_is_claimed_while_a_gap_or_a_warm_start_is_pending() {
    let mut shard = traded();
    // A jump the live trades showed: the gap 4..=5 waits for the backfill.
    shard.process_trade(&trade(6, T0 + 2_100));
    assert!(!shard.claim_tail(0, 7, 8));
    assert!(!shard.fill_trade(&trade(7, T0 + 2_200)));
    assert!(shard.fill_trade(&trade(4, T0 + 1_600)));
    assert!(shard.fill_trade(&trade(5, T0 + 2_000)));
    assert!(!shard.gap_pending(0));
    shard.begin_warm(0);
    assert!(!shard.claim_tail(0, 7, 8));
    assert!(!shard.claim_tail(1, 1, 2), "symbol 1 never traded");
    assert_eq!(shard.stats().tail_gaps, 0);
}

#[test]
fn a_redundant_stream_keeps_its_wait_for_a_jump_during_a_claim() {
    let mut config = ShardConfig::new(Interval::parse_list("1s,1m").unwrap(), 2);
    config.gap_fill = GapFillConfig::REDUNDANT;
    let mut shard = Shard::new(config).unwrap();
    for id in 1..=3 {
        shard.tick(T0 + id * 400);
        shard.process_trade(&trade(id, T0 + id * 400));
    }
    assert!(shard.claim_tail(0, 4, 5));
    // A jump past the claim: the other connection may bring 6 within the second.
    shard.process_trade(&trade(7, T0 + 2_100));
    let mut gaps = Vec::new();
    shard.take_gaps(&mut gaps);
    assert!(gaps.is_empty(), "{gaps:?}");
    for id in [4, 5] {
        assert!(shard.fill_trade(&trade(id, T0 + 1_600)));
    }
    shard.tick(T0 + 3_200);
    shard.take_gaps(&mut gaps);
    assert_eq!(
        gaps.iter()
            .map(|g| (g.from_agg_id, g.to_agg_id))
            .collect::<Vec<_>>(),
        [(6, 6)],
        "only what no connection brought goes to the backfill"
    );
    assert_eq!(
        shard.process_trade(&trade(6, T0 + 2_050)),
        TradeOutcome::Filled
    );
    assert!(!shard.gap_pending(0));
    assert_eq!(shard.stats().tail_trades_filled, 2);
}

#[test]
fn ids_the_exchange_lost_are_counted_and_not_asked_for_again() {
    let mut shard = traded();
    assert!(shard.claim_tail(0, 6, 6));
    assert!(shard.fill_trade(&trade(6, T0 + 2_000)));
    assert!(!shard.gap_pending(0));
    let stats = *shard.stats();
    assert_eq!((stats.gap_ids_unfilled, stats.tail_trades_filled), (2, 1));
    assert_eq!(
        shard.process_trade(&trade(7, T0 + 2_100)),
        TradeOutcome::Applied
    );
}

#[test]
fn a_claim_given_up_does_not_come_back_as_a_gap() {
    let mut shard = traded();
    assert!(shard.claim_tail(0, 4, 5));
    assert!(shard.fill_trade(&trade(4, T0 + 1_600)));
    assert!(shard.abandon_gap(0));
    assert_eq!(shard.stats().gap_ids_unfilled, 1);
    let mut gaps = Vec::new();
    assert_eq!(
        shard.process_trade(&trade(6, T0 + 2_100)),
        TradeOutcome::Applied
    );
    shard.take_gaps(&mut gaps);
    assert!(gaps.is_empty(), "{gaps:?}");
}
