//! A loopback WebSocket server for integration tests, controlled from the test.
//!
//! Include it with `#[path = "support/ws_server.rs"] mod ws_server;`. [`WsServer::start`] binds
//! `127.0.0.1:0` and accepts in a background thread; every connection gets its own thread and a
//! [`Conn`] handle through which the test sends frames, pings, closes (with or without a close
//! frame), silences the connection and reads what the client sent. Sends are synchronous: when
//! `send_text` returns `Ok`, the frame is in the kernel. Every wait is bounded; dropping the
//! server stops and joins all its threads (within ~[`POLL`]).
//!
//! How a connection thread waits without spinning while the test can still write at any time:
//! it blocks in `peek` on the TCP socket (read timeout [`POLL`]) *without* holding the
//! WebSocket's lock, and only when bytes are there takes the lock and reads everything available
//! in non-blocking mode.
#![allow(dead_code)]

use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tungstenite::handshake::server::{Callback, ErrorResponse, Request, Response};
use tungstenite::{Error, HandshakeError, Message, WebSocket};

/// How long a connection thread blocks waiting for client bytes before re-checking its flags.
pub const POLL: Duration = Duration::from_millis(10);
/// Bound on a client's HTTP upgrade request.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// Polls `condition` every 2 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_for(mut condition: impl FnMut() -> bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// How the server answers client text messages that carry an `"id"` (SUBSCRIBE and friends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoReply {
    /// No answer.
    Off,
    /// `{"result":null,"id":N}`.
    Ack,
    /// `{"code":CODE,"msg":MSG,"id":N}`.
    Error {
        /// Error code.
        code: i64,
        /// Error text.
        msg: String,
    },
}

/// A text message the client sent, with its arrival time.
#[derive(Debug, Clone)]
pub struct Received {
    /// When the server read it.
    pub at: Instant,
    /// The text.
    pub text: String,
}

/// The server. Dropping it closes every connection and joins every thread.
pub struct WsServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

struct Shared {
    shutdown: AtomicBool,
    tcp_accepts: AtomicUsize,
    connections: Mutex<Vec<Conn>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    auto_reply: Mutex<AutoReply>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide the state from the assertions that follow.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl WsServer {
    /// Binds `127.0.0.1:0` and starts accepting (auto-reply off).
    pub fn start() -> WsServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            shutdown: AtomicBool::new(false),
            tcp_accepts: AtomicUsize::new(0),
            connections: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
            auto_reply: Mutex::new(AutoReply::Off),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name("ws-server-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn accept thread");
        WsServer {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `ws://127.0.0.1:PORT` followed by `path` (e.g. `/market/stream`).
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Sets how client requests with an id are answered (applies to every connection).
    pub fn set_auto_reply(&self, reply: AutoReply) {
        *lock(&self.shared.auto_reply) = reply;
    }

    /// WebSocket connections accepted so far (completed handshakes).
    pub fn connection_count(&self) -> usize {
        lock(&self.shared.connections).len()
    }

    /// TCP connections accepted so far, handshake or not.
    pub fn tcp_accepts(&self) -> usize {
        self.shared.tcp_accepts.load(Ordering::Relaxed)
    }

    /// The `index`-th connection (0 = first), if accepted.
    pub fn connection(&self, index: usize) -> Option<Conn> {
        lock(&self.shared.connections).get(index).cloned()
    }

    /// The latest connection, if any.
    pub fn latest(&self) -> Option<Conn> {
        lock(&self.shared.connections).last().cloned()
    }

    /// Waits up to `timeout` for the `index`-th connection.
    pub fn wait_for_connection(&self, index: usize, timeout: Duration) -> Option<Conn> {
        let mut found = None;
        wait_for(
            || {
                found = self.connection(index);
                found.is_some()
            },
            timeout,
        );
        found
    }

    /// Sends a text frame on the latest connection.
    pub fn send_text(&self, text: &str) -> Result<(), String> {
        self.latest().ok_or("no connection")?.send_text(text)
    }
}

impl Drop for WsServer {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Relaxed);
        // The accept thread is blocked in accept(): a connection of our own wakes it.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
        let threads: Vec<JoinHandle<()>> = lock(&self.shared.threads).drain(..).collect();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.shutdown.load(Ordering::Relaxed) {
            return;
        }
        let Ok(stream) = stream else { continue };
        shared.tcp_accepts.fetch_add(1, Ordering::Relaxed);
        let conn_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("ws-server-conn".into())
            .spawn(move || serve(stream, conn_shared));
        if let Ok(handle) = spawned {
            lock(&shared.threads).push(handle);
        }
    }
}

