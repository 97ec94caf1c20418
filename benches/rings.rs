//! How fast a trade crosses an `rtrb` ring from an io thread to a shard thread, beside the
//! tokio `mpsc` channel the baseline (examples/baseline.rs) uses for the same hop.
//!
//! `cargo bench --bench rings`. Each iteration moves 1,000,000 `AggTradePayload`s (64 bytes,
//! `Copy`) from a producer thread to a consumer thread: the ring with a spinning hand-off
//! (what a pinned pair of threads does on isolated cores), the ring with a yielding consumer
//! (what shares cores politely), and a bounded tokio `mpsc` drained by a task. Throughput is in
//! payloads, so its inverse is the cost of one hop.

use std::hint::black_box;
use std::thread;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use klagg::trade::AggTradePayload;
use rtrb::{PushError, RingBuffer};

const PAYLOADS: u64 = 1_000_000;
const RING: usize = 65_536;

fn payload(i: u64) -> AggTradePayload {
    AggTradePayload {
        symbol: (i % 200) as u32,
        price: 1_000_000_000 + i as i64,
        quantity: 100_000,
        agg_id: i as i64,
        first_trade_id: i as i64,
        last_trade_id: i as i64,
        trade_time_ms: 1_717_200_000_000,
        event_time_ms: 1_717_200_000_000,
        ..AggTradePayload::default()
    }
}

/// Moves `PAYLOADS` through one ring; `wait` is what either side does when it cannot proceed.
fn ring_transfer(wait: fn()) -> i64 {
    let (mut producer, mut consumer) = RingBuffer::<AggTradePayload>::new(RING);
    let reader = thread::spawn(move || {
        let mut sum = 0i64;
        let mut seen = 0;
        while seen < PAYLOADS {
            let n = consumer.slots();
            if n == 0 {
                wait();
                continue;
            }
            let chunk = consumer.read_chunk(n).expect("n slots are readable");
            let (a, b) = chunk.as_slices();
            for p in a.iter().chain(b) {
                sum = sum.wrapping_add(p.price);
            }
            seen += n as u64;
            chunk.commit_all();
        }
        sum
    });
    for i in 0..PAYLOADS {
        let mut p = payload(i);
        loop {
            match producer.push(p) {
                Ok(()) => break,
                Err(PushError::Full(back)) => {
                    p = back;
                    wait();
                }
            }
        }
    }
    reader.join().expect("reader thread")
}

/// Moves `PAYLOADS` through a bounded tokio channel from a thread to a task, as the baseline does.
fn tokio_transfer(runtime: &tokio::runtime::Runtime) -> i64 {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<AggTradePayload>(10_000);
    let reader = runtime.spawn(async move {
        let mut sum = 0i64;
        while let Some(p) = rx.recv().await {
            sum = sum.wrapping_add(p.price);
        }
        sum
    });
    runtime.block_on(async move {
        for i in 0..PAYLOADS {
            tx.send(payload(i)).await.expect("reader alive");
        }
    });
    runtime.block_on(reader).expect("reader task")
}

fn rings(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring_hop");
    group.throughput(Throughput::Elements(PAYLOADS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("rtrb_spin", |b| {
        b.iter(|| black_box(ring_transfer(std::hint::spin_loop)));
    });
    group.bench_function("rtrb_yield", |b| {
        b.iter(|| black_box(ring_transfer(thread::yield_now)));
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");
    group.bench_function("tokio_mpsc", |b| {
        b.iter(|| black_box(tokio_transfer(&runtime)));
    });
    group.finish();
}

criterion_group!(benches, rings);
criterion_main!(benches);
