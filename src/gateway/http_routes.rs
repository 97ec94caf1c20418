//! What each HTTP request gets: a WebSocket handshake for stream paths, REST answers for the
//! rest, Binance-style errors for anything malformed.

use super::client::{Client, Phase};
use super::event_loop::EventLoop;
use super::exchange_info::exchange_info;
use super::http::{self, HttpRequest};
use super::rest::{self, error_body};
use super::rest_api::RestApi;
use super::stats::{SharedStats, add};
use super::ws_frame::write_handshake_response;
use crate::egress::stream_path::StreamPath;
use crate::pipeline::now_ms;

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";
const PROMETHEUS: &str = "text/plain; version=0.0.4";

/// Writes a response, counting error statuses as rejected requests.
fn respond(stats: &SharedStats, out: &mut Vec<u8>, status: u16, content_type: &str, body: &[u8]) {
    if status >= 400 {
        add(&stats.http_requests_rejected, 1);
    }
    http::write_response(out, status, content_type, body);
}

impl EventLoop {
    /// Answers the next request in a client's input; false when none is complete yet.
    pub(super) fn handle_http(&mut self, token: usize, client: &mut Client) -> bool {
        let (request, used) = match http::parse_request(&client.input) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return false,
            Err(http::BadRequest) => {
                add(&self.stats.http_requests, 1);
                let body = error_body(-1, "Malformed HTTP request.");
                respond(&self.stats, client.output(), 400, JSON, &body);
                client.close_for_protocol();
                return false;
            }
        };
        client.input.drain(..used);
        add(&self.stats.http_requests, 1);
        // A symbol listed since the last pull is served (REST, handshake) at once.
        self.index.refresh();
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
        let stats = &self.stats;
        let out = client.output();
        if request.method != "GET" {
            let msg = format!("Method {} is not served; only GET is.", request.method);
            let body = error_body(-1, &msg);
            respond(stats, out, 405, JSON, &body);
            return;
        }
        let api = RestApi::of(self.config.market);
        match path {
            "/healthz" => respond(stats, out, 200, TEXT, b"ok"),
            "/metrics" => respond(stats, out, 200, PROMETHEUS, self.metrics().as_bytes()),
            _ if path == api.klines => {
                let (status, body) = rest::klines(
                    query,
                    &self.index,
                    &self.history,
                    self.store.as_ref(),
                    api.max_klines_limit,
                );
                respond(stats, out, status, JSON, &body);
            }
            _ if path == api.exchange_info => {
                let body = exchange_info(
                    self.config.market,
                    &self.index,
                    self.config.listing.as_ref(),
                    now_ms(),
                );
                respond(stats, out, 200, JSON, &body);
            }
            _ if path == api.time => {
                let body = format!("{{\"serverTime\":{}}}", now_ms());
                respond(stats, out, 200, JSON, body.as_bytes());
            }
            _ if path == api.ping => respond(stats, out, 200, JSON, b"{}"),
            _ => {
                let msg = format!(
                    "Not found: {path} is not served here; this {} gateway serves {}.",
                    self.config.market,
                    api.paths()
                );
                respond(stats, out, 404, JSON, &error_body(-1, &msg));
            }
        }
    }

    /// The `/metrics` text: the engine's (when configured), then the gateway's own counters.
    fn metrics(&self) -> String {
        let mut text = self
            .config
            .metrics
            .as_ref()
            .map(|f| f())
            .unwrap_or_default();
        crate::metrics::render_gateway(&mut text, &self.stats.snapshot());
        text
    }

    /// Makes the WebSocket handshake on a stream path, or refuses it with 400/404.
    fn upgrade(&mut self, token: usize, client: &mut Client, request: &HttpRequest, key: &[u8]) {
        let stats = &self.stats;
        let refuse = |client: &mut Client, status: u16, msg: &str| {
            respond(stats, client.output(), status, TEXT, msg.as_bytes());
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
        add(&self.stats.ws_clients, 1);
        for (stream, key) in path.streams.into_iter().zip(keys) {
            self.subscribe(token, client, stream, key);
        }
    }
}
