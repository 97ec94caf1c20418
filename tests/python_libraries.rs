//! The Binance client libraries people use, unchanged, against the gateway: each is pointed at
//! a gateway fed by the real engine reading the simulator by the base URLs it documents as
//! settings, nothing else, and every REST kline and live kline event it hands its user must be
//! the engine's own kline, field for field (for ccxt, which turns klines into float candles,
//! candle for candle), on USD-M's API and, where the library has it, spot's.
//!
//! * ccxt (`fetch_ohlcv`) and ccxt.pro (`watch_ohlcv`), which first load the gateway's
//!   `exchangeInfo`: `tests/python/ccxt_client.py`;
//! * python-binance's REST klines, its futures multiplex socket and its futures kline socket
//!   (which asks for `<pair>_perpetual@continuousKline_<interval>`), spot's kline and multiplex
//!   sockets: `python_binance_client.py`;
//! * binance-futures-connector (USD-M only), raw and combined: `futures_connector_client.py`;
//! * Binance's official SDKs, `binance-sdk-derivatives-trading-usds-futures` (which opens
//!   `/market`, `/public` and `/private` streams and sends string request ids) and
//!   `binance-sdk-spot`: `binance_sdk_client.py`.
//!
//! Each library runs from a pinned virtualenv the tests make under `target/`
//! (`support/python_env.rs`; without PyPI, see there). A script runs for a few seconds, bounded
//! by a timeout.

#[path = "support/bounded_run.rs"]
mod bounded_run;
#[path = "support/gateway_run.rs"]
mod gateway_run;
#[path = "support/python_env.rs"]
mod python_env;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bounded_run::run_bounded;
use gateway_run::{Run, Upto};
use klagg::aggregator::KlineRecord;
use klagg::config::Market;
use klagg::gateway::GatewayConfig;
use python_env::PythonEnv;
use serde_json::Value;

/// How long a script reads streams, and how long it may take in all (venv made beforehand).
const STREAM_SECONDS: f64 = 3.0;
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// The symbols every script follows: the simulator's first two.
const SYMBOLS: [usize; 2] = [0, 1];
const INTERVAL: &str = "1s";

/// What one library handed its user, line by line (see `tests/python/client_io.py`).
struct Seen {
    lines: Vec<Value>,
}

/// Starts a run on `market`, lets it trade a moment, and runs `script` from `env` against it.
fn run_library(env: PythonEnv, script: &str, market: Market) -> (Run, Seen) {
    // The venv first: making it may take a minute, which the run need not wait through.
    let python = python_env::python_in(env);
    let run = Run::start_market(
        market,
        4,
        2_000,
        GatewayConfig {
            push_interval: Duration::from_millis(50),
            ..GatewayConfig::default()
        },
    );
    std::thread::sleep(Duration::from_millis(1_500));
    let symbols: Vec<&str> = SYMBOLS.iter().map(|&s| run.names[s].as_str()).collect();
    let args = [
        "--port".to_owned(),
        run.addr().port().to_string(),
        "--market".to_owned(),
        market.name().to_owned(),
        "--symbols".to_owned(),
        symbols.join(","),
        "--interval".to_owned(),
        INTERVAL.to_owned(),
        "--seconds".to_owned(),
        STREAM_SECONDS.to_string(),
    ];
    let stdout = run_script(&python, script, &args);
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{script}: {e}: {l}")))
        .collect();
    (run, Seen { lines })
}

/// Runs a script, bounded by [`SCRIPT_TIMEOUT`]; its stdout, or a panic with its stderr.
fn run_script(python: &PathBuf, script: &str, args: &[String]) -> String {
    let path = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(python);
    command.arg(&path).args(args);
    let run = run_bounded(&mut command, SCRIPT_TIMEOUT, script).unwrap_or_else(|stderr| {
        panic!("{script} did not finish within {SCRIPT_TIMEOUT:?}:\n{stderr}")
    });
    assert!(
        run.status.success(),
        "{script} failed ({}):\n{}",
        run.status,
        run.stderr
    );
    run.stdout
}

