//! The gateway's counters, shared with whoever holds its handle and rendered at `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of the gateway's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// Connections open now (HTTP and WebSocket).
    pub clients: u64,
    /// Of those, connections speaking WebSocket.
    pub ws_clients: u64,
    /// Connections accepted since start.
    pub clients_accepted: u64,
    /// Connections closed at once because `max_clients` were open.
    pub clients_rejected: u64,
    /// Clients disconnected because their unsent output (events, replies or snapshots) would
    /// pass `max_write_buffer`.
    pub clients_dropped_slow: u64,
    /// Clients disconnected for breaking the protocol: a malformed HTTP request or WebSocket
    /// frame, or more unconsumed input than a request may take.
    pub clients_dropped_protocol: u64,
    /// Clients disconnected on a socket error.
    pub clients_dropped_error: u64,
    /// Connections that ended normally: closed by the peer, by a WebSocket close, or after the
    /// last response of a `Connection: close` request or a refused handshake.
    pub clients_closed: u64,
    /// Streams subscribed now, over all WebSocket clients.
    pub subscriptions: u64,
    /// Kline events encoded (once each, whatever the number of subscribers).
    pub events_encoded: u64,
    /// Kline events appended to client buffers (one per subscriber; snapshots included).
    pub events_sent: u64,
    /// Bytes written to client sockets (events, replies, responses).
    pub bytes_sent: u64,
    /// HTTP requests answered (REST and handshakes).
    pub http_requests: u64,
    /// HTTP requests answered with an error status (4xx).
    pub http_requests_rejected: u64,
    /// WebSocket request frames answered.
    pub ws_requests: u64,
    /// WebSocket request frames answered with an error.
    pub ws_requests_rejected: u64,
    /// Rounds of delta pulls requested from the engine.
    pub pulls: u64,
}

/// The live counters behind [`GatewayStats`]; only the gateway thread writes them.
#[derive(Debug, Default)]
pub struct SharedStats {
    pub(super) clients: AtomicU64,
    pub(super) ws_clients: AtomicU64,
    pub(super) clients_accepted: AtomicU64,
    pub(super) clients_rejected: AtomicU64,
    pub(super) clients_dropped_slow: AtomicU64,
    pub(super) clients_dropped_protocol: AtomicU64,
    pub(super) clients_dropped_error: AtomicU64,
    pub(super) clients_closed: AtomicU64,
    pub(super) subscriptions: AtomicU64,
    pub(super) events_encoded: AtomicU64,
    pub(super) events_sent: AtomicU64,
    pub(super) bytes_sent: AtomicU64,
    pub(super) http_requests: AtomicU64,
    pub(super) http_requests_rejected: AtomicU64,
    pub(super) ws_requests: AtomicU64,
    pub(super) ws_requests_rejected: AtomicU64,
    pub(super) pulls: AtomicU64,
}

impl SharedStats {
    /// Reads every counter.
    pub fn snapshot(&self) -> GatewayStats {
        GatewayStats {
            clients: self.clients.load(Relaxed),
            ws_clients: self.ws_clients.load(Relaxed),
            clients_accepted: self.clients_accepted.load(Relaxed),
            clients_rejected: self.clients_rejected.load(Relaxed),
            clients_dropped_slow: self.clients_dropped_slow.load(Relaxed),
            clients_dropped_protocol: self.clients_dropped_protocol.load(Relaxed),
            clients_dropped_error: self.clients_dropped_error.load(Relaxed),
            clients_closed: self.clients_closed.load(Relaxed),
            subscriptions: self.subscriptions.load(Relaxed),
            events_encoded: self.events_encoded.load(Relaxed),
            events_sent: self.events_sent.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            http_requests: self.http_requests.load(Relaxed),
            http_requests_rejected: self.http_requests_rejected.load(Relaxed),
            ws_requests: self.ws_requests.load(Relaxed),
            ws_requests_rejected: self.ws_requests_rejected.load(Relaxed),
            pulls: self.pulls.load(Relaxed),
        }
    }
}

/// Adds `n` to a counter.
pub(super) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
}

/// Takes `n` from a gauge.
pub(super) fn sub(counter: &AtomicU64, n: u64) {
    counter.fetch_sub(n, Relaxed);
}
