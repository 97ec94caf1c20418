//! The gateway on loopback, fed by the real engine reading the simulator: WebSocket clients
//! (raw, combined, `SUBSCRIBE`) get kline events equal to what another consumer of the same
//! engine pulls, bad requests get errors, a slow client is dropped while a fast one keeps
//! receiving, `/metrics` counts it, REST serves the klines seen, and a symbol the engine starts
//! following after the gateway started is served like the others.

#[path = "support/gateway_run.rs"]
mod gateway_run;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway_run::{Run, http_get, next_reply, next_text, send};
use klagg::egress::write_rest_kline;
use klagg::gateway::GatewayConfig;
use klagg::interval::Interval;
use klagg::pipeline::now_ms;
use serde_json::Value;

fn fast_config() -> GatewayConfig {
    GatewayConfig {
        push_interval: Duration::from_millis(20),
        ..GatewayConfig::default()
    }
}

/// The HTTP status a refused WebSocket handshake on `path` gets.
fn refused(run: &Run, path: &str) -> u16 {
    match tungstenite::connect(format!("ws://{}{path}", run.addr())) {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        other => panic!(
            "{path}: expected an HTTP refusal, got {:?}",
            other.map(|_| ())
        ),
    }
}

/// The samples of a Prometheus text body, by name with labels (`name{a="b"}`).
fn samples(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

#[test]
fn raw_stream_delivers_snapshot_updates_and_closed_klines_equal_to_the_engine() {
    raw_stream_matches_the_engine(fast_config());
}

/// `push_interval = 0`: the shards hold each pull until there is news and wake the loop.
#[test]
fn pushing_as_fast_as_klines_change_delivers_the_same() {
    raw_stream_matches_the_engine(GatewayConfig {
        push_interval: Duration::ZERO,
        ..GatewayConfig::default()
    });
}

fn raw_stream_matches_the_engine(config: GatewayConfig) {
    let run = Run::start(4, 2_000, config);
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
        let expected = run.expected_event(&record, event["E"].as_i64().unwrap(), true);
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
    let stats = run.gateway().stats();
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
    assert_eq!(refused(&run, "/wss/btcusdt@kline_1m"), 404);
    assert_eq!(refused(&run, "/market/ws/nosuchusdt@kline_1m"), 400);
    assert_eq!(
        refused(&run, "/market/stream?streams=btcusdt@aggTrade"),
        400
    );

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
    let gateway = run.gateway();
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
    let (status, metrics) = http_get(run.addr(), "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.starts_with("klagg_up 1\n"), "{metrics}");
    assert!(metrics.contains("\nklagg_gateway_clients_accepted_total "));
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
    assert_eq!(run.gateway().stats().clients_rejected, 1);
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

#[test]
fn metrics_count_the_clients_the_drops_and_the_events() {
    let config = GatewayConfig {
        push_interval: Duration::from_millis(5),
        max_write_buffer: 64 * 1024,
        metrics: Some(Arc::new(|| "klagg_up 1\n".to_owned())),
        ..GatewayConfig::default()
    };
    let run = Run::start(40, 20_000, config);
    let all: Vec<String> = (0..40)
        .flat_map(|s| [run.stream(s, "1s"), run.stream(s, "1m")])
        .collect();
    let path = format!("/market/stream?streams={}", all.join("/"));
    let slow = run.connect(&path);
    let mut fast = run.connect(&path);
    let deadline = Instant::now() + Duration::from_secs(8);
    while run.gateway().stats().clients_dropped_slow == 0 {
        assert!(
            Instant::now() < deadline,
            "the slow client was never dropped"
        );
        next_text(&mut fast, Duration::from_millis(10));
    }
    let before = run.gateway().stats();
    let (status, body) = http_get(run.addr(), "/metrics");
    let after = run.gateway().stats();
    assert_eq!(status, 200);
    assert!(body.starts_with("klagg_up 1\n"), "the engine's part first");
    let got = samples(&body);
    let value = |name: &str| {
        *got.get(name)
            .unwrap_or_else(|| panic!("no {name} in\n{body}"))
    };
    // Exact: two WebSocket clients and this request were accepted; the slow one was dropped;
    // the fast one is connected with its 80 streams, and this request is the HTTP client.
    assert_eq!(value("klagg_gateway_clients_accepted_total"), 3);
    assert_eq!(value("klagg_gateway_disconnects_total{cause=\"slow\"}"), 1);
    assert_eq!(value("klagg_gateway_disconnects_total{cause=\"error\"}"), 0);
    assert_eq!(value("klagg_gateway_clients{protocol=\"websocket\"}"), 1);
    assert_eq!(value("klagg_gateway_clients{protocol=\"http\"}"), 1);
    assert_eq!(value("klagg_gateway_subscriptions"), 80);
    assert_eq!(value("klagg_gateway_clients_rejected_total"), 0);
    assert_eq!(value("klagg_gateway_requests_total{protocol=\"http\"}"), 3);
    assert_eq!(
        value("klagg_gateway_requests_rejected_total{protocol=\"http\"}"),
        0
    );
    // Moving: what was rendered lies between the counters read just before and just after.
    for (name, low, high) in [
        (
            "klagg_gateway_events_sent_total",
            before.events_sent,
            after.events_sent,
        ),
        (
            "klagg_gateway_events_encoded_total",
            before.events_encoded,
            after.events_encoded,
        ),
        (
            "klagg_gateway_bytes_sent_total",
            before.bytes_sent,
            after.bytes_sent,
        ),
        ("klagg_gateway_pulls_total", before.pulls, after.pulls),
    ] {
        let v = value(name);
        assert!(
            (low..=high).contains(&v),
            "{name} {v} not in {low}..={high}"
        );
    }
    assert!(before.events_sent > 80, "events flowed: {before:?}");
    drop(slow);
}

#[test]
fn a_symbol_listed_after_the_gateway_started_is_served() {
    let run = Run::start_holding_back(4, 2_000, fast_config(), 1);
    let new = 3;
    let name = run.names[new].clone();
    let stream = run.stream(new, "1s");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(refused(&run, &format!("/market/ws/{stream}")), 400);
    let rest = format!("/fapi/v1/klines?symbol={name}&interval=1s&limit=1000");
    let (status, body) = http_get(run.addr(), &rest);
    assert_eq!(status, 400, "{body}");

    run.list(new);
    // Subscribed at once, by SUBSCRIBE on a connection opened before and by handshake after.
    let mut old = run.connect(&format!("/market/ws/{}", run.stream(0, "1s")));
    send(
        &mut old,
        &format!(r#"{{"method":"SUBSCRIBE","params":["{stream}"],"id":1}}"#),
    );
    assert_eq!(
        next_reply(&mut old),
        serde_json::json!({"result": null, "id": 1})
    );
    let mut ws = run.connect(&format!("/market/ws/{stream}"));
    let mut closed = Vec::new();
    let end = Instant::now() + Duration::from_millis(3_500);
    while Instant::now() < end {
        let Some(event) = next_text(&mut ws, Duration::from_millis(200)) else {
            continue;
        };
        assert_eq!(event["s"], name.as_str());
        if event["k"]["x"] == true {
            closed.push(event);
        }
    }
    assert!(closed.len() >= 2, "only {} closed klines", closed.len());
    for event in &closed {
        let record = run.wait_engine_closed(new, 0, event["k"]["t"].as_i64().unwrap());
        let expected = run.expected_event(&record, event["E"].as_i64().unwrap(), true);
        assert_eq!(event, &expected, "closed kline differs from the engine's");
    }
    let mut on_old = 0;
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        if let Some(event) = next_text(&mut old, Duration::from_millis(100)) {
            on_old += usize::from(event["s"] == name.as_str());
        }
    }
    assert!(
        on_old > 0,
        "the earlier connection got the new symbol's events"
    );

    let (status, body) = http_get(run.addr(), &rest);
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert!(rows.len() >= 2, "{body}");
    for row in &rows[..rows.len() - 1] {
        let record = run.wait_engine_closed(new, 0, row[0].as_i64().unwrap());
        let mut expected = Vec::new();
        write_rest_kline(&mut expected, &record.kline, run.decimals[new]);
        assert_eq!(row, &serde_json::from_slice::<Value>(&expected).unwrap());
    }
}