/// What the checks found, to assert each library saw enough.
#[derive(Debug, Default)]
struct Checked {
    rest_rows: HashMap<String, usize>,
    events: HashMap<String, usize>,
    closed_events: usize,
    continuous_events: usize,
}

impl Seen {
    /// Checks every line against the engine and the simulator's trades.
    fn check(&self, run: &Run) -> Checked {
        let trades = run.trades();
        let mut checked = Checked::default();
        // The last REST row of each symbol may be its open kline; the others closed.
        let mut last_row: HashMap<&str, usize> = HashMap::new();
        for (i, line) in self.lines.iter().enumerate() {
            if line["source"] == "rest" {
                last_row.insert(line["symbol"].as_str().unwrap(), i);
            }
        }
        for (i, line) in self.lines.iter().enumerate() {
            if let Some(event) = line.get("event") {
                let name = event
                    .get("s")
                    .or_else(|| event.get("ps"))
                    .and_then(Value::as_str)
                    .unwrap();
                *checked.events.entry(name.to_owned()).or_default() += 1;
                let continuous = event["e"] == "continuous_kline";
                checked.continuous_events += usize::from(continuous);
                checked.closed_events += usize::from(self.check_event(run, &trades, event));
                continue;
            }
            let symbol = line["symbol"].as_str().unwrap();
            let closed = line["source"] == "rest" && last_row[symbol] != i;
            self.check_row(run, &trades, line, closed);
            if line["source"] == "rest" {
                *checked.rest_rows.entry(symbol.to_owned()).or_default() += 1;
            } else {
                *checked.events.entry(symbol.to_owned()).or_default() += 1;
            }
        }
        checked
    }

    /// A stream event equals the kline of the simulator's trades through its `L`, and if
    /// closed the engine's closed kline; returns whether it was closed.
    fn check_event(&self, run: &Run, trades: &[klagg::sim::SimTrade], event: &Value) -> bool {
        let continuous = event["e"] == "continuous_kline";
        let k = &event["k"];
        let name = if continuous {
            &event["ps"]
        } else {
            &event["s"]
        };
        let (symbol, interval) = run.slot_of(name.as_str().unwrap(), k["i"].as_str().unwrap());
        let open_time = k["t"].as_i64().unwrap();
        let upto = Upto::LastTrade(k["L"].as_i64().unwrap());
        let kline = run
            .rebuilt(trades, symbol, interval, open_time, upto)
            .unwrap_or_else(|| panic!("no prefix of the simulator's trades makes {event}"));
        let closed = k["x"].as_bool().unwrap();
        let event_ms = event["E"].as_i64().unwrap();
        let expected = |record: &KlineRecord| {
            if continuous {
                run.expected_continuous_event(record, event_ms, closed)
            } else {
                run.expected_event(record, event_ms, closed)
            }
        };
        let record = KlineRecord {
            symbol: symbol as u32,
            interval,
            correction: false,
            kline,
        };
        assert_eq!(
            event,
            &expected(&record),
            "an event is not the kline of the simulator's trades"
        );
        if closed {
            let engine = run.wait_engine_closed(symbol, interval, open_time);
            assert_eq!(
                event,
                &expected(&engine),
                "a closed event is not the engine's"
            );
        }
        closed
    }

