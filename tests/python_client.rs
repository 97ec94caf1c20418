//! Off-the-shelf Binance client code against the gateway: `tests/python/binance_client.py`
//! uses Python's `websocket-client` from PyPI exactly as code written for Binance's streams does
//! (a raw stream, a combined stream, `SUBSCRIBE`, `LIST_SUBSCRIPTIONS`), on loopback, with the
//! simulator feeding the real engine. Every event it received must be the engine's kline, field
//! for field and decimal string for decimal string.
//!
//! Python 3 is required; `websocket-client` comes from the test virtualenv under `target/` that
//! `support/python_env.rs` makes from the pinned `tests/python/requirements.txt`.

#[path = "support/bounded_run.rs"]
mod bounded_run;
#[path = "support/gateway_run.rs"]
mod gateway_run;
#[path = "support/python_env.rs"]
mod python_env;

use std::process::Command;
use std::time::Duration;

use bounded_run::{Finished, run_bounded};

use gateway_run::{Run, Upto};
use klagg::gateway::GatewayConfig;
use serde_json::Value;

/// How long the Python client reads, and how long it may take in all.
const CLIENT_SECONDS: f64 = 4.0;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(40);

/// The client script, next to this test.
fn script() -> String {
    format!(
        "{}/tests/python/binance_client.py",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Runs the client with `args`, bounded by [`CLIENT_TIMEOUT`]: its exit status, stdout, stderr.
fn run_client(args: &[String]) -> Finished {
    let mut command = Command::new(python_env::python());
    command.arg(script()).args(args);
    run_bounded(&mut command, CLIENT_TIMEOUT, "the Python client").unwrap_or_else(|stderr| {
        panic!("the Python client did not finish within {CLIENT_TIMEOUT:?}:\n{stderr}")
    })
}

#[test]
fn python_websocket_client_receives_the_engines_klines() {
    let run = Run::start(4, 2_000, GatewayConfig::default());
    std::thread::sleep(Duration::from_millis(300));
    let raw = run.stream(0, "1m");
    let combined = [run.stream(1, "1m"), run.stream(2, "5m")];
    // 1s streams close klines while the client reads, to compare with the engine's own.
    let subscribe = [run.stream(0, "1s"), run.stream(3, "1s")];
    let args = vec![
        "--port".to_owned(),
        run.addr().port().to_string(),
        "--raw".to_owned(),
        raw.clone(),
        "--combined".to_owned(),
        combined.join("/"),
        "--subscribe".to_owned(),
        subscribe.join(","),
        "--seconds".to_owned(),
        CLIENT_SECONDS.to_string(),
    ];
    let Finished {
        status,
        stdout,
        stderr,
    } = run_client(&args);
    assert!(
        status.success(),
        "the Python client failed ({status}):\n{stderr}"
    );

    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let replies: Vec<&Value> = lines.iter().filter_map(|l| l.get("reply")).collect();
    let listed: Vec<&String> = combined.iter().chain(&subscribe).collect();
    assert_eq!(
        replies,
        [
            &serde_json::json!({"result": null, "id": 1}),
            &serde_json::json!({"result": listed, "id": 2}),
        ]
    );

    let trades = run.trades();
    let mut closed = 0;
    let mut per_stream = std::collections::HashMap::<String, usize>::new();
    for line in &lines {
        let Some(event) = line.get("event") else {
            continue;
        };
        let stream = match line["conn"].as_str() {
            Some("raw") => raw.clone(),
            _ => line["stream"].as_str().unwrap().to_owned(),
        };
        *per_stream.entry(stream).or_default() += 1;
        let k = &event["k"];
        let (symbol, interval) =
            run.slot_of(event["s"].as_str().unwrap(), k["i"].as_str().unwrap());
        let open_time = k["t"].as_i64().unwrap();
        let is_closed = k["x"].as_bool().unwrap();
        let kline = run
            .rebuilt(
                &trades,
                symbol,
                interval,
                open_time,
                Upto::LastTrade(k["L"].as_i64().unwrap()),
            )
            .expect("a prefix of the simulator's trades");
        let record = klagg::aggregator::KlineRecord {
            symbol: symbol as u32,
            interval,
            correction: false,
            kline,
        };
        let event_ms = event["E"].as_i64().unwrap();
        assert_eq!(
            event,
            &run.expected_event(&record, event_ms, is_closed),
            "an event the Python client received is not the kline of the simulator's trades"
        );
        if is_closed {
            closed += 1;
            let engine = run.wait_engine_closed(symbol, interval, open_time);
            assert_eq!(
                event,
                &run.expected_event(&engine, event_ms, true),
                "a closed kline the Python client received differs from the engine's"
            );
        }
    }
    for stream in std::iter::once(&raw).chain(&combined).chain(&subscribe) {
        assert!(
            per_stream.get(stream).is_some_and(|n| *n > 0),
            "no event on {stream}: {per_stream:?}"
        );
    }
    assert!(closed >= 4, "only {closed} closed klines reached Python");
}
