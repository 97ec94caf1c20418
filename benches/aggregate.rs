//! How fast `Shard::process_trade` keeps klines, per trade and per trade×interval, beside the
//! `trade_aggregation` crate building 1m candles from the same trades.
//!
//! `cargo bench --bench aggregate`. Each iteration pushes 1,000,000 generated trades over 200
//! symbols (one hour of market time) through a fresh shard with one consumer pulling every
//! 50,000 trades, so rollovers, empty periods and the closed-kline log are all exercised; a third
//! case runs all 16 intervals with no consumer, to separate the kline updates from the delivery.
//! Throughput is reported in elements = trades × intervals: its inverse is the cost of one
//! kline update.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_channel::bounded;
use klagg::aggregator::{DeltaConsumer, Shard, ShardConfig};
use klagg::interval::Interval;
use klagg::trade::AggTradePayload;
use trade_aggregation::candle_components::{
    CandleComponent, CandleComponentUpdate, Close, High, Low, Open, Volume,
};
use trade_aggregation::{
    Aggregator, AlignedTimeRule, Candle, GenericAggregator, M1, ModularCandle, TimestampResolution,
    Trade,
};

const TRADES: usize = 1_000_000;
const SYMBOLS: u32 = 200;
const START_MS: i64 = 1_717_200_000_000;
const SPAN_MS: i64 = 3_600_000;
const PULL_EVERY: usize = 50_000;

/// Deterministic trades: a random walk per symbol, times spread evenly over the span.
fn generate_trades() -> Vec<AggTradePayload> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut prices = vec![5_000_000_000_000i64; SYMBOLS as usize];
    let mut agg_ids = vec![1_000i64; SYMBOLS as usize];
    (0..TRADES)
        .map(|i| {
            let r = next();
            let symbol = (r % u64::from(SYMBOLS)) as u32;
            let s = symbol as usize;
            prices[s] += ((r >> 8) % 2_001) as i64 * 1_000_000 - 1_000_000_000;
            agg_ids[s] += 1;
            let time = START_MS + (i as i64 * SPAN_MS) / TRADES as i64;
            AggTradePayload {
                symbol,
                is_buyer_maker: (r >> 40) & 1 == 1,
                price: prices[s],
                quantity: ((r >> 20) % 1_000_000 + 1) as i64 * 1_000,
                agg_id: agg_ids[s],
                first_trade_id: agg_ids[s] * 3,
                last_trade_id: agg_ids[s] * 3 + ((r >> 50) % 3) as i64,
                trade_time_ms: time,
                event_time_ms: time + 1,
            }
        })
        .collect()
}

fn shard_with_consumer(
    intervals: Vec<Interval>,
) -> (
    Shard,
    DeltaConsumer,
    crossbeam_channel::Receiver<klagg::aggregator::ShardRequest>,
) {
    let mut shard = Shard::new(ShardConfig::new(intervals, SYMBOLS));
    let (tx, rx) = bounded(4);
    let consumer = DeltaConsumer::new(shard.register_consumer(), tx);
    (shard, consumer, rx)
}

fn klagg_shard(c: &mut Criterion, trades: &[AggTradePayload]) {
    let mut group = c.benchmark_group("process_trade");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    let cases = [
        ("1_interval", vec![Interval::parse("1m").expect("1m")]),
        ("16_intervals", Interval::standard().to_vec()),
    ];
    for (name, intervals) in cases {
        group.throughput(Throughput::Elements(
            (trades.len() * intervals.len()) as u64,
        ));
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || shard_with_consumer(intervals.clone()),
                |(shard, consumer, requests)| {
                    for chunk in trades.chunks(PULL_EVERY) {
                        for trade in chunk {
                            shard.process_trade(black_box(trade));
                        }
                        consumer.request().expect("request");
                        shard.serve_requests(requests);
                        let delta = consumer.receive(Duration::ZERO).expect("delta");
                        black_box(delta.closed.len());
                        consumer.recycle(delta);
                    }
                },
                BatchSize::LargeInput,
            );
        });
    }
    // The kline updates alone: no consumer, so closed klines are not kept or copied.
    let all = Interval::standard().to_vec();
    group.throughput(Throughput::Elements((trades.len() * all.len()) as u64));
    group.bench_function("16_intervals_no_consumer", |b| {
        b.iter_batched_ref(
            || Shard::new(ShardConfig::new(all.clone(), SYMBOLS)),
            |shard| {
                for trade in trades {
                    shard.process_trade(black_box(trade));
                }
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

#[derive(Debug, Default, Clone, Candle)]
struct Ohlcv {
    open: Open,
    high: High,
    low: Low,
    close: Close,
    volume: Volume,
}

fn trade_aggregation_1m(c: &mut Criterion, trades: &[AggTradePayload]) {
    // The crate works in f64: that is its published design, not ours (we never use f64 for money).
    let converted: Vec<(usize, Trade)> = trades
        .iter()
        .map(|t| {
            let size = t.quantity as f64 / 1e8;
            let signed = if t.is_buyer_maker { -size } else { size };
            (
                t.symbol as usize,
                Trade {
                    timestamp: t.trade_time_ms,
                    price: t.price as f64 / 1e8,
                    size: signed,
                },
            )
        })
        .collect();
    let mut group = c.benchmark_group("trade_aggregation");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(trades.len() as u64));
    group.bench_function("1m_ohlcv", |b| {
        b.iter_batched_ref(
            || {
                (0..SYMBOLS)
                    .map(|_| {
                        GenericAggregator::<Ohlcv, AlignedTimeRule, Trade>::new(
                            AlignedTimeRule::new(M1, TimestampResolution::Millisecond),
                            false,
                        )
                    })
                    .collect::<Vec<_>>()
            },
            |aggregators| {
                for (symbol, trade) in &converted {
                    if let Some(candle) = aggregators[*symbol].update(black_box(trade)) {
                        black_box(candle.close());
                    }
                }
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let trades = generate_trades();
    klagg_shard(c, &trades);
    trade_aggregation_1m(c, &trades);
}

criterion_group!(aggregate, benches);
criterion_main!(aggregate);
