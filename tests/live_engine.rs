//! The live path end to end on loopback: a WebSocket server sends Binance frames, the engine
//! (io thread, rings, two shards) turns them into klines, and a consumer pulls them. The klines
//! must equal those of the same trades replayed through one shard, whatever the connection
//! goes through.

#[path = "support/ws_server.rs"]
mod ws_server;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::Ordering::Relaxed;
use std::thread;
use std::time::Duration;

use klagg::aggregator::{Shard, ShardConfig};
use klagg::decimal::{Scaled, parse_fixed};
use klagg::idle::IdleStrategy;
use klagg::ingress::connection::ConnectionOptions;
use klagg::interval::Interval;
use klagg::kline::Kline;
use klagg::latency::{Sampling, Span};
use klagg::live::{SymbolManager, engine_spec};
use klagg::pipeline::{ConnectionSpec, Engine, EngineConsumer, EngineSpec, ProbeCollector, now_ms};
use klagg::trade::AggTradePayload;
use ws_server::{AutoReply, WsServer, wait_for};

const INTERVALS: &str = "1m,5m,1h";
const WAIT: Duration = Duration::from_secs(10);

/// One generated trade and its frame.
#[derive(Clone)]
struct Trade {
    payload: AggTradePayload,
    frame: String,
}

/// `n` trades over `symbols` (global index = position) with fresh trade times (from now, 50
/// per ms, as a busy exchange would send them), agg ids consecutive per symbol from
/// `first_agg`. Generate right before sending: old trade times would make late trades.
fn trades(symbols: &[&str], n: usize, first_agg: i64) -> Vec<Trade> {
    let start = now_ms();
    (0..n)
        .map(|i| {
            let s = i % symbols.len();
            let agg = first_agg + (i / symbols.len()) as i64;
            let time = start + i as i64 / 50;
            let price = format!("{}.{:02}", 30_000 + (i * 7919) % 500, i % 100);
            let quantity = format!("0.{:03}", 1 + (i * 31) % 999);
            let maker = i % 3 == 0;
            let payload = AggTradePayload {
                symbol: s as u32,
                is_buyer_maker: maker,
                price: parse_fixed(price.as_bytes()).unwrap(),
                quantity: parse_fixed(quantity.as_bytes()).unwrap(),
                agg_id: agg,
                first_trade_id: agg * 2,
                last_trade_id: agg * 2 + 1,
                trade_time_ms: time,
                event_time_ms: time + 1,
            };
            let frame = format!(
                r#"{{"stream":"{lower}@aggTrade","data":{{"e":"aggTrade","E":{e},"a":{agg},"s":"{sym}","p":"{price}","q":"{quantity}","nq":"{quantity}","f":{f},"l":{l},"T":{time},"m":{maker}}}}}"#,
                lower = symbols[s].to_ascii_lowercase(),
                e = time + 1,
                sym = symbols[s],
                f = agg * 2,
                l = agg * 2 + 1,
            );
            Trade { payload, frame }
        })
        .collect()
}

/// Every non-empty kline of the trades replayed through one shard (no clock), by
/// (global symbol, interval, open time).
fn reference(trades: &[Trade], symbols: usize) -> HashMap<(u32, u16, i64), Kline> {
    let mut shard = Shard::new(ShardConfig::new(
        Interval::parse_list(INTERVALS).unwrap(),
        symbols as u32,
    ))
    .unwrap();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let mut consumer = klagg::aggregator::DeltaConsumer::new(shard.register_consumer(), tx);
    for t in trades {
        shard.process_trade(&t.payload);
    }
    consumer.request().unwrap();
    shard.serve_requests(&rx);
    let delta = consumer.receive(Duration::ZERO).unwrap();
    delta
        .closed
        .iter()
        .chain(&delta.open)
        .filter(|r| !r.kline.is_empty())
        .map(|r| ((r.symbol, r.interval, r.kline.open_time), r.kline))
        .collect()
}

/// Pulls until the engine's non-empty klines stop changing and hold `expected_trades` trades
/// in the `1h` interval (index 2); returns them keyed like [`reference`].
fn collect(consumer: &mut EngineConsumer, expected_trades: i64) -> HashMap<(u32, u16, i64), Kline> {
    let mut klines = HashMap::new();
    let done = wait_for(
        || {
            if let Ok(delta) = consumer.pull(Duration::from_millis(200)) {
                for r in delta.closed.iter().chain(&delta.open) {
                    if !r.kline.is_empty() {
                        klines.insert((r.symbol, r.interval, r.kline.open_time), r.kline);
                    }
                }
            }
            let hourly: i64 = klines
                .iter()
                .filter(|(k, _)| k.1 == 2)
                .map(|(_, k)| k.count)
                .sum();
            hourly == expected_trades * 2
        },
        WAIT,
    );
    assert!(
        done,
        "engine did not apply all {expected_trades} trades in time"
    );
    klines
}

