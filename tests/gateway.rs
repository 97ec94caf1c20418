//! The gateway on loopback, fed by the real engine reading the simulator: WebSocket clients
//! (raw, combined, `SUBSCRIBE`) get kline events equal to what another consumer of the same
//! engine pulls, bad requests get errors, a slow client is dropped while a fast one keeps
//! receiving, and REST serves the klines seen.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use klagg::aggregator::{KlineRecord, ShardConfig};
use klagg::egress::{Decimals, write_kline_event, write_rest_kline};
use klagg::gateway::{Catalog, Gateway, GatewayConfig, GatewayHandle};
use klagg::idle::IdleStrategy;
use klagg::ingress::connection::ConnectionOptions;
use klagg::interval::Interval;
use klagg::pipeline::{Engine, EngineSpec, now_ms};
use klagg::sim::MarketSource;
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;
use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Client = WebSocket<MaybeTlsStream<TcpStream>>;

const INTERVALS: &str = "1s,1m";

/// One simulator, engine and gateway at a time: several at once on a small machine would
/// measure the scheduler.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A simulator feeding an engine whose consumers are the gateway and a recorder.
struct Run {
    sim: Simulation,
    engine: Option<Engine>,
    gateway: Option<GatewayHandle>,
    stop: Arc<AtomicBool>,
    recorder: Option<JoinHandle<()>>,
    /// Closed klines pulled by the second consumer.
    closed: Arc<Mutex<Vec<KlineRecord>>>,
    names: Vec<String>,
    decimals: Vec<Decimals>,
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl Run {
    fn start(symbols: usize, rate: u32, config: GatewayConfig) -> Run {
        let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let mut market = SyntheticConfig::new(symbols, rate, 11, now_ms());
        market.quiet_fraction = 0.0;
        let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
        let mut sim = Simulation::serve(ServerConfig::default(), specs.clone()).expect("simulator");
        let intervals = Interval::parse_list(INTERVALS).unwrap();
        let spec = EngineSpec {
            shard: ShardConfig::new(intervals.clone(), specs.len() as u32),
            max_symbols: specs.len() as u32,
            shard_cores: vec![None],
            connections: klagg::demo::sim_connections(&sim, 1_024),
            idle: IdleStrategy::Park(Duration::from_micros(200)),
            ring_capacity: 4096,
            connection: ConnectionOptions::default(),
            consumers: 2,
            probe: false,
            restore: Vec::new(),
        };
        let (engine, mut consumers) = Engine::start(spec).expect("engine");
        assert!(
            sim.wait_for_clients(1, Duration::from_secs(5)),
            "the engine connects"
        );
        market.start_ms = now_ms();
        sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
            .unwrap();
        let mut recorder_consumer = consumers.pop().unwrap();
        let gateway_consumer = consumers.pop().unwrap();
        let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
        let decimals: Vec<Decimals> = specs
            .iter()
            .map(|s| Decimals {
                price: s.price_decimals,
                quantity: s.quantity_decimals,
            })
            .collect();
        let catalog = Catalog {
            symbols: names
                .iter()
                .cloned()
                .zip(decimals.iter().copied())
                .collect(),
            intervals,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let gateway =
            Gateway::spawn(config, gateway_consumer, catalog, Arc::clone(&stop)).expect("gateway");
        let closed = Arc::new(Mutex::new(Vec::new()));
        let recorder = {
            let closed = Arc::clone(&closed);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(delta) = recorder_consumer.pull(Duration::from_millis(50)) {
                        closed.lock().unwrap().extend_from_slice(&delta.closed);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Run {
            sim,
            engine: Some(engine),
            gateway: Some(gateway),
            stop,
            recorder: Some(recorder),
            closed,
            names,
            decimals,
            _guard: guard,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.gateway.as_ref().unwrap().addr()
    }

    fn stream(&self, symbol: usize, interval: &str) -> String {
        format!("{}@kline_{interval}", self.names[symbol].to_lowercase())
    }

    fn connect(&self, path: &str) -> Client {
        let (ws, _) = tungstenite::connect(format!("ws://{}{path}", self.addr())).expect("connect");
        if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
        }
        ws
    }

    /// The closed kline the recorder pulled for a slot and open time.
    fn engine_closed(&self, symbol: usize, interval: u16, open_time: i64) -> Option<KlineRecord> {
        self.closed
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|r| {
                r.symbol == symbol as u32
                    && r.interval == interval
                    && r.kline.open_time == open_time
            })
            .copied()
    }

    /// Waits (bounded) until the recorder has pulled the closed kline.
    fn wait_engine_closed(&self, symbol: usize, interval: u16, open_time: i64) -> KlineRecord {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            if let Some(record) = self.engine_closed(symbol, interval, open_time) {
                return record;
            }
            assert!(
                Instant::now() < deadline,
                "engine never closed {symbol}/{interval}/{open_time}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(gateway) = self.gateway.take() {
            let _ = gateway.join();
        }
        if let Some(recorder) = self.recorder.take() {
            let _ = recorder.join();
        }
        self.sim.stop_market();
        if let Some(engine) = self.engine.take() {
            engine.stop();
        }
    }
}

/// The next text message, or `None` after `wait` without one.
fn next_text(ws: &mut Client, wait: Duration) -> Option<Value> {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).expect("json")),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("read failed: {e}"),
        }
    }
    None
}