/// A handle on one server-side connection; cheap to clone.
#[derive(Clone)]
pub struct Conn(Arc<ConnState>);

struct ConnState {
    index: usize,
    path: String,
    accepted_at: Instant,
    ws: Mutex<WebSocket<TcpStream>>,
    tcp: TcpStream,
    open: AtomicBool,
    silent: AtomicBool,
    received: Mutex<Vec<Received>>,
    sent: Mutex<Vec<String>>,
    pongs: Mutex<Vec<Vec<u8>>>,
    client_pings: AtomicUsize,
    client_closed_at: Mutex<Option<Instant>>,
    ended_at: Mutex<Option<Instant>>,
}

/// Keeps the request target (path and query) the client asked for.
struct RecordTarget<'a>(&'a mut String);

impl Callback for RecordTarget<'_> {
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse> {
        *self.0 = request.uri().to_string();
        Ok(response)
    }
}

fn handshake(tcp: TcpStream) -> Option<(WebSocket<TcpStream>, String)> {
    tcp.set_read_timeout(Some(POLL)).ok()?;
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    let mut path = String::new();
    let mut attempt = tungstenite::accept_hdr(tcp, RecordTarget(&mut path));
    let ws = loop {
        match attempt {
            Ok(ws) => break ws,
            Err(HandshakeError::Interrupted(mid)) if Instant::now() < deadline => {
                attempt = mid.handshake();
            }
            Err(_) => return None,
        }
    };
    Some((ws, path))
}

