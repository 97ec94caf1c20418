//! What each HTTP request gets: a WebSocket handshake for stream paths, REST answers for the
//! rest, Binance-style errors for anything malformed.

use super::client::{Client, Phase};
use super::event_loop::EventLoop;
use super::http::{self, HttpRequest, write_response};
use super::rest::{self, error_body};
use super::stats::add;
use super::ws_frame::write_handshake_response;
use crate::egress::stream_path::StreamPath;

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

impl EventLoop {
    /// Answers the next request in a client's input; false when none is complete yet.
    pub(super) fn handle_http(&mut self, token: usize, client: &mut Client) -> bool {
        let (request, used) = match http::parse_request(&client.input) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return false,
            Err(http::BadRequest) => {
                add(&self.stats.http_requests, 1);
                let body = error_body(-1, "Malformed HTTP request.");
                write_response(client.output(), 400, JSON, &body);
                client.closing = true;
                return false;
            }
        };
        client.input.drain(..used);
        add(&self.stats.http_requests, 1);
        if request.close {
            client.closing = true;
        }
        match request.websocket_key.clone() {
            Some(key) => self.upgrade(token, client, &request, &key),
            None => self.rest(client, &request),
        }
        true
    }

    /// Answers a plain HTTP request.
    fn rest(&self, client: &mut Client, request: &HttpRequest) {
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((&request.target, ""));
        let out = client.output();
        if request.method != "GET" {
            write_response(out, 405, JSON, &error_body(-1, "Only GET is served."));
            return;
        }
        match path {
            "/healthz" => write_response(out, 200, TEXT, b"ok"),
            "/metrics" => match &self.config.metrics {
                Some(render) => {
                    write_response(out, 200, "text/plain; version=0.0.4", render().as_bytes());
                }
                None => write_response(out, 404, TEXT, b"metrics are not enabled"),
            },
            "/fapi/v1/klines" => {
                let (status, body) =
                    rest::klines(query, &self.index, &self.history, self.store.as_ref());
                write_response(out, status, JSON, &body);
            }
            _ => write_response(out, 404, JSON, &error_body(-1, "Not found.")),
        }
    }

    /// Makes the WebSocket handshake on a stream path, or refuses it with 400/404.
    fn upgrade(&mut self, token: usize, client: &mut Client, request: &HttpRequest, key: &[u8]) {
        let refuse = |client: &mut Client, status: u16, msg: &str| {
            write_response(client.output(), status, TEXT, msg.as_bytes());
            client.closing = true;
        };
        if request.method != "GET" || key.is_empty() {
            refuse(
                client,
                400,
                "a WebSocket handshake needs GET and Sec-WebSocket-Key",
            );
            return;
        }
        let path = match StreamPath::parse(&request.target, self.config.max_streams_per_client) {
            Ok(path) => path,
            Err(e) => {
                let status = if e.is_unknown_path() { 404 } else { 400 };
                refuse(client, status, &e.to_string());
                return;
            }
        };
        let mut keys = Vec::with_capacity(path.streams.len());
        for stream in &path.streams {
            match self.slot_of(stream) {
                Ok(slot) => keys.push(slot),
                Err(msg) => {
                    refuse(client, 400, &msg);
                    return;
                }
            }
        }
        write_handshake_response(client.output(), key);
        client.phase = Phase::WebSocket(path.framing);
        for (stream, key) in path.streams.into_iter().zip(keys) {
            self.subscribe(token, client, stream, key);
        }
    }
}
