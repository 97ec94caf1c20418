//! The simulator's exchange on loopback, driven by a plain tungstenite client and raw HTTP:
//! stream forms, client requests and their errors, connection rules, every fault, REST.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use klagg::config::Market;
use klagg::ingress::{exchange_info, mini_ticker};
use klagg::interval::Interval;
use klagg::latency::Sampling;
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::{ServerConfig, SimServer, SimServerStats};
use klagg::sim::simulation::Simulation;
use klagg::sim::{Faults, MarketSource, SimTrade, SymbolSpec, WriteStamps};
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Client = WebSocket<MaybeTlsStream<TcpStream>>;

const MS: Duration = Duration::from_millis(1);
const WAIT: Duration = Duration::from_secs(3);
/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;
const ONE: i64 = 100_000_000;

fn spec(name: &str, price_decimals: u32, quantity_decimals: u32, listed: bool) -> SymbolSpec {
    SymbolSpec {
        name: name.into(),
        price_decimals,
        quantity_decimals,
        listed_at_ms: (!listed).then_some(T0 + 3_600_000),
    }
}

/// BTCUSDT (0), ETHUSDT (1), and NEWUSDT (2) which is not listed yet.
fn symbols() -> Vec<SymbolSpec> {
    vec![
        spec("BTCUSDT", 2, 3, true),
        spec("ETHUSDT", 2, 3, true),
        spec("NEWUSDT", 4, 0, false),
    ]
}

fn start(config: ServerConfig) -> SimServer {
    SimServer::start(config, symbols()).expect("start server")
}

fn trade(
    symbol: u32,
    agg_id: i64,
    time_ms: i64,
    price: i64,
    quantity: i64,
    maker: bool,
) -> SimTrade {
    SimTrade {
        symbol,
        agg_id,
        price,
        quantity,
        first_trade_id: agg_id * 10,
        last_trade_id: agg_id * 10 + 2,
        time_ms,
        is_buyer_maker: maker,
    }
}

/// BTCUSDT trade `id`: 37000.10 + id cents, 0.005 BTC, at T0 + id s.
fn btc(id: i64) -> SimTrade {
    trade(
        0,
        id,
        T0 + id * 1000,
        3_700_010_000_000 + id * 1_000_000,
        500_000,
        id % 2 == 0,
    )
}

fn btc_event(id: i64) -> String {
    let t = btc(id);
    format!(
        r#"{{"e":"aggTrade","E":{},"a":{id},"s":"BTCUSDT","p":"{}","q":"0.005","nq":"0.005","f":{},"l":{},"T":{},"m":{}}}"#,
        t.time_ms + 1,
        format_args!("37000.{:02}", 10 + id),
        t.first_trade_id,
        t.last_trade_id,
        t.time_ms,
        t.is_buyer_maker
    )
}

fn combined(stream: &str, data: &str) -> String {
    format!(r#"{{"stream":"{stream}","data":{data}}}"#)
}

fn wait_for(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        thread::sleep(2 * MS);
    }
    condition()
}

fn wait_stats(server: &SimServer, what: impl Fn(&SimServerStats) -> bool) -> SimServerStats {
    assert!(wait_for(|| what(&server.stats())), "{:?}", server.stats());
    server.stats()
}

/// Connects to `path` and waits until the server has registered the connection.
fn connect(server: &SimServer, path: &str) -> Client {
    let before = server.stats().connections_accepted;
    let (ws, _) = tungstenite::connect(format!("ws://{}{path}", server.addr())).expect("connect");
    if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
        stream.set_read_timeout(Some(10 * MS)).expect("timeout");
    }
    wait_stats(server, |s| s.connections_accepted > before);
    ws
}