fn serve(tcp: TcpStream, shared: Arc<Shared>) {
    let Ok(peeker) = tcp.try_clone() else { return };
    let Some((ws, path)) = handshake(tcp) else {
        return;
    };
    let conn = {
        let mut connections = lock(&shared.connections);
        let conn = Conn(Arc::new(ConnState {
            index: connections.len(),
            path,
            accepted_at: Instant::now(),
            ws: Mutex::new(ws),
            tcp: peeker,
            open: AtomicBool::new(true),
            silent: AtomicBool::new(false),
            received: Mutex::new(Vec::new()),
            sent: Mutex::new(Vec::new()),
            pongs: Mutex::new(Vec::new()),
            client_pings: AtomicUsize::new(0),
            client_closed_at: Mutex::new(None),
            ended_at: Mutex::new(None),
        }));
        connections.push(conn.clone());
        conn
    };
    let state = &conn.0;
    let mut probe = [0u8; 1];
    while state.open.load(Ordering::Relaxed) && !shared.shutdown.load(Ordering::Relaxed) {
        if state.silent.load(Ordering::Relaxed) {
            thread::sleep(POLL);
            continue;
        }
        match state.tcp.peek(&mut probe) {
            Ok(_) => {
                if !state.read_available(&shared) {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    state.end();
}

impl ConnState {
    /// Reads every complete message available; false once the connection is over.
    fn read_available(&self, shared: &Shared) -> bool {
        let mut ws = lock(&self.ws);
        if self.tcp.set_nonblocking(true).is_err() {
            return false;
        }
        let mut replies = Vec::new();
        let alive = loop {
            match ws.read() {
                Ok(Message::Text(text)) => {
                    let text = text.as_str().to_string();
                    if let Some(reply) = auto_reply(&lock(&shared.auto_reply), &text) {
                        replies.push(reply);
                    }
                    lock(&self.received).push(Received {
                        at: Instant::now(),
                        text,
                    });
                }
                Ok(Message::Ping(_)) => {
                    self.client_pings.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Message::Pong(payload)) => lock(&self.pongs).push(payload.to_vec()),
                Ok(Message::Close(_)) => {
                    *lock(&self.client_closed_at) = Some(Instant::now());
                }
                Ok(_) => {}
                Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => break true,
                Err(_) => break false,
            }
        };
        // Back to blocking before writing: the test's sends expect whole writes.
        if !alive || self.tcp.set_nonblocking(false).is_err() {
            return false;
        }
        for reply in replies {
            if ws.send(Message::text(reply)).is_err() {
                return false;
            }
        }
        // Pongs and close replies tungstenite queued while reading.
        ws.flush().is_ok()
    }

    fn end(&self) {
        self.open.store(false, Ordering::Relaxed);
        let _ = self.tcp.shutdown(Shutdown::Both);
        lock(&self.ended_at).get_or_insert_with(Instant::now);
    }

    fn send(&self, message: Message) -> Result<(), String> {
        if !self.open.load(Ordering::Relaxed) {
            return Err("connection closed".into());
        }
        lock(&self.ws).send(message).map_err(|e| e.to_string())
    }
}

fn auto_reply(mode: &AutoReply, request: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(request).ok()?;
    let id = value.get("id")?.as_u64()?;
    match mode {
        AutoReply::Off => None,
        AutoReply::Ack => Some(format!(r#"{{"result":null,"id":{id}}}"#)),
        AutoReply::Error { code, msg } => {
            let reply = serde_json::json!({ "code": code, "msg": msg, "id": id });
            Some(reply.to_string())
        }
    }
}

impl Conn {
    /// Accept order, from 0.
    pub fn index(&self) -> usize {
        self.0.index
    }

    /// The request target as the client sent it, path and query (`/market/stream?streams=a/b`).
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// The streams named in the `streams=` query parameter, in order.
    pub fn query_streams(&self) -> Vec<String> {
        let query = self.0.path.split_once('?').map_or("", |(_, q)| q);
        query
            .split('&')
            .filter_map(|pair| pair.strip_prefix("streams="))
            .flat_map(|list| list.split('/'))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// When the handshake completed.
    pub fn accepted_at(&self) -> Instant {
        self.0.accepted_at
    }

    /// Sends a text frame; `Ok` once it is written to the socket.
    pub fn send_text(&self, text: &str) -> Result<(), String> {
        self.0.send(Message::text(text))?;
        lock(&self.0.sent).push(text.to_string());
        Ok(())
    }

    /// Sends a binary frame.
    pub fn send_binary(&self, bytes: &[u8]) -> Result<(), String> {
        self.0.send(Message::binary(bytes.to_vec()))
    }

    /// Sends a ping; see [`Conn::pongs`] for the answer.
    pub fn send_ping(&self, payload: &[u8]) -> Result<(), String> {
        self.0.send(Message::Ping(payload.to_vec().into()))
    }

    /// Payloads of the pongs the client sent, in order.
    pub fn pongs(&self) -> Vec<Vec<u8>> {
        lock(&self.0.pongs).clone()
    }

    /// Pings the client sent (each answered by a pong).
    pub fn client_pings(&self) -> usize {
        self.0.client_pings.load(Ordering::Relaxed)
    }

    /// Text messages the client sent, in order, with arrival times.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.0.received).clone()
    }

    /// Text frames successfully sent to the client, in order.
    pub fn sent_texts(&self) -> Vec<String> {
        lock(&self.0.sent).clone()
    }

    /// Sends a close frame; the connection thread completes the close handshake and then
    /// closes the TCP socket.
    pub fn close(&self) -> Result<(), String> {
        self.0.send(Message::Close(None))
    }

    /// Closes the TCP socket at once, without a close frame (the client sees EOF).
    pub fn drop_socket(&self) {
        self.0.end();
    }

    /// Stops reading and writing (pings go unanswered); the socket stays open.
    pub fn go_silent(&self) {
        self.0.silent.store(true, Ordering::Relaxed);
    }

    /// Whether the connection is still up.
    pub fn is_open(&self) -> bool {
        self.0.open.load(Ordering::Relaxed)
    }

    /// When the client's close frame arrived, if it sent one.
    pub fn client_closed_at(&self) -> Option<Instant> {
        *lock(&self.0.client_closed_at)
    }

    /// When the connection ended, if it has.
    pub fn ended_at(&self) -> Option<Instant> {
        *lock(&self.0.ended_at)
    }
}
