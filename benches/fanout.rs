//! Fan-out: what it costs the gateway to send one kline event to many subscribers.
//!
//! `cargo bench --bench fanout` (about a minute and a half). Two groups:
//!
//! - `fanout_in_process/{raw,combined}/N`: one event encoded once (`EventFrames`) and its frame
//!   appended to N subscribers' bounded write buffers (`Output::append_within`), the gateway's
//!   per-event work without sockets. Buffers are emptied every 64 events, as a flush would.
//!   Throughput is in subscriber-events, so criterion's `thrpt` inverted is ns per event per
//!   subscriber.
//! - `fanout_loopback/1000_subscribers`: a real gateway on loopback, 1,000 tungstenite
//!   clients on three reader threads, each subscribed to 10 streams. One iteration hands out
//!   20 rounds of updates (each changes all 10 streams once: 200,000 events) and ends when
//!   every subscriber has read all of them. Throughput is events delivered per second.

#[path = "fanout/loopback.rs"]
mod loopback;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use klagg::egress::Decimals;
use klagg::egress::stream_name::StreamKind;
use klagg::egress::stream_path::Framing;
use klagg::gateway::catalog_index::CatalogIndex;
use klagg::gateway::event_frames::EventFrames;
use klagg::gateway::output::Output;
use klagg::gateway::{Catalog, GatewayConfig};
use klagg::interval::Interval;
use klagg::kline::Kline;
use loopback::Loopback;

/// Events between two emptyings of the buffers (a flush, without the socket).
const FLUSH_EVERY: u64 = 64;

fn in_process(c: &mut Criterion) {
    let index = CatalogIndex::new(Catalog {
        symbols: vec![("BTCUSDT".to_owned(), Decimals::new(2, 3))],
        intervals: Interval::parse_list("1m").unwrap(),
        live: None,
    });
    let max = GatewayConfig::default().max_write_buffer;
    let mut group = c.benchmark_group("fanout_in_process");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    for (name, framing) in [("raw", Framing::Raw), ("combined", Framing::Combined)] {
        for subscribers in [1usize, 100, 1_000] {
            group.throughput(Throughput::Elements(subscribers as u64));
            group.bench_function(BenchmarkId::new(name, subscribers), |b| {
                let mut frames = EventFrames::new();
                let mut outputs: Vec<Output> = (0..subscribers).map(|_| Output::new()).collect();
                let mut kline = Kline::empty(1_704_067_200_000, 1_704_067_259_999, 0);
                kline.count = 1;
                let mut sink = std::io::sink();
                let mut n = 0u64;
                b.iter(|| {
                    n += 1;
                    // Every event differs, as live ones do.
                    kline.close = 6_500_000_000_000 + (n % 10_000) as i64 * 10_000_000;
                    kline.volume += 1_000_000;
                    frames.encode(&index, (0, 0), &kline, false, 1_704_067_230_000 + n as i64);
                    for output in &mut outputs {
                        black_box(
                            output.append_within(
                                frames.frame(&index, StreamKind::Kline, framing),
                                max,
                            ),
                        );
                    }
                    if n.is_multiple_of(FLUSH_EVERY) {
                        for output in &mut outputs {
                            let _ = output.write_to(&mut sink);
                        }
                    }
                });
            });
        }
    }
    group.finish();
}

fn on_loopback(c: &mut Criterion) {
    const ROUNDS: u64 = 20;
    let loopback = Loopback::start(1_000, 10, 3);
    let mut group = c.benchmark_group("fanout_loopback");
    group
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15))
        .sample_size(10)
        .throughput(Throughput::Elements(ROUNDS * loopback.events_per_round()));
    group.bench_function("1000_subscribers", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                loopback.deliver(ROUNDS);
            }
            start.elapsed()
        });
    });
    group.finish();
    loopback.stop();
}

criterion_group!(fanout, in_process, on_loopback);
criterion_main!(fanout);