/// The next message that is not a kline event (a reply), skipping events.
fn next_reply(ws: &mut Client) -> Value {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Some(value) = next_text(ws, Duration::from_millis(200))
            && value.get("e").is_none()
            && value.get("stream").is_none()
        {
            return value;
        }
    }
    panic!("no reply");
}

fn send(ws: &mut Client, text: &str) {
    ws.send(Message::text(text)).expect("send");
}

/// What the engine's kline encodes to, as a parsed event, with the received event's `E`.
fn expected_event(run: &Run, record: &KlineRecord, event_ms: i64, closed: bool) -> Value {
    let mut out = Vec::new();
    let interval = Interval::parse_list(INTERVALS).unwrap()[record.interval as usize];
    let symbol = record.symbol as usize;
    write_kline_event(
        &mut out,
        event_ms,
        &run.names[symbol],
        interval,
        &record.kline,
        closed,
        run.decimals[symbol],
    );
    serde_json::from_slice(&out).unwrap()
}

/// A plain HTTP GET: status and body.
fn http_get(addr: SocketAddr, target: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("response head");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

fn fast_config() -> GatewayConfig {
    GatewayConfig {
        push_interval: Duration::from_millis(20),
        ..GatewayConfig::default()
    }
}

#[test]
fn raw_stream_delivers_snapshot_updates_and_closed_klines_equal_to_the_engine() {
    let run = Run::start(4, 2_000, fast_config());
    std::thread::sleep(Duration::from_millis(300));
    let mut ws = run.connect(&format!("/market/ws/{}", run.stream(0, "1s")));
    let connected = Instant::now();
    let first = next_text(&mut ws, Duration::from_secs(1)).expect("snapshot");
    assert!(connected.elapsed() < Duration::from_millis(500));
    assert_eq!(first["e"], "kline");
    assert_eq!(first["s"], run.names[0].as_str());
    assert_eq!(first["k"]["i"], "1s");
    assert_eq!(first["k"]["x"], false);
    let mut closed = Vec::new();
    let mut updates = 0;
    let end = Instant::now() + Duration::from_millis(3500);
    while Instant::now() < end {
        let Some(event) = next_text(&mut ws, Duration::from_millis(200)) else {
            continue;
        };
        assert_eq!(event["s"], run.names[0].as_str());
        if event["k"]["x"] == true {
            closed.push(event);
        } else {
            updates += 1;
        }
    }
    assert!(updates > 5, "only {updates} open updates");
    assert!(closed.len() >= 2, "only {} closed klines", closed.len());
    for event in &closed {
        let open_time = event["k"]["t"].as_i64().unwrap();
        let record = run.wait_engine_closed(0, 0, open_time);
        let expected = expected_event(&run, &record, event["E"].as_i64().unwrap(), true);
        assert_eq!(event, &expected, "closed kline differs from the engine's");
    }
    // Every second between the first and last closed event was delivered, none twice.
    let times: Vec<i64> = closed
        .iter()
        .map(|e| e["k"]["t"].as_i64().unwrap())
        .collect();
    for pair in times.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            1000,
            "closed klines missing or repeated: {times:?}"
        );
    }
    let stats = run.gateway.as_ref().unwrap().stats();
    assert_eq!(stats.clients, 1);
    assert!(stats.events_sent >= (updates + closed.len() + 1) as u64);
}