    /// A REST row (Binance's 12 fields) or a ccxt candle (6) equals the kline of the
    /// simulator's trades it names (by count, or by volume for a candle), and if `closed` the
    /// engine's closed kline.
    fn check_row(&self, run: &Run, trades: &[klagg::sim::SimTrade], line: &Value, closed: bool) {
        let row = &line["row"];
        let (symbol, interval) = run.slot_of(
            line["symbol"].as_str().unwrap(),
            line["interval"].as_str().unwrap(),
        );
        let open_time = row[0].as_i64().unwrap();
        let candle = row.as_array().unwrap().len() == 6;
        let upto = if candle {
            Upto::Volume(row[5].as_f64().unwrap())
        } else {
            Upto::Count(row[8].as_i64().unwrap())
        };
        let kline = run
            .rebuilt(trades, symbol, interval, open_time, upto)
            .unwrap_or_else(|| panic!("no prefix of the simulator's trades makes {line}"));
        let expected = |kline| {
            if candle {
                run.expected_candle(symbol, kline)
            } else {
                run.expected_rest_row(symbol, kline)
            }
        };
        assert_eq!(
            row,
            &expected(&kline),
            "a kline is not that of the simulator's trades"
        );
        if closed {
            let engine = run.wait_engine_closed(symbol, interval, open_time);
            assert_eq!(
                row,
                &expected(&engine.kline),
                "a closed kline is not the engine's"
            );
        }
    }
}

impl Checked {
    /// Both symbols have REST klines and live klines, some of them closed.
    fn assert_enough(&self, run: &Run, library: &str) {
        for &symbol in &SYMBOLS {
            let name = &run.names[symbol];
            assert!(
                self.rest_rows.get(name).is_some_and(|n| *n >= 3),
                "{library}: REST klines of {name}: {self:?}"
            );
            assert!(
                self.events.get(name).is_some_and(|n| *n >= 3),
                "{library}: live klines of {name}: {self:?}"
            );
        }
        assert!(
            self.closed_events >= 2 || self.events.values().sum::<usize>() >= 20,
            "{library}: {self:?}"
        );
    }
}

#[test]
fn ccxt_usdm_fetch_and_watch_ohlcv_get_the_engines_klines() {
    let (run, seen) = run_library(python_env::CLIENTS, "ccxt_client.py", Market::Usdm);
    seen.check(&run).assert_enough(&run, "ccxt binanceusdm");
}

#[test]
fn ccxt_spot_fetch_and_watch_ohlcv_get_the_engines_klines() {
    let (run, seen) = run_library(python_env::CLIENTS, "ccxt_client.py", Market::Spot);
    seen.check(&run).assert_enough(&run, "ccxt binance (spot)");
}

#[test]
fn python_binance_usdm_klines_multiplex_and_continuous_sockets_get_the_engines_klines() {
    let (run, seen) = run_library(
        python_env::PYTHON_BINANCE,
        "python_binance_client.py",
        Market::Usdm,
    );
    let checked = seen.check(&run);
    checked.assert_enough(&run, "python-binance (USD-M)");
    assert!(checked.continuous_events >= 3, "{checked:?}");
}

#[test]
fn python_binance_spot_klines_and_kline_sockets_get_the_engines_klines() {
    let (run, seen) = run_library(
        python_env::PYTHON_BINANCE,
        "python_binance_client.py",
        Market::Spot,
    );
    seen.check(&run)
        .assert_enough(&run, "python-binance (spot)");
}

#[test]
fn binance_futures_connector_gets_the_engines_klines() {
    let (run, seen) = run_library(
        python_env::FUTURES_CONNECTOR,
        "futures_connector_client.py",
        Market::Usdm,
    );
    let checked = seen.check(&run);
    checked.assert_enough(&run, "binance-futures-connector");
    assert!(checked.continuous_events >= 3, "{checked:?}");
}

#[test]
fn binance_sdk_usds_futures_gets_the_engines_klines() {
    let (run, seen) = run_library(python_env::CLIENTS, "binance_sdk_client.py", Market::Usdm);
    let checked = seen.check(&run);
    checked.assert_enough(&run, "binance-sdk-derivatives-trading-usds-futures");
    assert!(checked.continuous_events >= 3, "{checked:?}");
}

#[test]
fn binance_sdk_spot_gets_the_engines_klines() {
    let (run, seen) = run_library(python_env::CLIENTS, "binance_sdk_client.py", Market::Spot);
    seen.check(&run).assert_enough(&run, "binance-sdk-spot");
}
