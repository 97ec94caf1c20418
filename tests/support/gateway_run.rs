//! The gateway on loopback, fed by the real engine reading the simulator, with a second
//! consumer of the same engine recording every closed kline to compare what clients get with;
//! on Binance USD-M's API or spot's ([`Run::start_market`]). [`Run::rebuilt`] makes the kline a
//! client should have seen from the simulator's own record of the trades.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use klagg::aggregator::{KlineRecord, ShardConfig};
use klagg::config::Market;
use klagg::egress::kline_event::write_continuous_kline_event;
use klagg::egress::{Decimals, write_kline_event, write_rest_kline};
use klagg::gateway::{Catalog, Gateway, GatewayConfig, GatewayHandle, LiveSymbols};
use klagg::idle::IdleStrategy;
use klagg::ingress::connection::ConnectionOptions;
use klagg::interval::Interval;
use klagg::kline::Kline;
use klagg::pipeline::{Engine, EngineSpec, now_ms};
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;
use klagg::sim::{MarketSource, SimTrade};
use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// A WebSocket client of the gateway.
pub type Client = WebSocket<MaybeTlsStream<TcpStream>>;

/// The intervals every run keeps.
pub const INTERVALS: &str = "1s,1m,5m";

/// One simulator, engine and gateway at a time: several at once on a small machine would
/// measure the scheduler.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A simulator feeding an engine whose consumers are the gateway and a recorder.
pub struct Run {
    sim: Simulation,
    engine: Option<Engine>,
    gateway: Option<GatewayHandle>,
    stop: Arc<AtomicBool>,
    recorder: Option<JoinHandle<()>>,
    /// Closed klines pulled by the second consumer.
    closed: Arc<Mutex<Vec<KlineRecord>>>,
    /// The Binance API the simulator and the gateway speak.
    pub market: Market,
    /// Every symbol the simulator trades, by engine index.
    pub names: Vec<String>,
    /// Their precisions.
    pub decimals: Vec<Decimals>,
    /// The engine's symbol list the gateway follows (as `klagg run`'s symbol manager keeps it).
    pub live_names: Arc<RwLock<Vec<String>>>,
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl Run {
    /// `symbols` trading `rate` trades/s in all, every one followed by the engine from the start.
    pub fn start(symbols: usize, rate: u32, config: GatewayConfig) -> Run {
        Run::start_holding_back(symbols, rate, config, 0)
    }

    /// Like [`Run::start`], on `exchange`'s API: the simulator speaks it to the engine and
    /// the gateway serves it (the config's `market` is set to it).
    pub fn start_market(exchange: Market, symbols: usize, rate: u32, config: GatewayConfig) -> Run {
        Run::start_in(exchange, symbols, rate, config, 0)
    }

    /// Like [`Run::start`], but the engine follows the last `held_back` symbols only once
    /// [`Run::list`] is called (the simulator trades them from the start).
    pub fn start_holding_back(
        symbols: usize,
        rate: u32,
        config: GatewayConfig,
        held_back: usize,
    ) -> Run {
        Run::start_in(Market::Usdm, symbols, rate, config, held_back)
    }

    fn start_in(
        exchange: Market,
        symbols: usize,
        rate: u32,
        mut config: GatewayConfig,
        held_back: usize,
    ) -> Run {
        let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        config.market = exchange;
        let mut market = SyntheticConfig::new(symbols, rate, 11, now_ms());
        market.quiet_fraction = 0.0;
        let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
        let server = ServerConfig::for_market(exchange);
        let mut sim = Simulation::serve(server, specs.clone()).expect("simulator");
        let intervals = Interval::parse_list(INTERVALS).unwrap();
        let followed = specs.len() - held_back;
        let mut connections = klagg::demo::sim_connections(&sim, 1_024);
        for connection in &mut connections {
            connection
                .symbols
                .retain(|(_, index)| (*index as usize) < followed);
        }
        let spec = EngineSpec {
            shard: ShardConfig::new(intervals.clone(), specs.len() as u32),
            max_symbols: specs.len() as u32,
            shard_cores: vec![None],
            connections,
            idle: IdleStrategy::Park(Duration::from_micros(200)),
            ring_capacity: 4096,
            connection: ConnectionOptions::default(),
            consumers: 2,
            probe: None,
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
            .map(|s| match exchange {
                Market::Usdm => Decimals::new(s.price_decimals, s.quantity_decimals),
                Market::Spot => Decimals::SPOT,
            })
            .collect();
        let live_names = Arc::new(RwLock::new(names[..followed].to_vec()));
        let by_name: Vec<(String, Decimals)> = names
            .iter()
            .cloned()
            .zip(decimals.iter().copied())
            .collect();
        let catalog = Catalog {
            symbols: Vec::new(),
            intervals,
            live: Some(LiveSymbols {
                names: Arc::clone(&live_names),
                decimals: Arc::new(move |name: &str| {
                    by_name
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, d)| *d)
                        .expect("a simulated symbol")
                }),
            }),
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
            market: exchange,
            names,
            decimals,
            live_names,
            _guard: guard,
        }
    }

