//! What clients call before and around klines, served by the gateway on either market: the
//! market's `exchangeInfo`, `time` and `ping`, Binance's error objects, every WebSocket path
//! client libraries build, request ids as integers, strings and null, and the continuous-kline
//! alias (USD-M only). The libraries themselves are driven in `python_libraries.rs`.

#[path = "support/gateway_run.rs"]
mod gateway_run;

use std::time::Duration;

use gateway_run::{Run, http_get, next_reply, next_text, send};
use klagg::config::Market;
use klagg::gateway::GatewayConfig;
use klagg::pipeline::now_ms;
use serde_json::{Value, json};

fn config() -> GatewayConfig {
    GatewayConfig {
        push_interval: Duration::from_millis(20),
        ..GatewayConfig::default()
    }
}

fn json_get(run: &Run, target: &str) -> (u16, Value) {
    let (status, body) = http_get(run.addr(), target);
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{target}: {e}: {body}"));
    (status, value)
}

#[test]
fn usdm_serves_exchange_info_time_ping_and_says_what_it_serves() {
    let run = Run::start_market(Market::Usdm, 3, 300, config());
    let (status, info) = json_get(&run, "/fapi/v1/exchangeInfo");
    assert_eq!(status, 200);
    let symbols = info["symbols"].as_array().unwrap();
    assert_eq!(symbols.len(), 3, "every followed symbol");
    let btc = &symbols[0];
    assert_eq!(btc["symbol"], run.names[0].as_str());
    assert_eq!(
        (&btc["status"], &btc["contractType"]),
        (&json!("TRADING"), &json!("PERPETUAL"))
    );
    assert_eq!(
        (&btc["baseAsset"], &btc["quoteAsset"], &btc["marginAsset"]),
        (&json!("BTC"), &json!("USDT"), &json!("USDT"))
    );
    assert_eq!(btc["pricePrecision"], run.decimals[0].price);
    assert_eq!(btc["filters"][0]["filterType"], "PRICE_FILTER");
    let before = now_ms();
    let (status, time) = json_get(&run, "/fapi/v1/time");
    let server = time["serverTime"].as_i64().unwrap();
    assert!(
        status == 200 && (before..=now_ms()).contains(&server),
        "{time}"
    );
    assert_eq!(json_get(&run, "/fapi/v1/ping"), (200, json!({})));
    let (status, error) = json_get(&run, "/api/v3/klines?symbol=BTCUSDT&interval=1m");
    assert_eq!((status, &error["code"]), (404, &json!(-1)));
    let msg = error["msg"].as_str().unwrap();
    assert!(
        msg.contains("/api/v3/klines") && msg.contains("GET /fapi/v1/klines"),
        "{msg}"
    );
    let (status, error) = json_get(&run, "/fapi/v1/klines?symbol=NOSUCH&interval=1m");
    assert_eq!(
        (status, error),
        (400, json!({"code": -1121, "msg": "Invalid symbol."}))
    );
}

