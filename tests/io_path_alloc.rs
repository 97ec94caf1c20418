//! Nothing on klagg's path from a frame's bytes to the ring push allocates, once warm: the
//! io thread's frame handler is driven directly with real-looking frames, and a second test
//! measures the whole loopback path through tungstenite to see what the WebSocket library adds.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/ws_server.rs"]
mod ws_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use counting_alloc::{CountingAllocator, count_allocations, start_counting, stop_counting};
use klagg::idle::IdleStrategy;
use klagg::ingress::connection::{
    ConnectionEvent, ConnectionOptions, Control, FrameHandler, StreamConnection,
    SubscriptionRequests,
};
use klagg::ingress::parser::TradeParser;
use klagg::ingress::symbols::SymbolTable;
use klagg::pipeline::{IoCommand, IoEvent, IoStats, IoWorker, ShardLink, ThreadWaker};
use klagg::trade::AggTradePayload;
use ws_server::WsServer;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const SYMBOLS: [&str; 4] = ["BTCUSDT", "ETHUSDT", "1000SHIBUSDT", "XRPUSDT"];

fn frame(i: usize, combined: bool) -> String {
    let s = SYMBOLS[i % SYMBOLS.len()];
    let data = format!(
        r#"{{"e":"aggTrade","E":{e},"a":{a},"s":"{s}","p":"{p}.{c:02}","q":"0.{q:03}","nq":"0.{q:03}","f":{f},"l":{f},"T":{t},"m":{m}}}"#,
        e = 1_700_000_000_000u64 + i as u64,
        a = 1_000 + i,
        p = 30_000 + i % 700,
        c = i % 100,
        q = 1 + i % 997,
        f = 5_000 + i,
        t = 1_700_000_000_000u64 + i as u64,
        m = i.is_multiple_of(2),
    );
    if combined {
        format!(
            r#"{{"stream":"{}@aggTrade","data":{data}}}"#,
            s.to_ascii_lowercase()
        )
    } else {
        data
    }
}

/// An io worker over two shards' rings, with the other ends of its channels kept open.
struct Harness {
    worker: IoWorker,
    rings: Vec<rtrb::Consumer<AggTradePayload>>,
    _commands: crossbeam_channel::Sender<IoCommand>,
    _events: crossbeam_channel::Receiver<IoEvent>,
}

fn harness() -> Harness {
    let mut table = SymbolTable::with_capacity(64);
    for (i, s) in SYMBOLS.iter().enumerate() {
        table.insert(s, i as u32).unwrap();
    }
    let (producers, rings): (Vec<_>, Vec<_>) =
        (0..2).map(|_| rtrb::RingBuffer::new(1 << 16)).unzip();
    let (command_tx, commands) = crossbeam_channel::unbounded();
    let (events, event_rx) = crossbeam_channel::bounded(16);
    // Nobody sleeps on this poll: the wakers only need one to exist.
    let poll = mio::Poll::new().unwrap();
    let waker = Arc::new(ThreadWaker::new(poll.registry(), mio::Token(0)).unwrap());
    let links = producers
        .into_iter()
        .map(|ring| ShardLink::new(ring, Arc::clone(&waker)))
        .collect();
    let worker = IoWorker::new(
        TradeParser::new(table, 1 << 20),
        links,
        IdleStrategy::Yield,
        Arc::new(AtomicBool::new(false)),
        commands,
        events,
        Arc::new(IoStats::default()),
    );
    Harness {
        worker,
        rings,
        _commands: command_tx,
        _events: event_rx,
    }
}

#[test]
fn the_counter_sees_allocations() {
    let n = count_allocations(|| {
        std::hint::black_box(vec![1u8; 64]);
    });
    assert!(n >= 1);
}

#[test]
fn frame_to_ring_push_allocates_nothing() {
    let frames: Vec<String> = (0..4_000).map(|i| frame(i, i.is_multiple_of(2))).collect();
    let mut h = harness();
    let mut subscriptions = SubscriptionRequests::default();
    for f in &frames[..500] {
        h.worker.on_text(f.as_bytes());
        h.worker.on_tick(&mut subscriptions);
    }
    let allocations = count_allocations(|| {
        for f in &frames[500..] {
            h.worker.on_text(f.as_bytes());
            h.worker.on_tick(&mut subscriptions);
        }
    });
    assert_eq!(
        allocations,
        0,
        "allocations for {} frames",
        frames.len() - 500
    );
    let pushed: usize = h.rings.iter().map(|c| c.slots()).sum();
    assert_eq!(pushed, frames.len(), "every frame became a trade on a ring");
}