    /// Has the engine follow a held-back symbol the way `klagg run`'s symbol manager does:
    /// its name goes into the shared list first, then the engine subscribes to its trades.
    pub fn list(&self, symbol: usize) {
        let name = &self.names[symbol];
        {
            let mut names = self.live_names.write().unwrap();
            assert_eq!(names.len(), symbol, "symbols are listed in index order");
            names.push(name.clone());
        }
        let engine = self.engine.as_ref().unwrap();
        assert!(
            engine.add_symbol(0, name, symbol as u32),
            "engine takes {name}"
        );
    }

    /// Every trade the simulator has published so far.
    pub fn trades(&self) -> Vec<klagg::sim::SimTrade> {
        self.sim.trades()
    }

    /// The gateway's address.
    pub fn addr(&self) -> SocketAddr {
        self.gateway().addr()
    }

    /// The gateway.
    pub fn gateway(&self) -> &GatewayHandle {
        self.gateway.as_ref().unwrap()
    }

    /// The stream name of a symbol and interval, e.g. `btcusdt@kline_1s`.
    pub fn stream(&self, symbol: usize, interval: &str) -> String {
        format!("{}@kline_{interval}", self.names[symbol].to_lowercase())
    }

    /// A WebSocket client on `path` whose reads time out after 100 ms.
    pub fn connect(&self, path: &str) -> Client {
        let (ws, _) = tungstenite::connect(format!("ws://{}{path}", self.addr())).expect("connect");
        if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
        }
        ws
    }

    /// The closed kline the recorder pulled for a slot and open time.
    pub fn engine_closed(
        &self,
        symbol: usize,
        interval: u16,
        open_time: i64,
    ) -> Option<KlineRecord> {
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
    pub fn wait_engine_closed(&self, symbol: usize, interval: u16, open_time: i64) -> KlineRecord {
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

    /// What the engine's kline encodes to as a kline event, parsed, stamped `event_ms`.
    pub fn expected_event(&self, record: &KlineRecord, event_ms: i64, closed: bool) -> Value {
        self.encoded(write_kline_event, record, event_ms, closed)
    }

    /// What the engine's kline encodes to as a continuous-kline event (its symbol is the pair),
    /// parsed, stamped `event_ms`.
    pub fn expected_continuous_event(
        &self,
        record: &KlineRecord,
        event_ms: i64,
        closed: bool,
    ) -> Value {
        self.encoded(write_continuous_kline_event, record, event_ms, closed)
    }

    /// `record` written by `write` (one of the egress event writers), parsed.
    fn encoded(
        &self,
        write: fn(&mut Vec<u8>, i64, &str, Interval, &Kline, bool, Decimals),
        record: &KlineRecord,
        event_ms: i64,
        closed: bool,
    ) -> Value {
        let mut out = Vec::new();
        let interval = Interval::parse_list(INTERVALS).unwrap()[record.interval as usize];
        let symbol = record.symbol as usize;
        write(
            &mut out,
            event_ms,
            &self.names[symbol],
            interval,
            &record.kline,
            closed,
            self.decimals[symbol],
        );
        serde_json::from_slice(&out).unwrap()
    }

    /// A kline as a REST row (`GET /fapi/v1/klines`), parsed.
    pub fn expected_rest_row(&self, symbol: usize, kline: &Kline) -> Value {
        let mut out = Vec::new();
        write_rest_kline(&mut out, kline, self.decimals[symbol]);
        serde_json::from_slice(&out).unwrap()
    }

    /// A kline as ccxt's candle, `[open time, open, high, low, close, volume]`, the decimals
    /// read as floats the way ccxt reads them.
    pub fn expected_candle(&self, symbol: usize, kline: &Kline) -> Value {
        let row = self.expected_rest_row(symbol, kline);
        let float = |i: usize| {
            let text = row[i].as_str().unwrap();
            serde_json::json!(text.parse::<f64>().unwrap())
        };
        serde_json::json!([row[0], float(1), float(2), float(3), float(4), float(5)])
    }

    /// The kline of `symbol`'s `interval` period opening at `open_time`, rebuilt from
    /// `trades` (the simulator's) as the engine builds it, holding the period's trades up to
    /// where `upto` says; `None` when no prefix of them fits.
    pub fn rebuilt(
        &self,
        trades: &[SimTrade],
        symbol: usize,
        interval: u16,
        open_time: i64,
        upto: Upto,
    ) -> Option<Kline> {
        let interval = Interval::parse_list(INTERVALS).unwrap()[usize::from(interval)];
        let close_time = interval.close_time(open_time);
        let symbol_trades = || trades.iter().filter(|t| t.symbol as usize == symbol);
        let previous_close = symbol_trades()
            .filter(|t| t.time_ms < open_time)
            .max_by_key(|t| t.agg_id)
            .map_or(0, |t| t.price);
        let mut period: Vec<&SimTrade> = symbol_trades()
            .filter(|t| (open_time..=close_time).contains(&t.time_ms))
            .collect();
        period.sort_by_key(|t| t.agg_id);
        let mut kline = Kline::empty(open_time, close_time, previous_close);
        let fits = |kline: &Kline| match upto {
            Upto::LastTrade(id) => kline.last_trade_id == id,
            Upto::Count(n) => kline.count == n,
            Upto::Volume(v) => self.expected_candle(symbol, kline)[5].as_f64() == Some(v),
        };
        if fits(&kline) {
            return Some(kline);
        }
        for trade in period {
            kline.apply(&trade.payload(trade.time_ms));
            if fits(&kline) {
                return Some(kline);
            }
        }
        None
    }

    /// The engine index of a symbol name, and of an interval name.
    pub fn slot_of(&self, symbol: &str, interval: &str) -> (usize, u16) {
        let symbol = self
            .names
            .iter()
            .position(|n| n == symbol)
            .unwrap_or_else(|| panic!("unknown symbol {symbol}"));
        let interval = Interval::parse(interval).unwrap();
        let interval = Interval::parse_list(INTERVALS)
            .unwrap()
            .iter()
            .position(|i| *i == interval)
            .unwrap_or_else(|| panic!("interval {interval} not kept"));
        (symbol, interval as u16)
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

/// How much of a period a client's kline holds, as the client shows it: through a raw trade id
/// (`L` of a stream event), a number of raw trades (`n` of a REST row), or a volume (all a
/// ccxt candle has; each trade adds to it, so it marks one prefix only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Upto {
    /// Up to and including this raw trade id (-1: none).
    LastTrade(i64),
    /// This many raw trades.
    Count(i64),
    /// This volume, as a float.
    Volume(f64),
}

/// The next text message, or `None` after `wait` without one.
pub fn next_text(ws: &mut Client, wait: Duration) -> Option<Value> {
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
pub fn next_reply(ws: &mut Client) -> Value {
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

/// Sends a text message.
pub fn send(ws: &mut Client, text: &str) {
    ws.send(Message::text(text)).expect("send");
}

/// A plain HTTP GET: status and body.
pub fn http_get(addr: SocketAddr, target: &str) -> (u16, String) {
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
