//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use crossbeam_channel::{Receiver, bounded};
use klagg::aggregator::{Delta, DeltaConsumer, Shard, ShardConfig, ShardRequest};
use klagg::interval::Interval;
use klagg::trade::AggTradePayload;

/// 2024-01-01T00:00:00Z, a Monday.
pub const T0: i64 = 1_704_067_200_000;
/// One unit in the fixed-point representation (1e-8).
pub const ONE: i64 = 100_000_000;

/// A trade of `symbol` with agg id `agg_id` (raw trade ids derived from it) at `time`.
pub fn trade(symbol: u32, agg_id: i64, time: i64, price: i64, quantity: i64) -> AggTradePayload {
    AggTradePayload {
        symbol,
        is_buyer_maker: agg_id % 2 == 0,
        price,
        quantity,
        agg_id,
        first_trade_id: agg_id * 10,
        last_trade_id: agg_id * 10 + 1,
        trade_time_ms: time,
        event_time_ms: time,
    }
}

/// A shard over the given interval texts with `symbols` symbols and the default rules.
pub fn shard(intervals: &str, symbols: u32) -> Shard {
    Shard::new(ShardConfig::new(
        Interval::parse_list(intervals).expect("intervals"),
        symbols,
    ))
    .expect("valid shard config")
}

/// A consumer registered on `shard`, and the request queue the test serves by hand.
pub fn consumer(shard: &mut Shard) -> (DeltaConsumer, Receiver<ShardRequest>) {
    let (tx, rx) = bounded(16);
    (DeltaConsumer::new(shard.register_consumer(), tx), rx)
}

/// One complete pull, served on this thread.
pub fn pull(
    shard: &mut Shard,
    consumer: &mut DeltaConsumer,
    requests: &Receiver<ShardRequest>,
) -> Delta {
    consumer.request().expect("request");
    assert_eq!(shard.serve_requests(requests), 1);
    consumer.receive(Duration::ZERO).expect("reply delivered")
}