#[test]
fn spot_serves_api_v3_and_spot_decimals() {
    let run = Run::start_market(Market::Spot, 3, 300, config());
    std::thread::sleep(Duration::from_millis(1_500));
    let (status, info) = json_get(&run, "/api/v3/exchangeInfo");
    assert_eq!(status, 200);
    let btc = &info["symbols"][0];
    assert!(btc.get("contractType").is_none(), "{btc}");
    assert_eq!(btc["permissionSets"], json!([["SPOT"]]));
    assert_eq!(json_get(&run, "/api/v3/ping"), (200, json!({})));
    assert!(json_get(&run, "/api/v3/time").1["serverTime"].is_i64());
    let name = &run.names[0];
    let (status, rows) = json_get(
        &run,
        &format!("/api/v3/klines?symbol={name}&interval=1s&limit=1000"),
    );
    assert_eq!(status, 200, "{rows}");
    let row = &rows[0];
    for field in [1, 2, 3, 4, 5, 7, 9, 10] {
        let text = row[field].as_str().unwrap();
        assert_eq!(
            text.split_once('.').map(|(_, f)| f.len()),
            Some(8),
            "spot writes 8 decimals: {row}"
        );
    }
    let (status, error) = json_get(
        &run,
        &format!("/api/v3/klines?symbol={name}&interval=1s&limit=1001"),
    );
    assert_eq!((status, &error["code"]), (400, &json!(-1130)));
    assert!(
        error["msg"].as_str().unwrap().contains("1 to 1000"),
        "{error}"
    );
    assert_eq!(http_get(run.addr(), "/fapi/v1/ping").0, 404);

    // Spot's stream paths; continuous klines are USD-M's.
    let mut ws = run.connect(&format!("/ws/{}", run.stream(0, "1s")));
    let event = next_text(&mut ws, Duration::from_secs(2)).expect("an event on /ws");
    assert_eq!(event["e"], "kline");
    assert!(
        event["k"]["o"]
            .as_str()
            .unwrap()
            .ends_with(|c: char| c.is_ascii_digit())
    );
    let continuous = format!(
        "{}_perpetual@continuousKline_1s",
        run.names[0].to_lowercase()
    );
    send(
        &mut ws,
        &format!(r#"{{"method":"SUBSCRIBE","params":["{continuous}"],"id":"a1"}}"#),
    );
    let reply = next_reply(&mut ws);
    assert_eq!(
        (&reply["error"]["code"], &reply["id"]),
        (&json!(2), &json!("a1"))
    );
    assert!(
        reply["error"]["msg"].as_str().unwrap().contains("USD-M"),
        "{reply}"
    );
}

#[test]
fn every_path_clients_build_is_a_stream_and_ids_come_back_as_sent() {
    let run = Run::start_market(Market::Usdm, 3, 600, config());
    std::thread::sleep(Duration::from_millis(300));
    let stream = run.stream(0, "1s");
    // ccxt's `/market/ws/<connection index>`, the SDK's three categories, the legacy forms.
    for path in [
        "/market/ws/0",
        "/public/stream",
        "/private/stream",
        "/ws",
        "/stream",
        "/market/ws",
    ] {
        let mut ws = run.connect(path);
        for (id, echoed) in [
            (
                "\"e7f1c1b4-5c1d-4c56-9a0e-3b8f2f6d1a2b\"",
                json!("e7f1c1b4-5c1d-4c56-9a0e-3b8f2f6d1a2b"),
            ),
            ("9223372036854775807", json!(9_223_372_036_854_775_807_i64)),
            ("-5", json!(-5)),
            ("null", Value::Null),
        ] {
            send(
                &mut ws,
                &format!(r#"{{"method":"SUBSCRIBE","params":["{stream}"],"id":{id}}}"#),
            );
            assert_eq!(
                next_reply(&mut ws),
                json!({"result": null, "id": echoed}),
                "{path} {id}"
            );
        }
        let event = next_text(&mut ws, Duration::from_secs(2)).expect("an event");
        let event = if path.ends_with("stream") {
            assert_eq!(event["stream"], stream.as_str(), "{path}");
            event["data"].clone()
        } else {
            event
        };
        assert_eq!(event["s"], run.names[0].as_str(), "{path}");
    }
}

#[test]
fn a_continuous_kline_stream_is_the_perpetuals_klines() {
    let run = Run::start_market(Market::Usdm, 2, 1_000, config());
    std::thread::sleep(Duration::from_millis(300));
    let pair = run.names[0].to_lowercase();
    let continuous = format!("{pair}_perpetual@continuousKline_1s");
    let mut ws = run.connect(&format!(
        "/market/stream?streams={continuous}/{pair}@kline_1s"
    ));
    let (mut klines, mut closed) = (0, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        let Some(message) = next_text(&mut ws, Duration::from_millis(200)) else {
            continue;
        };
        let data = &message["data"];
        if message["stream"] == continuous.as_str() {
            assert_eq!(data["e"], "continuous_kline");
            assert_eq!(
                (&data["ps"], &data["ct"]),
                (&json!(run.names[0]), &json!("PERPETUAL"))
            );
            assert!(data["k"].get("s").is_none());
            if data["k"]["x"] == true {
                let open_time = data["k"]["t"].as_i64().unwrap();
                let engine = run.wait_engine_closed(0, 0, open_time);
                let event_ms = data["E"].as_i64().unwrap();
                assert_eq!(
                    data,
                    &run.expected_continuous_event(&engine, event_ms, true)
                );
                closed += 1;
            }
        } else {
            assert_eq!(data["e"], "kline");
            klines += 1;
        }
    }
    assert!(
        closed >= 1 && klines >= 1,
        "closed {closed}, klines {klines}"
    );
    send(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":4}"#);
    assert_eq!(
        next_reply(&mut ws),
        json!({"result": [continuous, format!("{pair}@kline_1s")], "id": 4})
    );
}
