//! How fast `Shard::process_trades` keeps klines, per trade and per trade×interval, beside the
//! `trade_aggregation` crate building 1m candles from the same trades.
//!
//! `cargo bench --bench aggregate` (or `scripts/bench.sh`, which also prints ns per trade and
//! per trade×interval). Every case pushes 1,000,000 generated trades over 200 symbols through a
//! fresh shard. Two markets: *busy*, the trades spread over 5 minutes (3,333 trades/s, each
//! symbol trading every 60 ms), and *quiet*, the same trades over one hour (each symbol every
//! 720 ms, so most trades also close a `1s` kline). With a consumer, it pulls every 50,000
//! trades, so the closed-kline log and delivery are measured too. Throughput is reported in
//! elements = trades × intervals: its inverse is the cost of one kline update.
//!
//! `pull/after_burst_16_intervals` is what a live consumer waits for: a millisecond's burst
//! of 20 trades over 100 symbols, then a pull of every open kline that changed (all 16
//! intervals of each symbol that traded), as `scripts/latency.sh` drives the engine.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_channel::{Receiver, bounded};
use klagg::aggregator::{DeltaConsumer, Shard, ShardConfig, ShardRequest};
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
const BUSY_SPAN_MS: i64 = 300_000;
const QUIET_SPAN_MS: i64 = 3_600_000;
const PULL_EVERY: usize = 50_000;
/// Trades the shard thread takes from a ring at once (`src/pipeline/shard_worker.rs`).
const BATCH: usize = 256;

/// Deterministic trades: a random walk per symbol, times spread evenly over `span_ms`.
fn generate_trades(span_ms: i64) -> Vec<AggTradePayload> {
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
            let time = START_MS + (i as i64 * span_ms) / TRADES as i64;
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

/// Pushes all trades through a shard, pulling every `PULL_EVERY` trades when there is a consumer.
fn run(
    shard: &mut Shard,
    consumer: &mut Option<(DeltaConsumer, Receiver<ShardRequest>)>,
    trades: &[AggTradePayload],
) {
    for chunk in trades.chunks(PULL_EVERY) {
        // In batches, as the shard thread drains its rings.
        for batch in chunk.chunks(BATCH) {
            shard.process_trades(black_box(batch));
        }
        if let Some((consumer, requests)) = consumer {
            consumer.request().expect("request");
            shard.serve_requests(requests);
            let delta = consumer.receive(Duration::ZERO).expect("delta");
            black_box(delta.closed.len());
            consumer.recycle(delta);
        }
    }
}

fn klagg_shard(c: &mut Criterion, busy: &[AggTradePayload], quiet: &[AggTradePayload]) {
    let mut group = c.benchmark_group("process_trade");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    let one = vec![Interval::parse("1m").expect("1m")];
    let all = Interval::standard().to_vec();
    let cases = [
        ("busy_1_interval", busy, &one, true),
        ("busy_16_intervals", busy, &all, true),
        ("busy_16_intervals_no_consumer", busy, &all, false),
        ("quiet_16_intervals", quiet, &all, true),
    ];
    for (name, trades, intervals, with_consumer) in cases {
        group.throughput(Throughput::Elements(
            (trades.len() * intervals.len()) as u64,
        ));
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || {
                    let mut shard =
                        Shard::new(ShardConfig::new(intervals.clone(), SYMBOLS)).expect("shard");
                    let consumer = with_consumer.then(|| {
                        let (tx, rx) = bounded(4);
                        (DeltaConsumer::new(shard.register_consumer(), tx), rx)
                    });
                    (shard, consumer)
                },
                |(shard, consumer)| run(shard, consumer, trades),
                BatchSize::LargeInput,
            );
        });
    }
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

/// Trades of one millisecond: `BURST` trades of random symbols, each its symbol's next agg id.
struct Bursts {
    state: u64,
    time_ms: i64,
    agg_ids: Vec<i64>,
    prices: Vec<i64>,
    trades: Vec<AggTradePayload>,
}

const BURST: usize = 20;
const LIVE_SYMBOLS: u32 = 100;

impl Bursts {
    fn new() -> Bursts {
        Bursts {
            state: 0x2545_F491_4F6C_DD1D,
            time_ms: START_MS,
            agg_ids: vec![1_000; LIVE_SYMBOLS as usize],
            prices: vec![5_000_000_000_000; LIVE_SYMBOLS as usize],
            trades: Vec::with_capacity(BURST),
        }
    }

    fn next(&mut self) -> &[AggTradePayload] {
        self.time_ms += 1;
        self.trades.clear();
        for _ in 0..BURST {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            let r = self.state;
            let s = (r % u64::from(LIVE_SYMBOLS)) as usize;
            self.agg_ids[s] += 1;
            self.prices[s] += ((r >> 8) % 2_001) as i64 * 1_000_000 - 1_000_000_000;
            self.trades.push(AggTradePayload {
                symbol: s as u32,
                is_buyer_maker: (r >> 40) & 1 == 1,
                price: self.prices[s],
                quantity: ((r >> 20) % 1_000_000 + 1) as i64 * 1_000,
                agg_id: self.agg_ids[s],
                first_trade_id: self.agg_ids[s] * 3,
                last_trade_id: self.agg_ids[s] * 3 + 1,
                trade_time_ms: self.time_ms,
                event_time_ms: self.time_ms + 1,
            });
        }
        &self.trades
    }
}

/// One burst and the pull after it, on a shard that has traded for a while.
fn pull_after_burst(c: &mut Criterion) {
    let mut shard = Shard::new(ShardConfig::new(
        Interval::standard().to_vec(),
        LIVE_SYMBOLS,
    ))
    .expect("shard");
    let (tx, requests) = bounded(4);
    let mut consumer = DeltaConsumer::new(shard.register_consumer(), tx);
    let mut bursts = Bursts::new();
    let mut pull = |shard: &mut Shard, bursts: &mut Bursts| {
        shard.process_trades(bursts.next());
        consumer.request().expect("request");
        shard.serve_requests(&requests);
        let delta = consumer.receive(Duration::ZERO).expect("delta");
        let records = delta.open.len() + delta.closed.len();
        consumer.recycle(delta);
        records
    };
    let mut warm = false;
    let mut group = c.benchmark_group("pull");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    group.bench_function("after_burst_16_intervals", |b| {
        // Ten minutes of trading first, so every interval has an open kline and folded
        // seconds; here rather than before the group, so that a run filtered to the other
        // cases skips it.
        if !warm {
            for _ in 0..600_000 {
                pull(&mut shard, &mut bursts);
            }
            warm = true;
        }
        b.iter(|| black_box(pull(&mut shard, &mut bursts)));
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    pull_after_burst(c);
    let busy = generate_trades(BUSY_SPAN_MS);
    let quiet = generate_trades(QUIET_SPAN_MS);
    klagg_shard(c, &busy, &quiet);
    trade_aggregation_1m(c, &busy);
}

criterion_group!(aggregate, benches);
criterion_main!(aggregate);
