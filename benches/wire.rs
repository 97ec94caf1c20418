//! The whole client path per message, fed from memory so the kernel is out of the measurement:
//! server frames (WebSocket-framed combined aggTrade streams, as the exchange sends them) go
//! through klagg's real client code and, in the same run, through the baseline's.
//!
//! `cargo bench --bench wire`. 100,000 frames over 200 symbols (ids consecutive, times
//! advancing 1 ms per 20 trades) are built once; each case runs them in passes of fresh state,
//! so every trade is new to the shard. One iteration is one message: criterion's `time` is ns
//! per message. The cases:
//!
//! - `a_klagg_framing`: `WsStream::read` over an in-memory stream (frame decoding only);
//! - `b_klagg_io_path`: + the reply check, parse, symbol lookup and ring push of the io worker
//!   (the ring drained without applying);
//! - `c_klagg_whole`: + the shard applying every trade to all 16 intervals and a consumer pulling
//!   every 4,096 messages;
//! - `d_baseline_whole`: tokio-tungstenite over an in-memory duplex stream, each frame a
//!   `String` and a `serde_json::Value`, symbols in an `Arc<RwLock<HashMap>>`, `f64` prices,
//!   tokio `mpsc` to an aggregator task keeping 16 intervals and on to a consumer task: the code
//!   of `examples/baseline`.
//!
//! Before the cases it prints klagg's allocations per message in steady state (counting
//! allocator), which must be 0.

#[path = "../examples/baseline/aggregator.rs"]
#[allow(
    dead_code,
    unused_imports,
    reason = "the baseline's aggregator, shared with examples/baseline (its tests run there)"
)]
mod aggregator;
#[path = "../examples/baseline/connection.rs"]
#[allow(
    dead_code,
    reason = "the baseline's connection code, shared with examples/baseline"
)]
mod connection;
#[path = "../examples/baseline/consumer.rs"]
#[allow(
    dead_code,
    reason = "the baseline's consumer, shared with examples/baseline"
)]
mod consumer;
#[path = "../tests/support/counting_alloc.rs"]
mod counting_alloc;
#[path = "../examples/baseline/stamps.rs"]
#[allow(
    dead_code,
    reason = "the baseline's stamps, shared with examples/baseline"
)]
mod stamps;

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use klagg::aggregator::{DeltaConsumer, Shard, ShardConfig};
use klagg::idle::IdleStrategy;
use klagg::ingress::connection::reply::looks_like_reply;
use klagg::ingress::connection::ws_stream::{Incoming, WsStream};
use klagg::ingress::connection::{FrameHandler, SubscriptionRequests};
use klagg::ingress::parser::TradeParser;
use klagg::ingress::symbols::SymbolTable;
use klagg::interval::Interval;
use klagg::pipeline::{IoStats, IoWorker, ShardLink, ThreadWaker};
use klagg::trade::AggTradePayload;
use klagg::websocket::{Opcode, write_header};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

#[global_allocator]
static ALLOCATOR: counting_alloc::CountingAllocator = counting_alloc::CountingAllocator;

const SYMBOLS: usize = 200;
const FRAMES: usize = 100_000;
/// Messages between two pulls of the consumer.
const PULL_EVERY: usize = 4_096;
/// Messages between two io ticks (the io worker's batch end).
const TICK_EVERY: usize = 64;

/// The symbol names and the frames, WebSocket-framed back to back.
struct Feed {
    names: Vec<String>,
    bytes: Vec<u8>,
}

fn feed() -> Feed {
    let names: Vec<String> = (0..SYMBOLS).map(|i| format!("SYM{i:03}USDT")).collect();
    let mut bytes = Vec::with_capacity(FRAMES * 260);
    let mut agg = vec![1_000_000_000i64; SYMBOLS];
    let start = 1_735_689_600_000i64;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for i in 0..FRAMES {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let s = (state % SYMBOLS as u64) as usize;
        agg[s] += 1;
        let a = agg[s];
        let time = start + (i / 20) as i64;
        let price = format!(
            "{}.{:02}",
            100 + (state >> 20) % 50_000,
            (state >> 40) % 100
        );
        let qty = format!("{}.{:03}", (state >> 8) % 20, 1 + (state >> 30) % 999);
        let payload = format!(
            r#"{{"stream":"{lower}@aggTrade","data":{{"e":"aggTrade","E":{e},"a":{a},"s":"{name}","p":"{price}","q":"{qty}","nq":"{qty}","f":{f},"l":{l},"T":{time},"m":{m}}}}}"#,
            lower = names[s].to_ascii_lowercase(),
            e = time + 1,
            name = names[s],
            f = a * 3,
            l = a * 3 + 2,
            m = state & 1 == 0,
        );
        write_header(&mut bytes, Opcode::Text, payload.len(), None);
        bytes.extend_from_slice(payload.as_bytes());
    }
    Feed { names, bytes }
}

