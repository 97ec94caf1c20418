//! One market-stream connection against the loopback test server: ordering, URL, ping/pong,
//! reconnects (close frame, EOF, stale, oversized), rate-limited subscriptions and their
//! replies, make-before-break rotation, stop.

#[path = "support/ws_server.rs"]
mod ws_server;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use klagg::ingress::connection::{
    ConnectionEvent, ConnectionOptions, Control, DisconnectCause, FrameHandler, StreamConnection,
    SubscriptionRequests,
};
use ws_server::{AutoReply, Conn, WsServer, wait_for};

const MS: Duration = Duration::from_millis(1);
const WAIT: Duration = Duration::from_secs(3);

/// Short timings: 20 ms ticks, quick backoff, no rotation or pings unless a test asks.
fn fast() -> ConnectionOptions {
    ConnectionOptions {
        connect_timeout: Duration::from_secs(1),
        read_tick: 20 * MS,
        ping_interval: Duration::from_secs(60),
        stale_timeout: Duration::from_secs(2),
        max_message_bytes: 1 << 20,
        rotate_after: Duration::from_secs(3600),
        subscribe_per_s: 5,
        backoff_min: 20 * MS,
        backoff_max: 200 * MS,
        stable_after: Duration::from_secs(1),
        extra_root_certs: Vec::new(),
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{prefix}{i:04}usdt@aggTrade"))
        .collect()
}

#[derive(Debug, Clone)]
enum Seen {
    Text(String),
    Binary(Vec<u8>),
    Event(ConnectionEvent),
}

enum Command {
    Subscribe(String),
    Unsubscribe(String),
    Stop,
}

/// Records everything into a shared list and applies the test's commands on tick.
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    commands: Receiver<Command>,
}

impl FrameHandler for Recorder {
    fn on_text(&mut self, payload: &[u8]) {
        let text = String::from_utf8_lossy(payload).into_owned();
        self.seen.lock().unwrap().push(Seen::Text(text));
    }

    fn on_binary(&mut self, payload: &[u8]) {
        self.seen
            .lock()
            .unwrap()
            .push(Seen::Binary(payload.to_vec()));
    }

    fn on_event(&mut self, event: &ConnectionEvent) {
        self.seen.lock().unwrap().push(Seen::Event(event.clone()));
    }

    fn on_tick(&mut self, subscriptions: &mut SubscriptionRequests) -> Control {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Subscribe(stream) => subscriptions.subscribe(&stream),
                Command::Unsubscribe(stream) => subscriptions.unsubscribe(&stream),
                Command::Stop => return Control::Stop,
            }
        }
        Control::Continue
    }
}

/// A `StreamConnection` running on its own thread, as the io thread would run it.
struct Client {
    seen: Arc<Mutex<Vec<Seen>>>,
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<StreamConnection>>,
}

