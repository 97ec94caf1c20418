//! A real gateway on loopback with 1,000 tungstenite subscribers, fed by a shard driven by the
//! bench: each round of updates changes every subscribed stream once, and a round is delivered
//! when every subscriber has read its events.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use klagg::aggregator::{DeltaConsumer, Shard, ShardConfig};
use klagg::egress::Decimals;
use klagg::gateway::{Catalog, Gateway, GatewayConfig, GatewayHandle};
use klagg::interval::Interval;
use klagg::pipeline::EngineConsumer;
use klagg::trade::AggTradePayload;
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

/// One trade time for every update, so no kline ever closes and every round is one event per
/// stream (the shard's clock is never ticked either).
const TRADE_TIME_MS: i64 = 1_704_067_230_000;

/// The gateway, its subscribers' reader threads and the shard thread.
pub struct Loopback {
    gateway: Option<GatewayHandle>,
    stop: Arc<AtomicBool>,
    /// Rounds of updates the shard still has to hand out, one per pull.
    rounds_left: Arc<AtomicU64>,
    /// Text messages read by all subscribers.
    received: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
    subscribers: u64,
    streams: u64,
}

impl Loopback {
    /// A gateway pushing as fast as pulls are answered, `subscribers` clients each subscribed
    /// to the 1m streams of `streams` symbols, read by `readers` threads.
    pub fn start(subscribers: usize, streams: u32, readers: usize) -> Loopback {
        let stop = Arc::new(AtomicBool::new(false));
        let rounds_left = Arc::new(AtomicU64::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let mut shard = Shard::new(ShardConfig::new(
            Interval::parse_list("1m").unwrap(),
            streams,
        ))
        .expect("shard");
        let (tx, requests) = crossbeam_channel::bounded(64);
        let consumer = EngineConsumer::new(vec![DeltaConsumer::new(shard.register_consumer(), tx)]);
        let mut agg_id = 1;
        let mut trade_all = move |shard: &mut Shard| {
            for symbol in 0..streams {
                shard.process_trade(&AggTradePayload {
                    symbol,
                    price: 6_500_000_000_000 + agg_id,
                    quantity: 1_000_000,
                    agg_id,
                    first_trade_id: agg_id,
                    last_trade_id: agg_id,
                    trade_time_ms: TRADE_TIME_MS,
                    event_time_ms: TRADE_TIME_MS,
                    ..AggTradePayload::default()
                });
            }
            agg_id += 1;
        };
        trade_all(&mut shard);
        let mut threads = Vec::new();
        threads.push({
            let (stop, rounds_left) = (Arc::clone(&stop), Arc::clone(&rounds_left));
            std::thread::spawn(move || {
                // Like a real shard for a gateway that pushes as klines change, a request is
                // answered once there is news; each answer carries exactly one round, so no
                // two rounds merge into one update. The first trades are news already.
                let mut waiting = None;
                let mut news = true;
                while !stop.load(Ordering::Relaxed) {
                    if waiting.is_none() {
                        match requests.recv_timeout(Duration::from_millis(50)) {
                            Ok(request) => waiting = Some(request),
                            Err(RecvTimeoutError::Timeout) => continue,
                            Err(RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    if !news {
                        let left = rounds_left.load(Ordering::Acquire);
                        if left == 0 {
                            std::thread::sleep(Duration::from_micros(100));
                            continue;
                        }
                        trade_all(&mut shard);
                        rounds_left.store(left - 1, Ordering::Release);
                        news = true;
                    }
                    if let Some(request) = waiting.take() {
                        shard.handle_request(request);
                        news = false;
                    }
                }
            })
        });
        let catalog = Catalog {
            symbols: (0..streams)
                .map(|i| {
                    let decimals = Decimals::new(2, 3);
                    (format!("S{i:03}USDT"), decimals)
                })
                .collect(),
            intervals: Interval::parse_list("1m").unwrap(),
            live: None,
        };
        let config = GatewayConfig {
            push_interval: Duration::ZERO,
            max_clients: subscribers + 16,
            ..GatewayConfig::default()
        };
        let gateway =
            Gateway::spawn(config, consumer, catalog, Arc::clone(&stop)).expect("gateway");
        // Subscribers come once the first pull (every open kline) is in, so each gets its
        // snapshots at once and nothing else until the first round.
        wait_until(Duration::from_secs(10), "the first pull", || {
            gateway.stats().pulls >= 2
        });
        let subscribe = serde_json::json!({
            "method": "SUBSCRIBE",
            "params": (0..streams)
                .map(|i| format!("s{i:03}usdt@kline_1m"))
                .collect::<Vec<_>>(),
            "id": 1,
        })
        .to_string();
        let mut groups: Vec<Vec<WebSocket<MioStream>>> = (0..readers).map(|_| Vec::new()).collect();
        for i in 0..subscribers {
            groups[i % readers].push(subscriber(gateway.addr(), &subscribe));
        }
        for group in groups {
            let (stop, received) = (Arc::clone(&stop), Arc::clone(&received));
            threads.push(std::thread::spawn(move || {
                read_all(group, &received, &stop)
            }));
        }
        let loopback = Loopback {
            gateway: Some(gateway),
            stop,
            rounds_left,
            received,
            threads,
            subscribers: subscribers as u64,
            streams: u64::from(streams),
        };
        // The SUBSCRIBE reply and one snapshot per stream, for every subscriber.
        loopback.wait_received(loopback.subscribers * (1 + loopback.streams));
        loopback
    }

    /// Events one round delivers: one per stream per subscriber.
    pub fn events_per_round(&self) -> u64 {
        self.subscribers * self.streams
    }

    /// Hands out `rounds` rounds of updates and waits until every subscriber read them.
    pub fn deliver(&self, rounds: u64) {
        let target = self.received.load(Ordering::Acquire) + rounds * self.events_per_round();
        self.rounds_left.store(rounds, Ordering::Release);
        self.wait_received(target);
    }

    /// Waits (bounded) until subscribers have read `target` messages in all.
    fn wait_received(&self, target: u64) {
        let gateway = self.gateway.as_ref().unwrap();
        wait_until(Duration::from_secs(60), "every subscriber's events", || {
            let dropped = gateway.stats().clients_dropped_slow;
            assert_eq!(dropped, 0, "a subscriber was dropped as slow");
            self.received.load(Ordering::Acquire) >= target
        });
    }

    /// Stops every thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(gateway) = self.gateway.take() {
            let _ = gateway.join();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Sleeps in 200 µs steps until `done`, panicking with `what` after `limit`.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A tungstenite client on `/market/ws` that has sent `subscribe`, on a non-blocking socket.
fn subscriber(addr: SocketAddr, subscribe: &str) -> WebSocket<MioStream> {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| {
        panic!("connect: {e} (1,000 subscribers need about 2,100 file descriptors: ulimit -n)")
    });
    let (handshake, _) =
        tungstenite::client(format!("ws://{addr}/market/ws"), stream).expect("handshake");
    // The bare path sends nothing after the handshake, so nothing is left in tungstenite's
    // buffer: the same connection continues as a raw socket on mio.
    let socket = handshake.get_ref().try_clone().expect("clone");
    drop(handshake);
    socket.set_nodelay(true).unwrap();
    socket.set_nonblocking(true).unwrap();
    let mut ws = WebSocket::from_raw_socket(MioStream::from_std(socket), Role::Client, None);
    ws.send(Message::text(subscribe)).expect("SUBSCRIBE");
    ws
}

/// Reads every client of a group as its socket becomes readable, counting text messages.
fn read_all(mut clients: Vec<WebSocket<MioStream>>, received: &AtomicU64, stop: &AtomicBool) {
    let mut poll = Poll::new().expect("poll");
    for (i, ws) in clients.iter_mut().enumerate() {
        poll.registry()
            .register(ws.get_mut(), Token(i), Interest::READABLE)
            .expect("register");
    }
    let mut events = Events::with_capacity(1024);
    while !stop.load(Ordering::Relaxed) {
        if poll
            .poll(&mut events, Some(Duration::from_millis(50)))
            .is_err()
        {
            continue;
        }
        let mut read = 0;
        for event in &events {
            let ws = &mut clients[event.token().0];
            loop {
                match ws.read() {
                    Ok(Message::Text(_)) => read += 1,
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::WouldBlock =>
                    {
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        received.fetch_add(read, Ordering::AcqRel);
    }
}