/// An in-memory socket: reads hand out `bytes` up to 64 KiB at a time, as a socket read of a
/// busy stream would; then it would block. Writes are dropped.
struct MemStream<'a> {
    bytes: &'a [u8],
}

impl Read for MemStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.bytes.is_empty() {
            return Err(io::Error::new(ErrorKind::WouldBlock, "fed"));
        }
        let n = self.bytes.len().min(buf.len()).min(64 * 1024);
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

impl Write for MemStream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How far the klagg path goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    Framing,
    IoPath,
    Whole,
}

/// klagg's client path state, fresh for every pass over the frames.
struct Klagg {
    worker: IoWorker,
    ring: rtrb::Consumer<AggTradePayload>,
    shard: Shard,
    consumer: DeltaConsumer,
    requests: crossbeam_channel::Receiver<klagg::aggregator::ShardRequest>,
    subscriptions: SubscriptionRequests,
    _poll: mio::Poll,
}

impl Klagg {
    fn new(names: &[String]) -> Klagg {
        let mut table = SymbolTable::with_capacity(SYMBOLS);
        for (i, name) in names.iter().enumerate() {
            table.insert(name, i as u32).unwrap();
        }
        let (producer, ring) = rtrb::RingBuffer::new(1 << 16);
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(ThreadWaker::new(poll.registry(), mio::Token(0)).unwrap());
        let (_commands_tx, commands) = crossbeam_channel::unbounded();
        let (events, _events_rx) = crossbeam_channel::bounded(16);
        let worker = IoWorker::new(
            TradeParser::new(table, 1 << 20),
            vec![ShardLink::new(producer, waker)],
            IdleStrategy::Yield,
            Arc::new(AtomicBool::new(false)),
            commands,
            events,
            Arc::new(IoStats::default()),
        );
        let mut config = ShardConfig::new(Interval::standard().to_vec(), SYMBOLS as u32);
        config.max_backlog = 1 << 22;
        let mut shard = Shard::new(config).unwrap();
        let (tx, requests) = crossbeam_channel::bounded(1);
        let consumer = DeltaConsumer::new(shard.register_consumer(), tx);
        Klagg {
            worker,
            ring,
            shard,
            consumer,
            requests,
            subscriptions: SubscriptionRequests::default(),
            _poll: poll,
        }
    }

    /// Every frame of `bytes` through the path as deep as `depth`; returns the messages.
    fn run(&mut self, bytes: &[u8], depth: Depth) -> usize {
        let mut ws = WsStream::new(MemStream { bytes }, &[], 1 << 20);
        let mut messages = 0;
        loop {
            match ws.read() {
                Incoming::Text(payload) => {
                    messages += 1;
                    if depth != Depth::Framing && !looks_like_reply(payload) {
                        self.worker.on_text(payload);
                    }
                }
                Incoming::Tick | Incoming::Ended(_) => break,
                _ => {}
            }
            if depth != Depth::Framing && messages % TICK_EVERY == 0 {
                self.worker.on_tick(&mut self.subscriptions);
                self.drain(depth);
            }
            if depth == Depth::Whole && messages % PULL_EVERY == 0 {
                self.pull();
            }
        }
        self.drain(depth);
        messages
    }

    fn drain(&mut self, depth: Depth) {
        let Ok(chunk) = self.ring.read_chunk(self.ring.slots()) else {
            return;
        };
        if depth == Depth::Whole {
            let (first, second) = chunk.as_slices();
            for trade in first.iter().chain(second) {
                self.shard.process_trade(trade);
            }
        }
        chunk.commit_all();
    }