impl Client {
    fn start(url: &str, streams: Vec<String>, options: ConnectionOptions) -> Client {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (commands, receiver) = unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let mut handler = Recorder {
            seen: Arc::clone(&seen),
            commands: receiver,
        };
        let flag = Arc::clone(&stop);
        let mut connection = StreamConnection::new(url, streams, options);
        let thread = thread::spawn(move || {
            connection.run(&mut handler, &flag);
            connection
        });
        Client {
            seen,
            commands,
            stop,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn texts(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        let texts = seen.iter().filter_map(|s| match s {
            Seen::Text(t) => Some(t.clone()),
            _ => None,
        });
        texts.collect()
    }

    fn events(&self) -> Vec<ConnectionEvent> {
        let seen = self.seen.lock().unwrap();
        let events = seen.iter().filter_map(|s| match s {
            Seen::Event(e) => Some(e.clone()),
            _ => None,
        });
        events.collect()
    }

    fn count(&self, matches: impl Fn(&ConnectionEvent) -> bool) -> usize {
        self.events().iter().filter(|e| matches(e)).count()
    }

    fn wait_texts(&self, n: usize) -> bool {
        wait_for(|| self.texts().len() >= n, WAIT)
    }

    fn send(&self, command: Command) {
        self.commands.send(command).unwrap();
    }

    /// Sets the stop flag and returns the connection (for its stats) once `run` returned.
    fn stop(mut self) -> StreamConnection {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn connected(server: &WsServer, index: usize) -> Conn {
    server
        .wait_for_connection(index, WAIT)
        .unwrap_or_else(|| panic!("connection {index} not accepted"))
}

#[test]
fn frames_arrive_in_order_and_the_url_carries_the_streams() {
    let server = WsServer::start();
    let streams = names("a", 3);
    let client = Client::start(&server.url("/market/stream"), streams.clone(), fast());
    let conn = connected(&server, 0);
    assert!(
        conn.path().starts_with("/market/stream?streams="),
        "{}",
        conn.path()
    );
    assert_eq!(conn.query_streams(), streams);
    let sent: Vec<String> = (0..200)
        .map(|i| format!(r#"{{"stream":"x","data":{i}}}"#))
        .collect();
    for text in &sent {
        conn.send_text(text).unwrap();
    }
    assert!(client.wait_texts(sent.len()));
    assert_eq!(client.texts(), sent);
    assert!(matches!(
        &client.events()[0],
        ConnectionEvent::Connected { url, attempt: 1 } if url.ends_with(&streams[2])
    ));
    let connection = client.stop();
    assert_eq!(connection.stats().text_frames, 200);
    assert_eq!(connection.streams(), streams);
}

#[test]
fn a_binary_frame_goes_to_on_binary() {
    let server = WsServer::start();
    let client = Client::start(&server.url("/s"), names("b", 1), fast());
    let conn = connected(&server, 0);
    conn.send_binary(&[0, 1, 2, 255]).unwrap();
    conn.send_text("after").unwrap();
    assert!(client.wait_texts(1));
    let seen: Vec<Seen> = client
        .seen()
        .into_iter()
        .filter(|s| !matches!(s, Seen::Event(_)))
        .collect();
    assert!(matches!(&seen[0], Seen::Binary(b) if b == &[0, 1, 2, 255]));
    assert_eq!(client.stop().stats().binary_frames, 1);
}

#[test]
fn a_server_ping_gets_a_pong_while_idle() {
    let server = WsServer::start();
    // A long tick: the pong must not wait for the next read to time out.
    let options = ConnectionOptions {
        read_tick: Duration::from_millis(500),
        ..fast()
    };
    let client = Client::start(&server.url("/s"), names("p", 1), options);
    let conn = connected(&server, 0);
    thread::sleep(50 * MS);
    let sent_at = Instant::now();
    conn.send_ping(b"hb-1").unwrap();
    assert!(wait_for(|| conn.pongs() == [b"hb-1".to_vec()], WAIT));
    assert!(
        sent_at.elapsed() < Duration::from_millis(400),
        "{:?}",
        sent_at.elapsed()
    );
    let stats = client.stop().stats().clone();
    assert_eq!((stats.pings_received, stats.pongs_sent), (1, 1));
}

#[test]
fn our_ping_goes_out_every_interval_and_pongs_keep_the_connection_alive() {
    let server = WsServer::start();
    let options = ConnectionOptions {
        ping_interval: 100 * MS,
        stale_timeout: 300 * MS,
        ..fast()
    };
    let client = Client::start(&server.url("/s"), names("q", 1), options);
    let conn = connected(&server, 0);
    // No data at all: only the pongs to our pings show the connection is alive.
    thread::sleep(Duration::from_millis(750));
    let pings = conn.client_pings();
    assert!((4..=9).contains(&pings), "{pings} pings in 750 ms");
    assert_eq!(server.connection_count(), 1, "pongs must count as liveness");
    let stats = client.stop().stats().clone();
    assert!(
        stats.pings_sent >= 4 && stats.pongs_received >= 4,
        "{stats:?}"
    );
    assert!(
        stats
            .last_ping_rtt
            .is_some_and(|rtt| rtt < Duration::from_millis(300))
    );
}

#[test]
fn a_server_close_frame_reconnects_and_frames_continue() {
    let server = WsServer::start();
    let streams = names("c", 2);
    let client = Client::start(&server.url("/s"), streams.clone(), fast());
    let first = connected(&server, 0);
    first.send_text("one").unwrap();
    assert!(client.wait_texts(1));
    first.close().unwrap();
    let second = connected(&server, 1);
    assert_eq!(second.query_streams(), streams);
    second.send_text("two").unwrap();
    assert!(client.wait_texts(2));
    assert_eq!(client.texts(), ["one", "two"]);
    let disconnect = DisconnectCause::ServerClosed;
    assert!(
        client
            .events()
            .contains(&ConnectionEvent::Disconnected { cause: disconnect })
    );
    assert_eq!(
        client.count(|e| matches!(e, ConnectionEvent::ReconnectScheduled { .. })),
        1
    );
    assert!(
        wait_for(|| !first.is_open(), WAIT),
        "close handshake completed"
    );
    assert_eq!(client.stop().stats().disconnects.server_closed, 1);
}

#[test]
fn a_socket_closed_without_close_frame_reconnects() {
    let server = WsServer::start();
    let client = Client::start(&server.url("/s"), names("d", 1), fast());
    let first = connected(&server, 0);
    first.send_text("one").unwrap();
    assert!(client.wait_texts(1));
    first.drop_socket();
    let second = connected(&server, 1);
    second.send_text("two").unwrap();
    assert!(client.wait_texts(2));
    assert_eq!(client.texts(), ["one", "two"]);
    let eof = ConnectionEvent::Disconnected {
        cause: DisconnectCause::Eof,
    };
    assert!(client.events().contains(&eof), "{:?}", client.events());
    assert_eq!(client.stop().stats().disconnects.eof, 1);
}

#[test]
fn a_silent_server_is_detected_as_stale_and_replaced() {
    let server = WsServer::start();
    let options = ConnectionOptions {
        ping_interval: 100 * MS,
        stale_timeout: 300 * MS,
        ..fast()
    };
    let client = Client::start(&server.url("/s"), names("e", 1), options);
    let first = connected(&server, 0);
    first.send_text("one").unwrap();
    assert!(client.wait_texts(1));
    let silent_at = Instant::now();
    first.go_silent();
    let second = connected(&server, 1);
    let detected = silent_at.elapsed();
    assert!(detected >= 280 * MS && detected < 1500 * MS, "{detected:?}");
    second.send_text("two").unwrap();
    assert!(client.wait_texts(2));
    let stale = ConnectionEvent::Disconnected {
        cause: DisconnectCause::Stale,
    };
    assert!(client.events().contains(&stale));
    assert_eq!(client.stop().stats().disconnects.stale, 1);
}

#[test]
fn an_oversized_message_fails_the_socket_without_panicking() {
    let server = WsServer::start();
    let options = ConnectionOptions {
        max_message_bytes: 1024,
        ..fast()
    };
    let client = Client::start(&server.url("/s"), names("f", 1), options);
    let first = connected(&server, 0);
    first.send_text(&"x".repeat(2000)).unwrap();
    let second = connected(&server, 1);
    second.send_text("small").unwrap();
    assert!(client.wait_texts(1));
    assert_eq!(client.texts(), ["small"]);
    assert_eq!(client.stop().stats().disconnects.too_large, 1);
}

/// Every window of `window` holds at most `limit` of the (sorted) instants.
fn max_in_window(times: &[Instant], window: Duration) -> usize {
    let mut best = 0;
    for (i, start) in times.iter().enumerate() {
        let inside = times[i..]
            .iter()
            .take_while(|t| **t - *start < window)
            .count();
        best = best.max(inside);
    }
    best
}

#[test]
fn subscriptions_are_rate_limited_and_replies_are_consumed() {
    let server = WsServer::start();
    server.set_auto_reply(AutoReply::Ack);
    let initial = names("g", 6);
    let client = Client::start(&server.url("/s"), initial.clone(), fast());
    let conn = connected(&server, 0);
    // Alternating methods cannot be batched: 12 messages, at most 5 per second.
    let added = names("h", 6);
    for (new, old) in added.iter().zip(&initial) {
        client.send(Command::Subscribe(new.clone()));
        client.send(Command::Unsubscribe(old.clone()));
    }
    assert!(wait_for(
        || conn.received().len() >= 12,
        Duration::from_secs(4)
    ));
    let received = conn.received();
    let times: Vec<Instant> = received.iter().map(|r| r.at).collect();
    // 0.9 s leaves room for scheduling jitter between the client's send and the server's read.
    assert!(max_in_window(&times, 900 * MS) <= 5, "{received:?}");
    assert!(
        times[11] - times[0] >= 1900 * MS,
        "{:?}",
        times[11] - times[0]
    );
    for (i, request) in received.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(&request.text).unwrap();
        let method = if i % 2 == 0 {
            "SUBSCRIBE"
        } else {
            "UNSUBSCRIBE"
        };
        let stream = if i % 2 == 0 {
            &added[i / 2]
        } else {
            &initial[i / 2]
        };
        assert_eq!(value["method"], method);
        assert_eq!(value["params"], serde_json::json!([stream]));
    }
    let acked = |e: &ConnectionEvent| {
        matches!(
            e,
            ConnectionEvent::SubscribeAcked { streams: 1, .. }
                | ConnectionEvent::UnsubscribeAcked { streams: 1, .. }
        )
    };
    assert!(wait_for(|| client.count(acked) == 12, WAIT));
    assert!(client.texts().is_empty(), "replies must not reach on_text");
    let connection = client.stop();
    assert_eq!(connection.streams(), added);
    let stats = connection.stats();
    assert_eq!(
        (stats.subscribe_messages, stats.unsubscribe_messages),
        (6, 6)
    );
    assert_eq!(stats.replies_acked, 12);
}

#[test]
fn a_rejected_subscribe_is_reported_and_dropped() {
    let server = WsServer::start();
    server.set_auto_reply(AutoReply::Error {
        code: 2,
        msg: "Invalid request".into(),
    });
    let client = Client::start(&server.url("/s"), names("i", 1), fast());
    let conn = connected(&server, 0);
    client.send(Command::Subscribe("bad@nothing".into()));
    let failed = |e: &ConnectionEvent| matches!(e, ConnectionEvent::SubscribeFailed { code: 2, msg, .. } if msg == "Invalid request");
    assert!(wait_for(|| client.count(failed) == 1, WAIT));
    conn.send_text("data").unwrap();
    assert!(client.wait_texts(1));
    assert_eq!(client.texts(), ["data"]);
    let connection = client.stop();
    assert_eq!(connection.streams(), names("i", 1));
    assert_eq!(connection.stats().replies_failed, 1);
}

#[test]
fn streams_beyond_the_url_are_subscribed_and_carried_across_reconnects() {
    let server = WsServer::start();
    server.set_auto_reply(AutoReply::Ack);
    let streams = names("j", 600);
    let client = Client::start(&server.url("/market/stream"), streams.clone(), fast());
    let first = connected(&server, 0);
    let in_url = first.query_streams();
    assert!(in_url.len() > 100 && in_url.len() < 600, "{}", in_url.len());
    assert_eq!(in_url, streams[..in_url.len()]);
    let subscribed = |conn: &Conn| -> Vec<String> {
        let params = conn.received().into_iter().flat_map(|r| {
            let value: serde_json::Value = serde_json::from_str(&r.text).unwrap();
            let params = value["params"].as_array().cloned().unwrap_or_default();
            params.into_iter().map(|p| p.as_str().unwrap().to_string())
        });
        params.collect()
    };
    let rest = streams[in_url.len()..].to_vec();
    assert!(wait_for(|| subscribed(&first) == rest, WAIT));
    // A stream added at run time rides in the next URL... if it fits; here it is subscribed.
    client.send(Command::Subscribe("late@aggTrade".into()));
    assert!(wait_for(
        || subscribed(&first).contains(&"late@aggTrade".into()),
        WAIT
    ));
    first.drop_socket();
    let second = connected(&server, 1);
    assert_eq!(second.query_streams(), in_url);
    let mut expected = rest.clone();
    expected.push("late@aggTrade".into());
    assert!(wait_for(|| subscribed(&second) == expected, WAIT));
    drop(client);
}

#[test]
fn a_stream_added_at_run_time_is_in_the_reconnect_url() {
    let server = WsServer::start();
    server.set_auto_reply(AutoReply::Ack);
    let client = Client::start(&server.url("/s"), names("k", 2), fast());
    let first = connected(&server, 0);
    client.send(Command::Subscribe("new@aggTrade".into()));
    client.send(Command::Unsubscribe(names("k", 1)[0].clone()));
    assert!(wait_for(|| first.received().len() == 2, WAIT));
    first.close().unwrap();
    let second = connected(&server, 1);
    assert_eq!(
        second.query_streams(),
        ["k0001usdt@aggTrade", "new@aggTrade"]
    );
    thread::sleep(100 * MS);
    assert!(second.received().is_empty(), "everything fits in the url");
}

#[test]
fn rotation_is_make_before_break_and_loses_no_frame() {
    let server = WsServer::start();
    server.set_auto_reply(AutoReply::Ack);
    // More streams than the URL holds: the replacement must SUBSCRIBE the rest before it
    // takes over.
    let streams = names("r", 450);
    let options = ConnectionOptions {
        rotate_after: 300 * MS,
        ..fast()
    };
    let client = Client::start(&server.url("/market/stream"), streams, options);
    connected(&server, 0);
    let rotated = |c: &Client| c.count(|e| *e == ConnectionEvent::Rotated);
    // Feed every open connection with frames naming their connection, as an exchange would
    // (the same trades on both during the overlap, here told apart to check nothing is lost).
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut n = 0;
    while rotated(&client) < 2 && Instant::now() < deadline {
        for index in 0..server.connection_count() {
            let conn = server.connection(index).unwrap();
            if conn.is_open() {
                let _ = conn.send_text(&format!("c{index}-{n}"));
            }
        }
        n += 1;
        thread::sleep(5 * MS);
    }
    assert!(rotated(&client) >= 2, "{:?}", client.events());
    let sent: Vec<String> = (0..server.connection_count())
        .flat_map(|i| server.connection(i).unwrap().sent_texts())
        .collect();
    assert!(wait_for(|| client.texts().len() >= sent.len(), WAIT));
    let received: HashSet<String> = client.texts().into_iter().collect();
    let lost: Vec<&String> = sent.iter().filter(|s| !received.contains(*s)).collect();
    assert!(lost.is_empty(), "lost {lost:?}");
    for k in 0..2 {
        let (old, new) = (connected(&server, k), connected(&server, k + 1));
        let closed = old
            .client_closed_at()
            .expect("old connection closed by the client");
        assert!(
            new.accepted_at() < closed,
            "rotation {k} was not make-before-break"
        );
        let subscribed = new
            .received()
            .first()
            .map(|r| r.at)
            .expect("rest subscribed");
        assert!(
            subscribed < closed,
            "replacement took over before carrying every stream"
        );
        assert_eq!(new.query_streams(), old.query_streams());
    }
    let lifecycle: Vec<ConnectionEvent> = client
        .events()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                ConnectionEvent::RotationStarted
                    | ConnectionEvent::Rotated
                    | ConnectionEvent::Disconnected { .. }
            )
        })
        .collect();
    let rotation = [
        ConnectionEvent::RotationStarted,
        ConnectionEvent::Disconnected {
            cause: DisconnectCause::Rotation,
        },
        ConnectionEvent::Rotated,
    ];
    assert_eq!(lifecycle[..3], rotation, "{lifecycle:?}");
    assert_eq!(lifecycle[3..6], rotation, "{lifecycle:?}");
    let stats = client.stop().stats().clone();
    assert!(
        stats.rotations >= 2 && stats.disconnects.failures() == 0,
        "{stats:?}"
    );
}

#[test]
fn the_stop_flag_ends_run_within_a_read_tick() {
    let server = WsServer::start();
    let client = Client::start(&server.url("/s"), names("s", 1), fast());
    let conn = connected(&server, 0);
    thread::sleep(50 * MS);
    let asked = Instant::now();
    let connection = client.stop();
    let took = asked.elapsed();
    assert!(took < 150 * MS, "{took:?}");
    assert_eq!(connection.stats().disconnects.stopped, 1);
    assert!(
        wait_for(|| conn.client_closed_at().is_some(), WAIT),
        "close frame sent"
    );
}

#[test]
fn the_stop_flag_ends_a_reconnect_wait_and_the_handler_can_stop_too() {
    // Nothing listens: the client sits in backoff.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let options = ConnectionOptions {
        backoff_min: Duration::from_secs(10),
        backoff_max: Duration::from_secs(10),
        ..fast()
    };
    let client = Client::start(&format!("ws://127.0.0.1:{port}/s"), names("t", 1), options);
    let scheduled = |e: &ConnectionEvent| matches!(e, ConnectionEvent::ReconnectScheduled { .. });
    assert!(wait_for(|| client.count(scheduled) == 1, WAIT));
    let asked = Instant::now();
    let connection = client.stop();
    assert!(asked.elapsed() < 150 * MS, "{:?}", asked.elapsed());
    assert_eq!(connection.stats().connect_failures, 1);

    let server = WsServer::start();
    let client = Client::start(&server.url("/s"), names("u", 1), fast());
    connected(&server, 0);
    client.send(Command::Stop);
    let stopped = ConnectionEvent::Disconnected {
        cause: DisconnectCause::Stopped,
    };
    assert!(wait_for(|| client.events().contains(&stopped), WAIT));
}

/// Real Binance over TLS (needs internet, so ignored by default):
/// `cargo test --test connection -- --ignored live_binance`.
#[test]
#[ignore = "needs internet"]
fn live_binance_usdm_delivers_over_tls() {
    let options = ConnectionOptions {
        connect_timeout: Duration::from_secs(10),
        ..ConnectionOptions::default()
    };
    let client = Client::start(
        "wss://fstream.binance.com/market/stream",
        vec!["btcusdt@aggTrade".into()],
        options,
    );
    assert!(
        wait_for(|| !client.texts().is_empty(), Duration::from_secs(30)),
        "{:?}",
        client.events()
    );
    assert!(client.texts()[0].starts_with(r#"{"stream":"btcusdt@aggTrade""#));
}
