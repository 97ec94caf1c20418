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

/// Two symbols trading a random walk with consecutive agg ids and consecutive raw trade ids,
/// the times chosen by the caller: the markets of the gap-fill and warm-start tests.
pub struct TwoSymbolMarket {
    seed: u64,
    price: [i64; 2],
    agg: [i64; 2],
    raw: [i64; 2],
}

impl TwoSymbolMarket {
    /// A market whose randomness comes from `seed` (non-zero).
    pub fn new(seed: u64) -> TwoSymbolMarket {
        TwoSymbolMarket {
            seed,
            price: [30_000 * ONE, 2_000 * ONE],
            agg: [1_000, 50_000],
            raw: [10_000, 900_000],
        }
    }

    /// A pseudo-random number (xorshift).
    pub fn random(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    /// The next trade, of a random symbol, at `time`.
    pub fn trade_at(&mut self, time: i64) -> AggTradePayload {
        let s = (self.random() % 2) as usize;
        self.price[s] += (self.random() % 200) as i64 * ONE / 100 - ONE;
        let raw_count = 1 + (self.random() % 3) as i64;
        let trade = AggTradePayload {
            symbol: s as u32,
            is_buyer_maker: self.random().is_multiple_of(2),
            price: self.price[s],
            quantity: (1 + self.random() % 1_000) as i64 * ONE / 1_000,
            agg_id: self.agg[s],
            first_trade_id: self.raw[s],
            last_trade_id: self.raw[s] + raw_count - 1,
            trade_time_ms: time,
            event_time_ms: time,
        };
        self.agg[s] += 1;
        self.raw[s] += raw_count;
        trade
    }
}