fn assert_same(ours: &HashMap<(u32, u16, i64), Kline>, theirs: &HashMap<(u32, u16, i64), Kline>) {
    assert_eq!(ours.len(), theirs.len(), "number of non-empty klines");
    for (key, kline) in theirs {
        let got = ours
            .get(key)
            .unwrap_or_else(|| panic!("missing kline {key:?}"));
        assert_eq!(
            got,
            kline,
            "kline {key:?} (volume {} vs {})",
            Scaled {
                value: got.volume,
                scale: 8,
                min_frac: 0
            },
            Scaled {
                value: kline.volume,
                scale: 8,
                min_frac: 0
            }
        );
    }
}

fn options() -> ConnectionOptions {
    ConnectionOptions {
        read_tick: Duration::from_millis(20),
        ping_interval: Duration::from_millis(100),
        stale_timeout: Duration::from_millis(400),
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        ..ConnectionOptions::default()
    }
}

/// A shard config with a grace long enough that a slow test machine cannot turn a fresh trade
/// into a late one (late trades are the core's tests' business).
fn shard_config() -> ShardConfig {
    let mut config = ShardConfig::new(Interval::parse_list(INTERVALS).unwrap(), 8);
    config.close_grace_ms = 20_000;
    config
}

fn spec(url: String, symbols: &[&str]) -> EngineSpec {
    EngineSpec {
        shard: shard_config(),
        max_symbols: 16,
        shard_cores: vec![None, None],
        connections: vec![ConnectionSpec {
            core: None,
            url,
            symbols: symbols
                .iter()
                .enumerate()
                .map(|(i, s)| ((*s).to_owned(), i as u32))
                .collect(),
            extra_streams: vec!["!miniTicker@arr".to_owned()],
        }],
        idle: IdleStrategy::Park(Duration::from_micros(200)),
        ring_capacity: 64,
        connection: options(),
        consumers: 1,
        probe: None,
        restore: Vec::new(),
    }
}

fn send_all(conn: &ws_server::Conn, trades: &[Trade]) {
    for t in trades {
        conn.send_text(&t.frame).expect("send frame");
    }
}

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "XRPUSDT"];

#[test]
fn combined_stream_in_exact_klines_out() {
    let server = WsServer::start();
    let (engine, mut consumers) =
        Engine::start(spec(server.url("/market/stream"), &SYMBOLS)).unwrap();
    let conn = server
        .wait_for_connection(0, WAIT)
        .expect("engine connects");
    let streams = conn.query_streams();
    assert!(
        streams.contains(&"btcusdt@aggTrade".to_owned())
            && streams.contains(&"!miniTicker@arr".to_owned()),
        "{streams:?}"
    );
    // Far more trades than a ring holds: the io thread must wait for the shards, not drop.
    let trades = trades(&SYMBOLS, 3_000, 1_000);
    send_all(&conn, &trades);
    let ours = collect(&mut consumers[0], trades.len() as i64);
    assert_same(&ours, &reference(&trades, SYMBOLS.len()));
    let report = engine.stop();
    let applied: u64 = report.shards.iter().map(|s| s.trades).sum();
    assert_eq!(applied, 3_000);
    assert_eq!(
        report
            .shards
            .iter()
            .map(|s| s.duplicates + s.gaps)
            .sum::<u64>(),
        0
    );
}

#[test]
fn reconnects_after_close_and_silence_lose_nothing() {
    let server = WsServer::start();
    let (engine, mut consumers) =
        Engine::start(spec(server.url("/market/stream"), &SYMBOLS)).unwrap();
    let first = server.wait_for_connection(0, WAIT).expect("connect");
    let mut trades = self::trades(&SYMBOLS, 300, 50);
    send_all(&first, &trades);
    first.close().unwrap();
    // The exchange resends a little of what it sent before the drop: the core's dedupe drops it.
    let second = server
        .wait_for_connection(1, WAIT)
        .expect("reconnect after close");
    let fresh = self::trades(&SYMBOLS, 300, 150);
    send_all(&second, &trades[250..]);
    send_all(&second, &fresh);
    trades.extend(fresh);
    second.go_silent();
    let third = server
        .wait_for_connection(2, WAIT)
        .expect("reconnect after silence");
    let fresh = self::trades(&SYMBOLS, 300, 250);
    send_all(&third, &fresh);
    trades.extend(fresh);
    let ours = collect(&mut consumers[0], trades.len() as i64);
    assert_same(&ours, &reference(&trades, SYMBOLS.len()));
    let io = &engine.io_stats()[0];
    assert!(io.disconnects_closed.load(Relaxed) >= 1, "close counted");
    assert!(io.disconnects_stale.load(Relaxed) >= 1, "stale counted");
    let report = engine.stop();
    assert_eq!(report.shards.iter().map(|s| s.duplicates).sum::<u64>(), 50);
    assert_eq!(report.shards.iter().map(|s| s.trades).sum::<u64>(), 900);
}

