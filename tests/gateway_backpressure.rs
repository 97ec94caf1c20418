//! The gateway against a shard driven by hand, so that exactly what the engine says and when is
//! under the test's control: replies and snapshots count against a client's write-buffer bound
//! like events do, and the loop keeps serving while a pull is unanswered.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use klagg::aggregator::{DeltaConsumer, Shard, ShardConfig, ShardRequest};
use klagg::egress::Decimals;
use klagg::gateway::pull::RESEND_AFTER;
use klagg::gateway::{Catalog, Gateway, GatewayConfig, GatewayHandle, GatewayStats};
use klagg::interval::Interval;
use klagg::pipeline::{EngineConsumer, now_ms};
use klagg::trade::AggTradePayload;
use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Client = WebSocket<MaybeTlsStream<TcpStream>>;

/// Symbols of the hand-driven shard; with all 16 intervals, 1,024 streams.
const SYMBOLS: u32 = 64;
/// The write-buffer bound of these tests.
const MAX_WRITE_BUFFER: usize = 256 * 1024;

/// One shard whose pulls the test answers (or not).
struct HandShard {
    shard: Shard,
    requests: Receiver<ShardRequest>,
}

impl HandShard {
    /// A shard of [`SYMBOLS`] symbols and every interval, with one trade per symbol if
    /// `traded`, and the engine consumer that pulls from it.
    fn new(traded: bool) -> (HandShard, EngineConsumer) {
        let mut shard =
            Shard::new(ShardConfig::new(Interval::standard().to_vec(), SYMBOLS)).unwrap();
        let (tx, requests) = crossbeam_channel::bounded(64);
        let consumer = EngineConsumer::new(vec![DeltaConsumer::new(shard.register_consumer(), tx)]);
        if traded {
            let now = now_ms();
            for symbol in 0..SYMBOLS {
                shard.process_trade(&AggTradePayload {
                    symbol,
                    price: 12_345_000_000,
                    quantity: 100_000_000,
                    agg_id: 1,
                    first_trade_id: 1,
                    last_trade_id: 1,
                    trade_time_ms: now,
                    event_time_ms: now,
                    ..AggTradePayload::default()
                });
            }
        }
        (HandShard { shard, requests }, consumer)
    }

    /// Answers every pull from a thread until `stop` is set.
    fn serve(mut self, stop: Arc<AtomicBool>) -> JoinHandle<()> {
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match self.requests.recv_timeout(Duration::from_millis(20)) {
                    Ok(request) => self.shard.handle_request(request),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        })
    }
}

/// The name of symbol `i`.
fn name(i: u32) -> String {
    format!("S{i:03}USDT")
}

/// Every stream of the catalog, 1,024 of them.
fn all_streams() -> Vec<String> {
    (0..SYMBOLS)
        .flat_map(|s| {
            Interval::standard()
                .into_iter()
                .map(move |i| format!("{}@kline_{i}", name(s).to_lowercase()))
        })
        .collect()
}

/// A gateway on `consumer`, pushing every 10 ms, clients bounded to [`MAX_WRITE_BUFFER`].
fn gateway(consumer: EngineConsumer, stop: &Arc<AtomicBool>) -> GatewayHandle {
    let catalog = Catalog {
        symbols: (0..SYMBOLS)
            .map(|i| (name(i), Decimals::new(2, 3)))
            .collect(),
        intervals: Interval::standard().to_vec(),
        live: None,
    };
    let config = GatewayConfig {
        push_interval: Duration::from_millis(10),
        max_write_buffer: MAX_WRITE_BUFFER,
        ..GatewayConfig::default()
    };
    Gateway::spawn(config, consumer, catalog, Arc::clone(stop)).expect("gateway")
}

fn connect(addr: SocketAddr, path: &str) -> Client {
    let (ws, _) = tungstenite::connect(format!("ws://{addr}{path}")).expect("connect");
    if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
    }
    ws
}

/// The next text message (within the read timeout).
fn read_json(ws: &mut Client) -> Value {
    loop {
        match ws.read().expect("a message") {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            _ => continue,
        }
    }
}