/// The next message other than ping/pong within `timeout`; `Err` when the connection ended.
fn next(ws: &mut Client, timeout: Duration) -> Result<Option<Message>, tungstenite::Error> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(message) => return Ok(Some(message)),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn next_text(ws: &mut Client) -> String {
    match next(ws, WAIT) {
        Ok(Some(Message::Text(text))) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

fn request(ws: &mut Client, text: &str) -> Value {
    ws.send(Message::text(text)).expect("send");
    serde_json::from_str(&next_text(ws)).expect("reply is JSON")
}

/// Reads until the connection ends; returns the close frame's code if there was one.
fn read_to_end(ws: &mut Client) -> Option<u16> {
    let mut code = None;
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        match next(ws, 50 * MS) {
            Ok(Some(Message::Close(frame))) => code = frame.map(|f| u16::from(f.code)),
            Ok(_) => {}
            Err(_) => return code,
        }
    }
    panic!("connection did not end");
}

fn get(addr: SocketAddr, target: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    write!(stream, "GET {target} HTTP/1.1\r\nHost: sim\r\n\r\n").expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("head");
    assert!(head.contains("Connection: close"), "{head}");
    let status = head[9..12].parse().expect("status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn url_streams_arrive_raw_and_combined() {
    let server = start(ServerConfig::default());
    let mut combined_ws = connect(
        &server,
        "/market/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade",
    );
    let mut raw_ws = connect(&server, "/market/ws/btcusdt@aggTrade");
    let publisher = server.publisher();
    publisher.publish(&btc(1), btc(1).time_ms + 1);
    publisher.publish(&trade(1, 7, T0, 250_000_000, 1_000, true), T0);
    assert_eq!(next_text(&mut raw_ws), btc_event(1));
    assert_eq!(
        next_text(&mut combined_ws),
        combined("btcusdt@aggTrade", &btc_event(1))
    );
    let eth = r#"{"e":"aggTrade","E":1704067200000,"a":7,"s":"ETHUSDT","p":"2.50","q":"0.00001","nq":"0.00001","f":70,"l":72,"T":1704067200000,"m":true}"#;
    assert_eq!(
        next_text(&mut combined_ws),
        combined("ethusdt@aggTrade", eth)
    );
    assert_eq!(
        next(&mut raw_ws, 30 * MS).unwrap(),
        None,
        "raw is only subscribed to btc"
    );
    let listed = request(
        &mut combined_ws,
        r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#,
    );
    assert_eq!(
        listed,
        json!({"result": ["btcusdt@aggTrade", "ethusdt@aggTrade"], "id": 3})
    );
    let stats = server.stats();
    assert_eq!(
        (
            stats.trades_published,
            stats.frames_sent,
            stats.connections_open
        ),
        (2, 3, 2)
    );
    server.stop();
}

#[test]
fn subscribe_list_unsubscribe() {
    let server = start(ServerConfig::default());
    let mut ws = connect(&server, "/market/ws");
    let reply = request(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","ethusdt@aggTrade"],"id":1}"#,
    );
    assert_eq!(reply, json!({"result": null, "id": 1}));
    let publisher = server.publisher();
    publisher.publish(&btc(1), btc(1).time_ms + 1);
    assert_eq!(next_text(&mut ws), btc_event(1));
    let reply = request(
        &mut ws,
        r#"{"method":"UNSUBSCRIBE","params":["btcusdt@aggTrade"],"id":"two"}"#,
    );
    assert_eq!(reply, json!({"result": null, "id": "two"}));
    let listed = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#);
    assert_eq!(listed, json!({"result": ["ethusdt@aggTrade"], "id": 3}));
    publisher.publish(&btc(2), btc(2).time_ms + 1);
    publisher.publish(&trade(1, 1, T0, ONE, ONE, false), T0);
    let frame: Value = serde_json::from_str(&next_text(&mut ws)).unwrap();
    assert_eq!(frame["s"], "ETHUSDT", "no frame after UNSUBSCRIBE");
    assert_eq!(server.stats().subscribe_requests, 1);
}

#[test]
fn bad_requests_get_binance_errors() {
    let config = ServerConfig {
        max_streams_per_connection: 2,
        ..ServerConfig::default()
    };
    let server = start(config);
    let mut ws = connect(&server, "/market/stream?streams=btcusdt@aggTrade");
    let error = |reply: &Value, id: Value| {
        assert_eq!(reply["error"]["code"], 2, "{reply}");
        assert!(
            reply["error"]["msg"]
                .as_str()
                .unwrap()
                .starts_with("Invalid request"),
            "{reply}"
        );
        assert_eq!(reply["id"], id, "{reply}");
    };
    error(&request(&mut ws, "{not json"), Value::Null);
    error(
        &request(&mut ws, r#"{"method":"SUBSCRIBE_ALL","id":5}"#),
        json!(5),
    );
    let unknown = request(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["xrpusdt@aggTrade"],"id":6}"#,
    );
    error(&unknown, json!(6));
    assert!(
        unknown["error"]["msg"]
            .as_str()
            .unwrap()
            .contains("unknown stream xrpusdt@aggTrade")
    );
    let too_many =
        r#"{"method":"SUBSCRIBE","params":["ethusdt@aggTrade","!miniTicker@arr"],"id":7}"#;
    error(&request(&mut ws, too_many), json!(7));
    let listed = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":8}"#);
    assert_eq!(
        listed["result"],
        json!(["btcusdt@aggTrade"]),
        "a refused SUBSCRIBE adds nothing"
    );
    let stats = server.stats();
    assert_eq!((stats.error_replies, stats.subscribe_requests), (4, 2));
    // Unknown paths and streams are refused before the handshake.
    let url = |path: &str| format!("ws://{}{path}", server.addr());
    for (path, status) in [
        ("/ws/btcusdt@aggTrade", 404),
        ("/market/ws/xrpusdt@aggTrade", 400),
    ] {
        match tungstenite::connect(url(path)) {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), status),
            other => panic!("{path}: {:?}", other.map(|_| ())),
        }
    }
}