#[test]
fn hostile_frames_are_counted_and_good_frames_stay_exact() {
    let server = WsServer::start();
    let (engine, mut consumers) =
        Engine::start(spec(server.url("/market/stream"), &SYMBOLS)).unwrap();
    let conn = server.wait_for_connection(0, WAIT).expect("connect");
    let trades = trades(&SYMBOLS, 600, 7);
    let hostile = [
        "not json".to_owned(),
        "{\"stream\":\"btcusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\"".to_owned(),
        trades[0].frame.replace("\"p\":\"", "\"p\":\"1e5"),
        trades[1]
            .frame
            .replace("BTCUSDT", "NOPEUSDT")
            .replace("ETHUSDT", "NOPEUSDT")
            .replace("XRPUSDT", "NOPEUSDT"),
        trades[2].frame.replace("\"f\":", "\"g\":"),
        "{\"stream\":\"btcusdt@kline_1m\",\"data\":{\"e\":\"kline\",\"k\":{}}}".to_owned(),
    ];
    for (i, t) in trades.iter().enumerate() {
        if i % 50 == 0 {
            for h in &hostile {
                conn.send_text(h).unwrap();
            }
            conn.send_binary(&[0xff, 0x00, 0x13]).unwrap();
        }
        conn.send_text(&t.frame).unwrap();
    }
    let ours = collect(&mut consumers[0], trades.len() as i64);
    assert_same(&ours, &reference(&trades, SYMBOLS.len()));
    let bad = engine.io_stats()[0].bad_frames.load(Relaxed);
    // Per round: 5 bad text frames (the kline frame is skipped, not bad) and 1 binary frame.
    assert!(
        wait_for(
            || engine.io_stats()[0].bad_frames.load(Relaxed) == 12 * 6,
            WAIT
        ),
        "bad frames {bad}"
    );
    engine.stop();
}

/// Serves one fixed exchangeInfo body to every request on loopback.
fn exchange_info_server(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.read(&mut request);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    url
}

