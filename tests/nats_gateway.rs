//! `klagg gateway --nats URL` against a real nats-server fed by `klagg run`: a WebSocket
//! client gets the kline stream from the bus, and REST serves the same closed klines, byte for
//! byte, as the gateway of the `klagg run` that published them.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use klagg::pipeline::now_ms;
use klagg::sim::MarketSource;
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;
use serde_json::Value;

#[path = "support/nats_server.rs"]
mod nats_server;
#[path = "support/python_env.rs"]
mod python_env;
#[path = "support/run_config.rs"]
mod run_config;

use nats_server::NatsServer;
use run_config::write_run_config;

/// Kills the child when dropped, so a failing test leaves no process behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// Starts `klagg gateway --nats`, returning it and the address it prints.
fn start_bus_gateway(dir: &Path, url: &str) -> (Killed, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_klagg"))
        .args(["gateway", "--nats", url, "--bind", "127.0.0.1:0"])
        .args(["--intervals", "1s,1m,1h"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(dir.join("gateway.log")).unwrap())
        .spawn()
        .expect("start klagg gateway");
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    // "serving klines from NATS on ws://127.0.0.1:PORT/market/stream and http://..."
    let addr = line
        .split("ws://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, addr)
}

#[test]
fn a_gateway_fed_from_nats_serves_the_streams_and_the_same_rest_klines() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path());
    let mut market = SyntheticConfig::new(3, 600, 9, now_ms());
    market.quiet_fraction = 0.0;
    market.names = vec!["BTCUSDT".into()];
    let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
    let mut sim = Simulation::serve(ServerConfig::default(), specs).unwrap();
    let files = write_run_config(dir.path(), sim.addr(), "");
    let run_gateway: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let text = std::fs::read_to_string(&files.config)
        .unwrap()
        .replace("127.0.0.1:0", &run_gateway.to_string())
        + &format!("[nats]\nservers = [\"{}\"]\n", nats.url());
    std::fs::write(&files.config, text).unwrap();
    let _run = Killed(
        Command::new(env!("CARGO_BIN_EXE_klagg"))
            .args(["run", "--config"])
            .arg(&files.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(dir.path().join("run.log")).unwrap())
            .spawn()
            .expect("start klagg run"),
    );
    assert!(
        sim.wait_for_clients(1, Duration::from_secs(30)),
        "klagg run connects"
    );
    market.start_ms = now_ms();
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // Started mid-run: what closed before comes from the JetStream stream.
    let (_gateway, addr) = start_bus_gateway(dir.path(), &nats.url());

    let (mut ws, _) =
        tungstenite::connect(format!("ws://{addr}/market/ws/btcusdt@kline_1s")).unwrap();
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    let mut events = 0;
    let mut closed = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while (events < 20 || closed < 2) && Instant::now() < deadline {
        let message = ws.read().expect("a kline event");
        let tungstenite::Message::Text(text) = message else {
            continue;
        };
        let event: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["e"], "kline", "{text}");
        assert_eq!(event["s"], "BTCUSDT");
        assert_eq!(event["k"]["i"], "1s");
        events += 1;
        closed += usize::from(event["k"]["x"] == true);
    }
    assert!(
        events >= 20 && closed >= 2,
        "{events} events, {closed} closing"
    );

    let path = "/fapi/v1/klines?symbol=BTCUSDT&interval=1s&limit=1000";
    let rows = |addr, cutoff| -> Vec<Value> {
        let body: Value = serde_json::from_str(&http_get(addr, path)).unwrap();
        body.as_array()
            .unwrap()
            .iter()
            .filter(|row| row[6].as_i64().unwrap() < cutoff)
            .cloned()
            .collect()
    };
    // Klines that closed over 1.5 s ago have settled on both sides; on a loaded machine it
    // takes a while until four of them have.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (from_bus, from_run) = loop {
        std::thread::sleep(Duration::from_secs(1));
        let cutoff = now_ms() - 1_500;
        let from_bus = rows(addr, cutoff);
        if from_bus.len() >= 4 || Instant::now() >= deadline {
            break (from_bus, rows(run_gateway, cutoff));
        }
    };
    assert!(
        from_bus.len() >= 4,
        "closed klines from the bus: {}",
        from_bus.len()
    );
    assert_eq!(from_bus, from_run);
    let _ = sim.stop();
}