#[test]
fn too_many_messages_disconnect() {
    let config = ServerConfig {
        max_incoming_per_s: 3,
        ..ServerConfig::default()
    };
    let server = start(config);
    let mut ws = connect(&server, "/market/ws");
    for id in 0..3 {
        request(
            &mut ws,
            &format!(r#"{{"method":"LIST_SUBSCRIPTIONS","id":{id}}}"#),
        );
    }
    ws.send(Message::Ping(Vec::new().into()))
        .expect("ping counts too");
    assert_eq!(read_to_end(&mut ws), Some(1008));
    let stats = wait_stats(&server, |s| s.connections_open == 0);
    assert_eq!(stats.disconnects_rate_limit, 1);
}

#[test]
fn pings_pongs_and_the_pong_timeout() {
    let config = ServerConfig {
        ping_every: 40 * MS,
        pong_timeout: 150 * MS,
        max_incoming_per_s: 100,
        ..ServerConfig::default()
    };
    let server = start(config);
    // A client that reads answers every ping and stays.
    let mut live = connect(&server, "/market/ws");
    live.send(Message::Ping(b"hi".to_vec().into()))
        .expect("ping");
    let deadline = Instant::now() + WAIT;
    let pong = loop {
        assert!(Instant::now() < deadline, "no pong");
        match live.read() {
            Ok(Message::Pong(payload)) => break payload,
            Ok(_) | Err(tungstenite::Error::Io(_)) => {}
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(&pong[..], b"hi");
    // A client that never reads never answers: dropped after the timeout, while the reading
    // client stays.
    let _silent = connect(&server, "/market/ws");
    let deadline = Instant::now() + WAIT;
    while server.stats().disconnects_no_pong == 0 {
        assert!(Instant::now() < deadline, "{:?}", server.stats());
        assert!(next(&mut live, 10 * MS).unwrap().is_none());
    }
    let stats = server.stats();
    assert!(
        next(&mut live, 300 * MS).unwrap().is_none(),
        "the reading client stays"
    );
    let stats_after = server.stats();
    assert!(stats.pings_sent >= 4, "{stats:?}");
    assert!(stats_after.pongs_received >= 4, "{stats_after:?}");
    assert_eq!(
        (
            stats_after.connections_open,
            stats_after.disconnects_no_pong
        ),
        (1, 1)
    );
}

#[test]
fn connections_end_at_their_maximum_age() {
    let config = ServerConfig {
        max_connection_age: Some(150 * MS),
        ..ServerConfig::default()
    };
    let server = start(config);
    let opened = Instant::now();
    let mut ws = connect(&server, "/market/ws");
    assert_eq!(read_to_end(&mut ws), Some(1000));
    assert!(opened.elapsed() >= 150 * MS);
    assert_eq!(
        wait_stats(&server, |s| s.connections_open == 0).disconnects_age,
        1
    );
}

fn faulty(faults: Faults) -> SimServer {
    start(ServerConfig {
        faults,
        ..ServerConfig::default()
    })
}

#[test]
fn drops_with_and_without_a_close_frame() {
    for with_close in [true, false] {
        let server = faulty(Faults {
            drop_every: Some(100 * MS),
            drop_with_close_frame: with_close,
            ..Faults::default()
        });
        let mut ws = connect(&server, "/market/ws");
        let code = read_to_end(&mut ws);
        assert_eq!(code, with_close.then_some(1001));
        let stats = wait_stats(&server, |s| s.connections_open == 0);
        assert_eq!(stats.disconnects_by_fault, 1);
    }
}

#[test]
fn a_stall_holds_frames_back() {
    let server = faulty(Faults {
        stall_every: Some(50 * MS),
        stall_for: 300 * MS,
        ..Faults::default()
    });
    let mut ws = connect(&server, "/market/ws/btcusdt@aggTrade");
    wait_stats(&server, |s| s.stalls == 1);
    let stalled_at = Instant::now();
    server.publisher().publish(&btc(1), btc(1).time_ms + 1);
    assert_eq!(
        next(&mut ws, 100 * MS).unwrap(),
        None,
        "nothing during the stall"
    );
    assert_eq!(next_text(&mut ws), btc_event(1), "sent when the stall ends");
    assert!(stalled_at.elapsed() >= 200 * MS);
}

/// What one client of [`faults_taken_in_turns_hit_one_connection_at_a_time`] saw.
#[derive(Debug, Default)]
struct Seen {
    ids: std::collections::BTreeSet<i64>,
    reconnects: u32,
    /// (start, end) of each silence of a stall's length while trades were flowing.
    silences: Vec<(Instant, Instant)>,
}

/// Reads btcusdt trades, reconnecting at once when dropped, until `stop`.
fn copy_of_btc(addr: SocketAddr, stop: &std::sync::atomic::AtomicBool) -> Seen {
    use std::sync::atomic::Ordering;
    let mut seen = Seen::default();
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let (mut ws, _) = tungstenite::connect(format!("ws://{addr}/market/ws/btcusdt@aggTrade"))
            .expect("connect");
        if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
            stream.set_read_timeout(Some(5 * MS)).expect("timeout");
        }
        while !stop.load(Ordering::Relaxed) {
            match next(&mut ws, 20 * MS) {
                Ok(Some(Message::Text(text))) => {
                    let now = Instant::now();
                    if now.duration_since(last) >= 150 * MS && !seen.ids.is_empty() {
                        seen.silences.push((last, now));
                    }
                    last = now;
                    let event: Value = serde_json::from_str(&text).expect("json");
                    seen.ids.insert(event["a"].as_i64().expect("agg id"));
                }
                Ok(_) => {}
                Err(_) => {
                    seen.reconnects += 1;
                    break;
                }
            }
        }
    }
    seen
}

#[test]
fn faults_taken_in_turns_hit_one_connection_at_a_time() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let server = faulty(Faults {
        drop_every: Some(150 * MS),
        stall_every: Some(200 * MS),
        stall_for: 300 * MS,
        one_at_a_time: true,
        ..Faults::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (addr, stop) = (server.addr(), Arc::clone(&stop));
            thread::spawn(move || copy_of_btc(addr, &stop))
        })
        .collect();
    wait_stats(&server, |s| s.connections_open == 2);
    // Two copies of one stream: a drop at 150 ms, a stall once it is replaced and settled, a
    // drop once that is over, in turns over both connections.
    let publisher = server.publisher();
    let mut id = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(3600) {
        id += 1;
        publisher.publish(&btc(id), btc(id).time_ms + 1);
        thread::sleep(5 * MS);
    }
    thread::sleep(100 * MS);
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<Seen> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    let stats = server.stats();
    assert!(
        stats.disconnects_by_fault >= 2 && stats.stalls >= 1,
        "{stats:?}"
    );
    let union: std::collections::BTreeSet<i64> =
        seen.iter().flat_map(|s| s.ids.iter().copied()).collect();
    assert_eq!(
        union,
        (1..=id).collect(),
        "every trade reached one copy at least"
    );
    for (i, client) in seen.iter().enumerate() {
        assert!(
            client.reconnects + client.silences.len() as u32 >= 1,
            "client {i} was never faulted: {seen:?}"
        );
    }
    for a in &seen[0].silences {
        for b in &seen[1].silences {
            assert!(
                a.1 <= b.0 || b.1 <= a.0,
                "both copies silent at once: {a:?} {b:?}"
            );
        }
    }
}

