//! One port, two protocols: an accepted connection's request head decides between a WebSocket
//! handshake and a one-shot REST answer.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tungstenite::protocol::WebSocketConfig;

use super::connection;
use super::http::{self, Peeked, RequestHead};
use super::hub::Hub;
use super::market_api::MarketApi;
use super::rest;
use super::rest_params::RestError;
use super::ws_path::{self, Refusal};

/// Longest a client may take to send its request head and complete the handshake.
const HEAD_TIMEOUT: Duration = Duration::from_secs(2);
/// Client messages are small requests; anything bigger is not a client of this protocol.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Bytes buffered before a write reaches the socket (a flush always writes everything).
const WRITE_BUFFER: usize = 64 * 1024;
/// Bytes a connection may have waiting for a client that does not read before it is dropped as
/// too slow (room for the 2 MiB oversized frame and then some).
const MAX_WRITE_BUFFER: usize = 32 * 1024 * 1024;

/// Serves one accepted TCP connection to its end.
pub(crate) fn handle(hub: Arc<Hub>, stream: TcpStream) {
    // Frames are small and latency is measured: never hold one back to coalesce.
    let _ = stream.set_nodelay(true);
    let deadline = Instant::now() + HEAD_TIMEOUT;
    let head = match http::peek_head(&stream, deadline, || hub.is_stopping()) {
        Ok(Peeked::Head(head)) => head,
        Ok(Peeked::Closed) | Err(_) => return,
        Ok(Peeked::TooLarge) => return refuse(stream, None, 431, "Request head too large."),
        Ok(Peeked::Malformed) => return refuse(stream, None, 400, "Malformed request."),
    };
    if head.websocket {
        websocket(hub, stream, head);
    } else {
        let answer = rest::answer(&hub, &head.method, &head.path, &head.query);
        reply(stream, &head, answer.status, &answer.body);
    }
}

fn websocket(hub: Arc<Hub>, stream: TcpStream, head: RequestHead) {
    let max_streams = hub.config.max_streams_per_connection;
    let api = MarketApi::of(hub.config.market);
    let route = match ws_path::route(&head.path, &head.query, &hub.symbols, max_streams, api) {
        Ok(route) => route,
        Err(Refusal::NotFound) => {
            let msg = format!("No stream endpoint at {}.", head.path);
            return refuse(stream, Some(&head), 404, &msg);
        }
        Err(Refusal::BadStreams(msg)) => return refuse(stream, Some(&head), 400, &msg),
    };
    if stream.set_read_timeout(Some(HEAD_TIMEOUT)).is_err() {
        return;
    }
    let config = WebSocketConfig::default()
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE));
    let ws = match tungstenite::accept_with_config(stream, Some(config)) {
        Ok(ws) => ws,
        Err(e) => {
            log::debug!("sim: WebSocket handshake failed: {e}");
            return;
        }
    };
    if let Err(e) = ws.get_ref().set_nonblocking(true) {
        log::debug!("sim: cannot make a connection non-blocking: {e}");
        return;
    }
    connection::serve(hub, ws, route);
}

/// Answers with a Binance-style error object and closes.
fn refuse(stream: TcpStream, head: Option<&RequestHead>, status: u16, msg: &str) {
    let error = RestError {
        status,
        code: -1000,
        msg: msg.to_string(),
    };
    match head {
        Some(head) => reply(stream, head, status, &error.body()),
        None => {
            let mut stream = stream;
            let _ = http::respond(&mut stream, status, &error.body());
        }
    }
}

/// Consumes the request head, then writes the answer and closes.
fn reply(mut stream: TcpStream, head: &RequestHead, status: u16, body: &[u8]) {
    if http::consume_head(&mut stream, head).is_ok() {
        let _ = http::respond(&mut stream, status, body);
    }
}
