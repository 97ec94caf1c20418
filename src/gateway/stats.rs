//! The gateway's counters, shared with whoever holds its handle.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of the gateway's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// Connections open now (HTTP and WebSocket).
    pub clients: u64,
    /// Connections accepted since start.
    pub clients_accepted: u64,
    /// Connections closed at once because `max_clients` were open.
    pub clients_rejected: u64,
    /// Clients disconnected because their unsent output passed `max_write_buffer`.
    pub clients_dropped_slow: u64,
    /// Kline events encoded (once each, whatever the number of subscribers).
    pub events_encoded: u64,
    /// Kline events appended to client buffers (one per subscriber).
    pub events_sent: u64,
    /// HTTP requests answered (REST and refused handshakes).
    pub http_requests: u64,
    /// WebSocket request frames answered.
    pub ws_requests: u64,
    /// Delta pulls made from the engine.
    pub pulls: u64,
}

/// The live counters behind [`GatewayStats`].
#[derive(Debug, Default)]
pub struct SharedStats {
    pub(super) clients: AtomicU64,
    pub(super) clients_accepted: AtomicU64,
    pub(super) clients_rejected: AtomicU64,
    pub(super) clients_dropped_slow: AtomicU64,
    pub(super) events_encoded: AtomicU64,
    pub(super) events_sent: AtomicU64,
    pub(super) http_requests: AtomicU64,
    pub(super) ws_requests: AtomicU64,
    pub(super) pulls: AtomicU64,
}

impl SharedStats {
    /// Reads every counter.
    pub fn snapshot(&self) -> GatewayStats {
        GatewayStats {
            clients: self.clients.load(Relaxed),
            clients_accepted: self.clients_accepted.load(Relaxed),
            clients_rejected: self.clients_rejected.load(Relaxed),
            clients_dropped_slow: self.clients_dropped_slow.load(Relaxed),
            events_encoded: self.events_encoded.load(Relaxed),
            events_sent: self.events_sent.load(Relaxed),
            http_requests: self.http_requests.load(Relaxed),
            ws_requests: self.ws_requests.load(Relaxed),
            pulls: self.pulls.load(Relaxed),
        }
    }
}

/// Adds `n` to a counter.
pub(super) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
}

/// Takes one from a gauge.
pub(super) fn sub(counter: &AtomicU64) {
    counter.fetch_sub(1, Relaxed);
}