#[test]
fn a_new_symbol_in_the_ticker_stream_is_followed() {
    let listing = |symbols: &[&str]| {
        let entries: Vec<String> = symbols
            .iter()
            .map(|s| format!(r#"{{"symbol":"{s}","contractType":"PERPETUAL","status":"TRADING","quoteAsset":"USDT"}}"#))
            .collect();
        format!(r#"{{"symbols":[{}]}}"#, entries.join(","))
    };
    let rest = exchange_info_server(listing(&["BTCUSDT", "ETHUSDT", "SOLUSDT"]));
    let server = WsServer::start();
    server.set_auto_reply(AutoReply::Ack);
    let text = format!(
        "[exchange]\nsymbols = \"all\"\nws_url = \"{}\"\nrest_url = \"{rest}\"\nmax_symbols = 16\n[klines]\nintervals = [\"1m\", \"5m\", \"1h\"]\n[threads]\nio_cores = []\naggregator_cores = []\naggregator_shards = 2\nconsumer_cores = []\n",
        server.url("/market/stream")
    );
    let settings = klagg::config::parse(&text, "test.toml")
        .unwrap()
        .resolve(&[0, 1])
        .unwrap();
    let known = vec!["BTCUSDT".to_owned(), "ETHUSDT".to_owned()];
    let plan = klagg::config::Plan::new(&settings, Some(&known)).unwrap();
    let mut spec = engine_spec(&plan, 1);
    spec.connection = options();
    spec.shard.close_grace_ms = shard_config().close_grace_ms;
    let (engine, mut consumers) = Engine::start(spec).unwrap();
    let mut manager = SymbolManager::new(&plan, Default::default());
    let conn = server.wait_for_connection(0, WAIT).expect("connect");
    let tickers = r#"{"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker","E":1,"s":"BTCUSDT","c":"1"},{"e":"24hrMiniTicker","E":1,"s":"SOLUSDT","c":"2"}]}"#;
    conn.send_text(tickers).unwrap();
    let subscribed = wait_for(
        || {
            manager.handle(&engine, std::time::Instant::now());
            conn.received()
                .iter()
                .any(|r| r.text.contains("solusdt@aggTrade"))
        },
        WAIT,
    );
    assert!(subscribed, "SUBSCRIBE for the new symbol was sent");
    assert_eq!(manager.active(), 3);
    // SOLUSDT got global index 2: the next free one.
    let trades = trades(&["BTCUSDT", "ETHUSDT", "SOLUSDT"], 300, 1);
    send_all(&conn, &trades);
    let ours = collect(&mut consumers[0], trades.len() as i64);
    assert_same(&ours, &reference(&trades, 3));
    // A refresh in which ETHUSDT no longer trades unsubscribes it.
    let delisted = klagg::ingress::exchange_info::parse(&listing(&["BTCUSDT", "SOLUSDT"])).unwrap();
    manager.apply_listing(&engine, &delisted, true);
    assert!(
        wait_for(
            || conn
                .received()
                .iter()
                .any(|r| r.text.contains("UNSUBSCRIBE") && r.text.contains("ethusdt@aggTrade")),
            WAIT
        ),
        "UNSUBSCRIBE for the delisted symbol was sent"
    );
    assert_eq!(manager.active(), 2);
    engine.stop();
}

#[test]
fn gaps_are_reported_with_global_symbol_indices() {
    let server = WsServer::start();
    let (engine, mut consumers) =
        Engine::start(spec(server.url("/market/stream"), &SYMBOLS)).unwrap();
    let conn = server.wait_for_connection(0, WAIT).expect("connect");
    let mut trades = trades(&SYMBOLS, 300, 1);
    // Trade 100 is ETHUSDT (global index 1, shard 1 of 2, local index 0).
    let lost = trades.remove(100);
    send_all(&conn, &trades);
    let ours = collect(&mut consumers[0], trades.len() as i64);
    assert_same(&ours, &reference(&trades, SYMBOLS.len()));
    let mut gaps = Vec::new();
    assert!(wait_for(
        || {
            gaps.extend(engine.take_gaps());
            !gaps.is_empty()
        },
        WAIT
    ));
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (gaps[0].symbol, gaps[0].from_agg_id, gaps[0].to_agg_id),
        (
            lost.payload.symbol,
            lost.payload.agg_id,
            lost.payload.agg_id
        )
    );
    engine.stop();
}

#[test]
fn stored_open_klines_are_restored_before_live_trades() {
    let server = WsServer::start();
    let interval = Interval::parse("1h").unwrap();
    let open = interval.open_time(now_ms());
    let mut saved = Kline::empty(open, interval.close_time(open), 0);
    saved.apply(&trades(&SYMBOLS, 2, 1)[1].payload);
    let mut spec = spec(server.url("/market/stream"), &SYMBOLS);
    spec.restore = vec![(1, 2, saved)];
    let (engine, mut consumers) = Engine::start(spec).unwrap();
    let mut found = None;
    assert!(wait_for(
        || {
            if let Ok(delta) = consumers[0].pull(Duration::from_millis(100)) {
                found = found.or(delta
                    .open
                    .iter()
                    .find(|r| (r.symbol, r.interval) == (1, 2))
                    .map(|r| r.kline));
            }
            found.is_some()
        },
        WAIT
    ));
    assert_eq!(found, Some(saved));
    engine.stop();
}

#[test]
fn sampled_trades_fill_the_latency_histograms_of_every_span() {
    let server = WsServer::start();
    let mut spec = spec(server.url("/market/stream"), &SYMBOLS);
    spec.probe = Some(Sampling::EVERY_TRADE);
    let (mut engine, mut consumers) = Engine::start(spec).unwrap();
    let collector = ProbeCollector::spawn(engine.take_probe().expect("a probe"), 0).unwrap();
    let conn = server
        .wait_for_connection(0, WAIT)
        .expect("engine connects");
    let trades = trades(&SYMBOLS, 1_000, 1_000);
    send_all(&conn, &trades);
    collect(&mut consumers[0], trades.len() as i64);
    engine.stop();
    let latencies = collector.latencies();
    collector.stop();
    let latencies = latencies.lock().unwrap();
    let picked = trades.len() as u64;
    for span in [Span::FrameToPush, Span::PushToKline, Span::FrameToKline] {
        assert_eq!(latencies.summary(span).count, picked, "{}", span.name());
    }
    assert!(latencies.summary(Span::KlineToConsumer).count > 0);
    assert!(latencies.summary(Span::ExchangeToFrame).count > 0);
    let mut text = String::new();
    klagg::metrics::render_latencies(&mut text, &latencies);
    assert!(text.contains(&format!(
        "klagg_latency_frame_to_kline_seconds_count {picked}\n"
    )));
}