#[test]
fn trades_reach_their_shard_in_batches_with_local_indices() {
    let mut h = harness();
    let mut subscriptions = SubscriptionRequests::default();
    // Four symbols over two shards: globals 0 and 2 on shard 0, 1 and 3 on shard 1, each at
    // local index global / 2.
    let frames: Vec<String> = (0..110).map(|i| frame(i, i % 3 == 0)).collect();
    for f in &frames[..40] {
        h.worker.on_text(f.as_bytes());
    }
    assert_eq!(
        (h.rings[0].slots(), h.rings[1].slots()),
        (0, 0),
        "20 trades a shard wait for the batch's end"
    );
    h.worker.on_tick(&mut subscriptions);
    assert_eq!((h.rings[0].slots(), h.rings[1].slots()), (20, 20));
    for f in &frames[40..110] {
        h.worker.on_text(f.as_bytes());
    }
    assert_eq!(
        (h.rings[0].slots(), h.rings[1].slots()),
        (52, 52),
        "32 staged trades are pushed without waiting for the batch's end"
    );
    h.worker.on_tick(&mut subscriptions);
    for (shard, ring) in h.rings.iter_mut().enumerate() {
        let chunk = ring.read_chunk(ring.slots()).unwrap();
        let trades: Vec<AggTradePayload> = chunk.into_iter().collect();
        assert_eq!(trades.len(), 55);
        for (k, trade) in trades.iter().enumerate() {
            // Frame i carries symbol i % 4 and agg id 1000 + i, in order per shard.
            let i = 2 * k + shard;
            assert_eq!(trade.agg_id, 1_000 + i as i64);
            assert_eq!(
                trade.symbol,
                (i % 4 / 2) as u32,
                "local index of global {}",
                i % 4
            );
        }
    }
}

/// Counts the io thread's allocations between the 500th and the last frame.
struct CountingHandler {
    inner: IoWorker,
    frames: usize,
    total: usize,
    allocations: Arc<AtomicU64>,
}

impl FrameHandler for CountingHandler {
    fn on_text(&mut self, payload: &[u8]) {
        self.inner.on_text(payload);
        self.frames += 1;
        if self.frames == 500 {
            start_counting();
        }
    }

    fn on_binary(&mut self, payload: &[u8]) {
        self.inner.on_binary(payload);
    }

    fn on_event(&mut self, event: &ConnectionEvent) {
        self.inner.on_event(event);
    }

    fn on_tick(&mut self, subscriptions: &mut SubscriptionRequests) -> Control {
        self.inner.on_tick(subscriptions);
        if self.frames == self.total {
            self.allocations.store(stop_counting(), Relaxed);
            return Control::Stop;
        }
        Control::Continue
    }
}

/// Runs the io thread against `url` (a server that will send `total` frames) with `options`,
/// and returns its allocations per message between the 500th frame and the last.
fn io_thread_allocations_per_message(
    url: String,
    options: ConnectionOptions,
    total: usize,
) -> (u64, f64) {
    let allocations = Arc::new(AtomicU64::new(u64::MAX));
    let h = harness();
    let mut handler = CountingHandler {
        inner: h.worker,
        frames: 0,
        total,
        allocations: Arc::clone(&allocations),
    };
    let io = std::thread::spawn(move || {
        let mut link = StreamConnection::new(&url, vec!["btcusdt@aggTrade".into()], options);
        link.run(&mut handler, &AtomicBool::new(false));
    });
    io.join().unwrap();
    let counted = allocations.load(Relaxed);
    (counted, counted as f64 / (total - 500) as f64)
}

/// The whole io thread on a plain ws:// loopback stream, tungstenite's read path included.
/// klagg's own part is zero (above); this bounds what the WebSocket layer adds per message.
#[test]
fn whole_io_thread_on_plain_ws_allocates_at_most_one_per_message() {
    let server = WsServer::start();
    let total = 3_000;
    let sender = {
        let url = server.url("/market/stream");
        std::thread::spawn(move || {
            io_thread_allocations_per_message(url, ConnectionOptions::default(), total)
        })
    };
    let conn = server
        .wait_for_connection(0, Duration::from_secs(10))
        .expect("connect");
    for i in 0..total {
        conn.send_text(&frame(i, true)).unwrap();
    }
    let (counted, per_message) = sender.join().unwrap();
    println!(
        "io thread on ws://: {counted} allocations for {} messages ({per_message:.2} per message)",
        total - 500
    );
    assert!(per_message <= 1.0, "{per_message} allocations per message");
}

/// The same over wss:// to a local rustls server with a throwaway certificate: what TLS adds.
#[test]
fn whole_io_thread_on_wss_reports_what_tls_allocates() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let total = 3_000;
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let stream = rustls::StreamOwned::new(rustls::ServerConnection::new(tls).unwrap(), tcp);
        let mut ws = tungstenite::accept(stream).expect("tls websocket handshake");
        for i in 0..total {
            ws.send(tungstenite::Message::text(frame(i, true))).unwrap();
        }
        // Keep the socket open until the client has read everything and hung up.
        while ws.read().is_ok() {}
    });
    let options = ConnectionOptions {
        extra_root_certs: vec![cert],
        ..ConnectionOptions::default()
    };
    let (counted, per_message) = io_thread_allocations_per_message(
        format!("wss://localhost:{port}/market/stream"),
        options,
        total,
    );
    server.join().unwrap();
    println!(
        "io thread on wss://: {counted} allocations for {} messages ({per_message:.2} per message)",
        total - 500
    );
    assert!(per_message <= 2.0, "{per_message} allocations per message");
}