    fn pull(&mut self) {
        if self.consumer.request().is_ok() {
            self.shard.serve_requests(&self.requests);
            if let Ok(delta) = self.consumer.receive(Duration::ZERO) {
                std::hint::black_box(delta.open.len() + delta.closed.len());
                self.consumer.recycle(delta);
            }
        }
    }
}

/// Times `messages` messages through klagg's path, in passes of fresh state over the frames.
fn time_klagg(feed: &Feed, messages: u64, depth: Depth) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = messages;
    while left > 0 {
        let mut klagg = Klagg::new(&feed.names);
        let take = left.min(FRAMES as u64) as usize;
        let bytes = prefix(&feed.bytes, take);
        let started = Instant::now();
        let done = klagg.run(bytes, depth);
        total += started.elapsed();
        left -= done as u64;
    }
    total
}

/// The first `frames` frames of `bytes`.
fn prefix(bytes: &[u8], frames: usize) -> &[u8] {
    let mut at = 0;
    for _ in 0..frames {
        let header = klagg::websocket::FrameHeader::parse(&bytes[at..], 1 << 20)
            .unwrap()
            .unwrap();
        at += header.header_len + header.len;
    }
    &bytes[..at]
}

/// Times `messages` messages through the baseline's path, a fresh pipeline per pass.
fn time_baseline(runtime: &tokio::runtime::Runtime, feed: &Feed, messages: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = messages;
    while left > 0 {
        let take = left.min(FRAMES as u64) as usize;
        let bytes = prefix(&feed.bytes, take).to_vec();
        let index: HashMap<String, usize> = feed
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        total += runtime.block_on(async move {
            let (client, mut server) = tokio::io::duplex(1 << 20);
            let socket = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
            let (trades_in, trades_out) = tokio::sync::mpsc::channel(10_000);
            let (klines_in, klines_out) = tokio::sync::mpsc::channel(10_000);
            let (_shutdown, shutdown_seen) = tokio::sync::watch::channel(false);
            let started = Instant::now();
            let writer = tokio::spawn(async move {
                let _ = server.write_all(&bytes).await;
                let _ = server.shutdown().await;
                // Keeps the pipe open until the reader has read it all.
                server
            });
            let aggregator = tokio::spawn(aggregator::run(
                trades_out,
                klines_in,
                stamps::Recorder::disabled(),
            ));
            let consumer = tokio::spawn(consumer::run(klines_out, stamps::Recorder::disabled()));
            let symbols = Arc::new(RwLock::new(index));
            let report = connection::run(
                socket,
                symbols,
                trades_in,
                shutdown_seen,
                stamps::Recorder::disabled(),
            )
            .await;
            std::hint::black_box(report.frames);
            let _ = aggregator.await;
            let _ = consumer.await;
            let elapsed = started.elapsed();
            drop(writer.await);
            elapsed
        });
        left -= take as u64;
    }
    total
}

fn bench_wire(c: &mut Criterion) {
    let feed = feed();
    // Steady state: a first pass warms every buffer, the second is counted.
    let mut klagg = Klagg::new(&feed.names);
    let half = FRAMES / 2;
    let warm = prefix(&feed.bytes, half);
    klagg.run(warm, Depth::Whole);
    let rest = &feed.bytes[warm.len()..];
    counting_alloc::start_counting();
    let messages = klagg.run(rest, Depth::Whole);
    let allocations = counting_alloc::stop_counting();
    println!(
        "klagg whole path: {allocations} allocations over {messages} messages ({:.4} per message)",
        allocations as f64 / messages as f64
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("wire");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("a_klagg_framing", |b| {
        b.iter_custom(|n| time_klagg(&feed, n, Depth::Framing));
    });
    group.bench_function("b_klagg_io_path", |b| {
        b.iter_custom(|n| time_klagg(&feed, n, Depth::IoPath));
    });
    group.bench_function("c_klagg_whole", |b| {
        b.iter_custom(|n| time_klagg(&feed, n, Depth::Whole));
    });
    group.bench_function("d_baseline_whole", |b| {
        b.iter_custom(|n| time_baseline(&runtime, &feed, n));
    });
    group.finish();
}

criterion_group!(benches, bench_wire);
criterion_main!(benches);