#[test]
fn combined_stream_subscribe_list_and_unsubscribe() {
    let run = Run::start(3, 1_000, fast_config());
    std::thread::sleep(Duration::from_millis(300));
    let first = run.stream(0, "1s");
    let second = run.stream(1, "1m");
    let mut ws = run.connect(&format!("/market/stream?streams={first}"));
    let event = next_text(&mut ws, Duration::from_secs(1)).expect("event");
    assert_eq!(event["stream"], first.as_str());
    assert_eq!(event["data"]["e"], "kline");
    assert_eq!(event["data"]["s"], run.names[0].as_str());

    send(
        &mut ws,
        &format!(r#"{{"method":"SUBSCRIBE","params":["{second}"],"id":1}}"#),
    );
    assert_eq!(
        next_reply(&mut ws),
        serde_json::json!({"result": null, "id": 1})
    );
    // The new stream's snapshot follows at once.
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let event = next_text(&mut ws, Duration::from_millis(200));
        if event
            .as_ref()
            .is_some_and(|e| e["stream"] == second.as_str())
        {
            let data = &event.unwrap()["data"];
            assert_eq!(data["k"]["i"], "1m");
            assert_eq!(data["k"]["x"], false);
            break;
        }
        assert!(Instant::now() < deadline, "no snapshot for {second}");
    }
    send(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":2}"#);
    assert_eq!(
        next_reply(&mut ws),
        serde_json::json!({"result": [first, second], "id": 2})
    );
    send(
        &mut ws,
        &format!(r#"{{"method":"UNSUBSCRIBE","params":["{first}"],"id":3}}"#),
    );
    assert_eq!(
        next_reply(&mut ws),
        serde_json::json!({"result": null, "id": 3})
    );
    send(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":4}"#);
    assert_eq!(
        next_reply(&mut ws),
        serde_json::json!({"result": [second], "id": 4})
    );
    // Once the unsubscribe was answered, only the remaining stream arrives.
    let end = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < end {
        if let Some(event) = next_text(&mut ws, Duration::from_millis(200)) {
            assert_eq!(event["stream"], second.as_str());
        }
    }
}

#[test]
fn subscribe_on_a_bare_path_and_bad_requests_get_errors() {
    let run = Run::start(2, 500, fast_config());
    let mut ws = run.connect("/market/ws");
    send(&mut ws, "not json");
    let reply = next_reply(&mut ws);
    assert_eq!(reply["error"]["code"], 3);
    assert_eq!(reply["id"], Value::Null);
    send(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["nosuchusdt@kline_1m"],"id":5}"#,
    );
    let reply = next_reply(&mut ws);
    assert_eq!(
        (reply["error"]["code"].clone(), reply["id"].clone()),
        (2.into(), 5.into())
    );
    send(
        &mut ws,
        &format!(
            r#"{{"method":"SUBSCRIBE","params":["{}"],"id":6}}"#,
            run.stream(0, "1w")
        ),
    );
    assert_eq!(next_reply(&mut ws)["error"]["code"], 2);
    send(&mut ws, r#"{"method":"FLY","id":7}"#);
    assert_eq!(next_reply(&mut ws)["error"]["code"], 2);
    send(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":8}"#);
    assert_eq!(
        next_reply(&mut ws),
        serde_json::json!({"result": [], "id": 8})
    );
    let stream = run.stream(1, "1s");
    send(
        &mut ws,
        &format!(r#"{{"method":"SUBSCRIBE","params":["{stream}"],"id":9}}"#),
    );
    assert_eq!(
        next_reply(&mut ws),
        serde_json::json!({"result": null, "id": 9})
    );
    let event = next_text(&mut ws, Duration::from_secs(2)).expect("event after SUBSCRIBE");
    assert_eq!(event["s"], run.names[1].as_str());

    // Refused handshakes: unknown path, unknown symbol.
    let refused = |path: &str| match tungstenite::connect(format!("ws://{}{path}", run.addr())) {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        other => panic!(
            "{path}: expected an HTTP refusal, got {:?}",
            other.map(|_| ())
        ),
    };
    assert_eq!(refused("/ws/btcusdt@kline_1m"), 404);
    assert_eq!(refused("/market/ws/nosuchusdt@kline_1m"), 400);
    assert_eq!(refused("/market/stream?streams=btcusdt@aggTrade"), 400);

    // Garbage on the socket gets a 400, and the gateway keeps serving.
    let mut raw = TcpStream::connect(run.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    raw.write_all(b"\x00\x01\x02 garbage\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = raw.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert_eq!(http_get(run.addr(), "/healthz"), (200, "ok".to_owned()));
    assert!(
        next_text(&mut ws, Duration::from_secs(1)).is_some(),
        "the subscriber stopped receiving"
    );
}

#[test]
fn a_slow_client_is_dropped_while_a_fast_one_keeps_receiving() {
    let config = GatewayConfig {
        push_interval: Duration::from_millis(5),
        max_write_buffer: 64 * 1024,
        ..GatewayConfig::default()
    };
    let run = Run::start(40, 20_000, config);
    let all: Vec<String> = (0..40)
        .flat_map(|s| [run.stream(s, "1s"), run.stream(s, "1m")])
        .collect();
    let path = format!("/market/stream?streams={}", all.join("/"));
    let slow = run.connect(&path);
    let mut fast = run.connect(&path);
    let gateway = run.gateway.as_ref().unwrap();
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut received = 0;
    while gateway.stats().clients_dropped_slow == 0 {
        assert!(
            Instant::now() < deadline,
            "the slow client was never dropped: {:?}",
            gateway.stats()
        );
        if next_text(&mut fast, Duration::from_millis(10)).is_some() {
            received += 1;
        }
    }
    assert!(received > 0);
    let after = Instant::now() + Duration::from_millis(500);
    let mut later = 0;
    while Instant::now() < after {
        if next_text(&mut fast, Duration::from_millis(50)).is_some() {
            later += 1;
        }
    }
    assert!(later > 10, "the fast client stopped receiving ({later})");
    let stats = gateway.stats();
    assert_eq!(stats.clients_dropped_slow, 1);
    assert_eq!(stats.clients, 1);
    drop(slow);
}

#[test]
fn rest_serves_the_klines_seen_healthz_and_metrics() {
    let config = GatewayConfig {
        metrics: Some(Arc::new(|| "klagg_up 1\n".to_owned())),
        ..fast_config()
    };
    let run = Run::start(3, 1_000, config);
    std::thread::sleep(Duration::from_millis(3200));
    let symbol = &run.names[1];
    let (status, body) = http_get(
        run.addr(),
        &format!("/fapi/v1/klines?symbol={symbol}&interval=1s&limit=1000"),
    );
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert!(rows.len() >= 2, "{body}");
    for row in &rows[..rows.len() - 1] {
        let record = run.wait_engine_closed(1, 0, row[0].as_i64().unwrap());
        let mut expected = Vec::new();
        write_rest_kline(&mut expected, &record.kline, run.decimals[1]);
        assert_eq!(row, &serde_json::from_slice::<Value>(&expected).unwrap());
    }
    let (_, two) = http_get(
        run.addr(),
        &format!("/fapi/v1/klines?symbol={symbol}&interval=1s&limit=2"),
    );
    let two: Vec<Value> = serde_json::from_str(&two).unwrap();
    assert_eq!(two.len(), 2);
    let start = rows[0][0].as_i64().unwrap();
    let (_, from) = http_get(
        run.addr(),
        &format!("/fapi/v1/klines?symbol={symbol}&interval=1s&startTime={start}&limit=1"),
    );
    let from: Vec<Value> = serde_json::from_str(&from).unwrap();
    assert_eq!(from, rows[..1]);

    let bad = |target: &str| {
        let (status, body) = http_get(run.addr(), target);
        let body: Value = serde_json::from_str(&body).unwrap();
        (status, body["code"].as_i64().unwrap())
    };
    assert_eq!(
        bad("/fapi/v1/klines?symbol=NOSUCH&interval=1s"),
        (400, -1121)
    );
    assert_eq!(
        bad(&format!("/fapi/v1/klines?symbol={symbol}&interval=7x")),
        (400, -1120)
    );
    assert_eq!(
        bad(&format!(
            "/fapi/v1/klines?symbol={symbol}&interval=1s&limit=1501"
        )),
        (400, -1130)
    );
    assert_eq!(
        bad(&format!(
            "/fapi/v1/klines?symbol={symbol}&interval=1s&startTime=x"
        )),
        (400, -1100)
    );
    assert_eq!(bad("/fapi/v1/klines?interval=1s"), (400, -1102));
    assert_eq!(http_get(run.addr(), "/healthz"), (200, "ok".to_owned()));
    assert_eq!(
        http_get(run.addr(), "/metrics"),
        (200, "klagg_up 1\n".to_owned())
    );
    assert_eq!(http_get(run.addr(), "/nowhere").0, 404);
}

#[test]
fn limits_on_clients_and_streams_per_client() {
    let config = GatewayConfig {
        max_clients: 1,
        max_streams_per_client: 2,
        ..fast_config()
    };
    let run = Run::start(3, 500, config);
    let mut ws = run.connect("/market/ws");
    let three = [
        run.stream(0, "1s"),
        run.stream(1, "1s"),
        run.stream(2, "1s"),
    ];
    send(
        &mut ws,
        &format!(
            r#"{{"method":"SUBSCRIBE","params":["{}","{}","{}"],"id":1}}"#,
            three[0], three[1], three[2]
        ),
    );
    let reply = next_reply(&mut ws);
    assert_eq!(
        (reply["error"]["code"].clone(), reply["id"].clone()),
        (2.into(), 1.into())
    );
    send(
        &mut ws,
        &format!(
            r#"{{"method":"SUBSCRIBE","params":["{}","{}"],"id":2}}"#,
            three[0], three[1]
        ),
    );
    assert_eq!(
        next_reply(&mut ws),
        serde_json::json!({"result": null, "id": 2})
    );
    // A second connection is past max_clients: closed without an answer.
    let mut second = TcpStream::connect(run.addr()).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let _ = second.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut response = Vec::new();
    let _ = second.read_to_end(&mut response);
    assert!(response.is_empty());
    assert_eq!(run.gateway.as_ref().unwrap().stats().clients_rejected, 1);
    assert!(next_text(&mut ws, Duration::from_secs(1)).is_some());
}

#[test]
fn rest_includes_klines_stored_before_this_run() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("klines.sqlite");
    let second = Interval::parse("1s").unwrap();
    // A kline from an earlier run, an hour ago, of the market's second symbol.
    let open = second.open_time(now_ms() - 3_600_000);
    let mut stored = klagg::kline::Kline::empty(open, second.close_time(open), 0);
    stored.apply(&klagg::trade::AggTradePayload {
        price: 123_450_000,
        quantity: 200_000_000,
        first_trade_id: 7,
        last_trade_id: 9,
        ..Default::default()
    });
    let mut store = klagg::store::KlineStore::open(&database).unwrap();
    store.write_batch(&[("ETHUSDT", second, stored)]).unwrap();
    drop(store);
    let config = GatewayConfig {
        database: Some(database),
        ..fast_config()
    };
    let run = Run::start(3, 1_000, config);
    assert_eq!(run.names[1], "ETHUSDT");
    std::thread::sleep(Duration::from_millis(1_500));
    let (status, body) = http_get(
        run.addr(),
        &format!("/fapi/v1/klines?symbol=ETHUSDT&interval=1s&startTime={open}&limit=1000"),
    );
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    let mut expected = Vec::new();
    write_rest_kline(&mut expected, &stored, run.decimals[1]);
    assert_eq!(
        rows[0],
        serde_json::from_slice::<Value>(&expected).unwrap(),
        "the stored kline comes first"
    );
    assert!(rows.len() >= 2, "and this run's klines follow: {body}");
}