/// Waits (bounded) until `done` holds for the gateway's counters.
fn wait_for(gateway: &GatewayHandle, what: &str, done: impl Fn(&GatewayStats) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(&gateway.stats()) {
        assert!(
            Instant::now() < deadline,
            "{what} never happened: {:?}",
            gateway.stats()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `frames()` over and over from a client that never reads, until the gateway drops a
/// client as slow (bounded). Pauses between rounds keep each read under the input limit.
fn hog_until_dropped(gateway: &GatewayHandle, hog: &mut Client, frames: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    'rounds: while gateway.stats().clients_dropped_slow == 0 {
        assert!(
            Instant::now() < deadline,
            "the client was never dropped: {:?}",
            gateway.stats()
        );
        for frame in frames {
            // Once dropped, writes fail: that is the outcome waited for.
            if hog.send(Message::text(frame.as_str())).is_err() {
                break 'rounds;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_for(gateway, "the drop", |s| s.clients_dropped_slow == 1);
}

#[test]
fn replies_past_the_write_buffer_bound_drop_the_client_as_slow() {
    let stop = Arc::new(AtomicBool::new(false));
    let (shard, consumer) = HandShard::new(false);
    let server = shard.serve(Arc::clone(&stop));
    let gateway = gateway(consumer, &stop);
    let streams = all_streams();
    let subscribe = serde_json::json!({"method": "SUBSCRIBE", "params": streams, "id": 1});

    let mut polite = connect(gateway.addr(), "/market/ws");
    let mut hog = connect(gateway.addr(), "/market/ws");
    hog.send(Message::text(subscribe.to_string())).unwrap();
    // Each answer lists 1,024 streams (about 24 KB); 500 requests take about 24 KB to send.
    let list = vec![r#"{"method":"LIST_SUBSCRIPTIONS","id":2}"#.to_owned(); 500];
    hog_until_dropped(&gateway, &mut hog, &list);

    let stats = gateway.stats();
    assert_eq!(stats.clients_dropped_slow, 1);
    assert_eq!(stats.clients_dropped_protocol, 0, "not for its input");
    assert_eq!(
        stats.events_sent, 0,
        "no event was ever sent: replies did it"
    );
    assert!(stats.bytes_sent > MAX_WRITE_BUFFER as u64);
    assert_eq!(stats.subscriptions, 0, "its subscriptions went with it");
    // The client that reads is still served.
    polite
        .send(Message::text(r#"{"method":"LIST_SUBSCRIPTIONS","id":9}"#))
        .unwrap();
    assert_eq!(
        read_json(&mut polite),
        serde_json::json!({"result": [], "id": 9})
    );
    assert_eq!(gateway.stats().clients, 1);
    stop.store(true, Ordering::Relaxed);
    gateway.join().unwrap();
    server.join().unwrap();
}

#[test]
fn snapshots_past_the_write_buffer_bound_drop_the_client_as_slow() {
    let stop = Arc::new(AtomicBool::new(false));
    let (shard, consumer) = HandShard::new(true);
    let server = shard.serve(Arc::clone(&stop));
    let gateway = gateway(consumer, &stop);
    // A second pull is asked only once the first answer (every open kline) was taken in.
    wait_for(&gateway, "the first pull", |s| s.pulls >= 2);
    let streams = all_streams();
    let subscribe = serde_json::json!({"method": "SUBSCRIBE", "params": streams, "id": 1});
    let unsubscribe = serde_json::json!({"method": "UNSUBSCRIBE", "params": streams, "id": 2});

    let mut polite = connect(gateway.addr(), &format!("/market/ws/{}", streams[0]));
    let snapshot = read_json(&mut polite);
    assert_eq!(snapshot["k"]["c"], "123.45", "the open kline at once");
    // Each SUBSCRIBE of the 1,024 streams sends 1,024 snapshots (about 350 KB).
    let mut hog = connect(gateway.addr(), "/market/ws");
    hog_until_dropped(
        &gateway,
        &mut hog,
        &[subscribe.to_string(), unsubscribe.to_string()],
    );

    let stats = gateway.stats();
    assert_eq!(stats.clients_dropped_slow, 1);
    assert_eq!(stats.clients_dropped_protocol, 0, "not for its input");
    assert_eq!(
        stats.events_encoded, 0,
        "nothing changed after the first pull: snapshots did it"
    );
    assert!(stats.events_sent > 1_024, "snapshots were sent: {stats:?}");
    assert_eq!(
        stats.subscriptions, 1,
        "the reading client's stream is left"
    );
    polite
        .send(Message::text(r#"{"method":"LIST_SUBSCRIPTIONS","id":9}"#))
        .unwrap();
    assert_eq!(
        read_json(&mut polite),
        serde_json::json!({"result": [streams[0]], "id": 9})
    );
    stop.store(true, Ordering::Relaxed);
    gateway.join().unwrap();
    server.join().unwrap();
}

#[test]
fn the_gateway_serves_while_a_pull_is_unanswered_and_pushes_the_answer_when_it_comes() {
    let stop = Arc::new(AtomicBool::new(false));
    let (mut shard, consumer) = HandShard::new(true);
    let gateway = gateway(consumer, &stop);
    let pull = shard
        .requests
        .recv_timeout(Duration::from_secs(3))
        .expect("the gateway pulls");
    let held_since = Instant::now();

    // The pull is held: HTTP and WebSocket requests are answered all the same.
    let mut http = TcpStream::connect(gateway.addr()).unwrap();
    http.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    http.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    http.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("\r\n\r\nok"), "{response}");
    let stream = format!("{}@kline_1m", name(5).to_lowercase());
    let mut ws = connect(gateway.addr(), &format!("/market/ws/{stream}"));
    ws.send(Message::text(r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#))
        .unwrap();
    assert_eq!(
        read_json(&mut ws),
        serde_json::json!({"result": [stream], "id": 1}),
        "no snapshot came first: the gateway has seen nothing yet"
    );
    // While it waits, the gateway does not pile up requests: one more per RESEND_AFTER at most.
    let resends = shard.requests.len() as u128;
    assert!(
        resends <= held_since.elapsed().as_millis() / RESEND_AFTER.as_millis(),
        "{resends} requests sent while one was outstanding"
    );

    // The answer comes: its open kline goes to the subscriber.
    shard.shard.handle_request(pull);
    let event = read_json(&mut ws);
    assert_eq!(event["e"], "kline");
    assert_eq!(event["s"], name(5));
    assert_eq!(event["k"]["i"], "1m");
    assert_eq!(event["k"]["c"], "123.45");
    assert_eq!(event["k"]["v"], "1.000");
    assert_eq!(event["k"]["x"], false);
    stop.store(true, Ordering::Relaxed);
    gateway.join().unwrap();
}