#[test]
fn garbage_rotates_through_every_kind() {
    let server = faulty(Faults {
        garbage_per_s: 100,
        ..Faults::default()
    });
    let mut ws = connect(&server, "/market/stream?streams=ethusdt@aggTrade");
    let mut got = Vec::new();
    while got.len() < 5 {
        got.push(next(&mut ws, WAIT).unwrap().expect("garbage"));
    }
    let text = |m: &Message| m.to_text().map(str::to_string).unwrap_or_default();
    assert!(text(&got[0]).starts_with(r#"{"stream":"ethusdt@aggTrade","data":{"#));
    assert!(serde_json::from_str::<Value>(&text(&got[0])).is_err());
    assert!(matches!(got[1], Message::Binary(_)));
    let bad_number: Value = serde_json::from_str(&text(&got[2])).unwrap();
    assert_eq!(
        (
            bad_number["data"]["s"].as_str(),
            bad_number["data"]["p"].as_str()
        ),
        (Some("ETHUSDT"), Some("1e5"))
    );
    let unknown: Value = serde_json::from_str(&text(&got[3])).unwrap();
    assert_eq!(unknown["data"]["s"], "SIMGARBAGEUSDT");
    let Message::Binary(bytes) = &got[4] else {
        panic!("{:?}", got[4])
    };
    assert!(std::str::from_utf8(bytes).is_err());
    assert!(server.stats().garbage_sent >= 5);
}

#[test]
fn every_nth_frame_is_duplicated() {
    let server = faulty(Faults {
        duplicate_every: 3,
        ..Faults::default()
    });
    let mut ws = connect(&server, "/market/ws/btcusdt@aggTrade");
    for id in 1..=6 {
        server.publisher().publish(&btc(id), btc(id).time_ms + 1);
    }
    let ids: Vec<i64> = (0..8)
        .map(|_| {
            serde_json::from_str::<Value>(&next_text(&mut ws)).unwrap()["a"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [1, 2, 3, 3, 4, 5, 6, 6]);
    let stats = server.stats();
    assert_eq!((stats.duplicates_sent, stats.frames_sent), (2, 8));
}

#[test]
fn oversized_frames_are_two_mib() {
    let server = faulty(Faults {
        oversized_every: Some(50 * MS),
        ..Faults::default()
    });
    let mut ws = connect(&server, "/market/ws");
    let Some(Message::Text(big)) = next(&mut ws, WAIT).unwrap() else {
        panic!("no frame")
    };
    assert_eq!(big.len(), 2 * 1024 * 1024);
    assert!(server.stats().oversized_sent >= 1);
}

#[test]
fn a_full_send_queue_drops_the_connection() {
    let server = start(ServerConfig {
        send_queue: 4,
        faults: Faults {
            stall_every: Some(20 * MS),
            stall_for: Duration::from_secs(10),
            ..Faults::default()
        },
        ..ServerConfig::default()
    });
    let mut ws = connect(&server, "/market/ws/btcusdt@aggTrade");
    wait_stats(&server, |s| s.stalls == 1);
    let publisher = server.publisher();
    for id in 1..=4 {
        publisher.publish(&btc(id), btc(id).time_ms + 1);
    }
    assert_eq!(publisher.backlog(), 4);
    publisher.publish(&btc(5), btc(5).time_ms + 1);
    let stats = wait_stats(&server, |s| s.connections_open == 0);
    assert_eq!(read_to_end(&mut ws), None);
    assert_eq!((stats.disconnects_slow, stats.frames_sent), (1, 0));
    assert_eq!(publisher.backlog(), 0);
}

#[test]
fn mini_tickers_cover_listed_symbols_that_traded() {
    let server = start(ServerConfig::default());
    let mut ws = connect(&server, "/market/stream?streams=!miniTicker@arr");
    let publisher = server.publisher();
    publisher.publish(&trade(0, 1, T0, 3_700_000_000_000, 100_000, false), T0);
    publisher.publish(
        &trade(0, 2, T0 + 5, 3_600_000_000_000, 200_000, true),
        T0 + 5,
    );
    publisher.publish_mini_tickers(T0 + 1000);
    let expected = r#"[{"e":"24hrMiniTicker","E":1704067201000,"s":"BTCUSDT","c":"36000.00","o":"37000.00","h":"37000.00","l":"36000.00","v":"0.003","q":"109.00000000"}]"#;
    let frame = next_text(&mut ws);
    assert_eq!(frame, combined("!miniTicker@arr", expected));
    let mut seen = Vec::new();
    mini_ticker::for_each_symbol(frame.as_bytes(), |s| seen.push(s.to_string())).unwrap();
    assert_eq!(seen, ["BTCUSDT"], "the engine's ticker reader agrees");
}

#[test]
fn rest_time_and_exchange_info() {
    let server = start(ServerConfig::default());
    let (status, time) = get(server.addr(), "/fapi/v1/time");
    assert_eq!(status, 200);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (time["serverTime"].as_i64().unwrap() - now).abs() < 5_000,
        "{time}"
    );
    let names = |info: &Value| -> Vec<String> {
        info["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["symbol"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, info) = get(server.addr(), "/fapi/v1/exchangeInfo");
    assert_eq!(
        (status, names(&info)),
        (200, vec!["BTCUSDT".to_string(), "ETHUSDT".to_string()])
    );
    let btc_info = &info["symbols"][0];
    for (key, value) in [
        ("pair", json!("BTCUSDT")),
        ("contractType", json!("PERPETUAL")),
        ("status", json!("TRADING")),
        ("baseAsset", json!("BTC")),
        ("quoteAsset", json!("USDT")),
        ("pricePrecision", json!(2)),
        ("quantityPrecision", json!(3)),
    ] {
        assert_eq!(btc_info[key], value, "{key}");
    }
    // The engine's own exchangeInfo client (ureq, keep-alive) reads it.
    let listed = exchange_info::fetch(&format!("http://{}", server.addr()), Market::Usdm, WAIT)
        .expect("engine fetch");
    assert!(listed.iter().all(|s| s.is_selected(Market::Usdm, "USDT")));
    assert_eq!(listed.len(), 2);
    server.publisher().list_symbol(2);
    let (_, info) = get(server.addr(), "/fapi/v1/exchangeInfo");
    assert_eq!(names(&info).len(), 3);
    assert_eq!(get(server.addr(), "/fapi/v2/nothing").0, 404);
    assert_eq!(server.stats().rest_requests, 5);
}

#[test]
fn rest_agg_trades_pages_like_binance() {
    let server = start(ServerConfig::default());
    for id in 1..=10 {
        server.publisher().publish(&btc(id), btc(id).time_ms + 1);
    }
    let ids = |target: &str| -> Vec<i64> {
        let (status, trades) = get(server.addr(), target);
        assert_eq!(status, 200, "{target}: {trades}");
        trades
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["a"].as_i64().unwrap())
            .collect()
    };
    let base = "/fapi/v1/aggTrades?symbol=BTCUSDT";
    assert_eq!(ids(base), (1..=10).collect::<Vec<_>>());
    assert_eq!(ids(&format!("{base}&fromId=3&limit=4")), [3, 4, 5, 6]);
    assert_eq!(ids(&format!("{base}&fromId=9&limit=4")), [9, 10]);
    assert_eq!(
        ids(&format!(
            "{base}&startTime={}&endTime={}",
            T0 + 4000,
            T0 + 6000
        )),
        [4, 5, 6]
    );
    assert_eq!(ids(&format!("{base}&limit=2")), [9, 10]);
    let (_, one) = get(server.addr(), &format!("{base}&fromId=2&limit=1"));
    assert_eq!(
        one,
        json!([{"a": 2, "p": "37000.12", "q": "0.005", "f": 20, "l": 22, "T": T0 + 2000, "m": true}])
    );
    for (query, code) in [
        ("", -1102),
        ("?symbol=XRPUSDT", -1121),
        ("?symbol=NEWUSDT", -1121),
        ("?symbol=BTCUSDT&limit=ten", -1100),
        ("?symbol=BTCUSDT&startTime=0&endTime=3600001", -1127),
    ] {
        let (status, error) = get(server.addr(), &format!("/fapi/v1/aggTrades{query}"));
        assert_eq!(
            (status, error["code"].as_i64()),
            (400, Some(code)),
            "{query}: {error}"
        );
    }
}

#[test]
fn rest_klines_are_exact() {
    let config = ServerConfig {
        kline_intervals: Interval::parse_list("1m,1h").unwrap(),
        ..ServerConfig::default()
    };
    let server = start(config);
    let publisher = server.publisher();
    // Minute 0: 3 trades; minute 1: one trade, which closes minute 0.
    let trades = [
        trade(0, 1, T0 + 1_000, 3_700_000_000_000, 100_000, false),
        trade(0, 2, T0 + 20_000, 3_710_000_000_000, 200_000, true),
        trade(0, 3, T0 + 59_999, 3_690_000_000_000, 300_000, false),
        trade(0, 4, T0 + 60_000, 3_705_000_000_000, 1_000_000, false),
    ];
    for t in &trades {
        publisher.publish(t, t.time_ms);
    }
    let (status, klines) = get(server.addr(), "/fapi/v1/klines?symbol=BTCUSDT&interval=1m");
    assert_eq!(status, 200, "{klines}");
    // Quote volumes carry price + quantity digits (2 + 3), as Binance USD-M writes them.
    // Volume 0.006; quote 37000*0.001 + 37100*0.002 + 36900*0.003 = 37 + 74.2 + 110.7 = 221.9;
    // count 3 * 3 raw trades; taker buys are trades 1 and 3: 0.004 and 147.7.
    let minute0 = json!([
        T0,
        "37000.00",
        "37100.00",
        "36900.00",
        "36900.00",
        "0.006",
        T0 + 59_999,
        "221.90000",
        9,
        "0.004",
        "147.70000",
        "0"
    ]);
    let minute1 = json!([
        T0 + 60_000,
        "37050.00",
        "37050.00",
        "37050.00",
        "37050.00",
        "0.010",
        T0 + 119_999,
        "370.50000",
        3,
        "0.010",
        "370.50000",
        "0"
    ]);
    assert_eq!(klines, json!([minute0, minute1]));
    let page = |query: &str| {
        get(
            server.addr(),
            &format!("/fapi/v1/klines?symbol=BTCUSDT&{query}"),
        )
    };
    assert_eq!(page("interval=1m&limit=1").1, json!([minute1]));
    assert_eq!(
        page(&format!("interval=1m&startTime={T0}&limit=1")).1,
        json!([minute0])
    );
    assert_eq!(
        page(&format!("interval=1m&endTime={}", T0 + 59_999)).1,
        json!([minute0])
    );
    let (_, hour) = page("interval=1h");
    assert_eq!(hour[0][8], 12);
    for (query, code) in [
        ("interval=5m", -1120),
        ("interval=7x", -1120),
        ("", -1102),
        ("interval=1m&limit=-1", -1100),
    ] {
        let (status, error) = page(query);
        assert_eq!(
            (status, error["code"].as_i64()),
            (400, Some(code)),
            "{query}: {error}"
        );
    }
}

#[test]
fn stop_closes_every_connection_quickly() {
    let server = start(ServerConfig::default());
    let mut clients: Vec<Client> = (0..3).map(|_| connect(&server, "/market/ws")).collect();
    // A REST client that never finishes its request must not hold the stop up either.
    let mut idle = TcpStream::connect(server.addr()).expect("connect");
    idle.write_all(b"GET /fapi/v1/ti").expect("partial request");
    let stopping = Instant::now();
    server.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(1),
        "{:?}",
        stopping.elapsed()
    );
    for ws in &mut clients {
        assert_eq!(read_to_end(ws), Some(1001));
    }
}

#[test]
fn a_counted_market_waits_for_a_slow_reader_and_stamps_what_it_sent() {
    // More than the socket buffers of a loopback connection hold.
    const SENT: u64 = 60_000;
    let market = SyntheticConfig::new(3, 200_000, 5, klagg::pipeline::now_ms());
    let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
    let server = ServerConfig {
        send_queue: 64,
        ..ServerConfig::default()
    };
    let mut sim = Simulation::serve(server, specs.clone()).expect("serve");
    let stream = format!("{}@aggTrade", specs[0].name.to_lowercase());
    let (mut ws, _) =
        tungstenite::connect(format!("ws://{}/market/ws/{stream}", sim.addr())).expect("connect");
    if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
        stream.set_read_timeout(Some(10 * MS)).expect("timeout");
    }
    assert!(sim.wait_for_clients(1, WAIT));
    sim.stamp_writes(WriteStamps::new(Sampling::EVERY_TRADE, 100_000));
    sim.stop_after_sent(SENT);
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, false)
        .expect("market");
    // Not reading for a while fills the socket buffers, then the 64-frame queue.
    thread::sleep(Duration::from_millis(1_000));
    let mut received = Vec::new();
    let mut times = Vec::new();
    while let Ok(Some(Message::Text(text))) = next(&mut ws, Duration::from_secs(2)) {
        let event: Value = serde_json::from_str(&text).expect("json");
        received.push(event["l"].as_i64().expect("l"));
        times.push(event["T"].as_i64().expect("T"));
    }
    assert!(sim.finished(), "the market stops at the count");
    let outcome = sim.stop_market();
    assert_eq!(sim.stats().disconnects_slow, 0, "the reader was waited for");
    assert_eq!(received.len(), SENT as usize);
    // At 200,000 trades/s the 60,000 trades span 0.3 s of market time; the market waited a
    // second for the reader, and a trade carries the time it was sent, not a time long past.
    assert!(times.is_sorted(), "trade times never go back");
    let span = times[times.len() - 1] - times[0];
    assert!(
        span >= 900,
        "trades sent after the wait carry its time: span {span} ms"
    );
    let file = outcome
        .write_stamps
        .expect("stamps")
        .into_file(vec![specs[0].name.clone()]);
    assert_eq!(file.trades, SENT);
    let stamped: Vec<i64> = file.stamps.iter().map(|s| s.trade_id).collect();
    assert_eq!(stamped, received, "one stamp per trade sent, in order");
    assert!(file.stamps.iter().all(|s| s.symbol == 0));
}
