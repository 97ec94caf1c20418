//! Timing and size settings of one market-stream connection.

use std::time::Duration;

/// Timing and size settings (the lead fills it from the config file).
///
/// The defaults respect Binance's per-connection limits: a server ping every 3 min (so our own
/// ping every minute keeps NATs and proxies awake), 10 incoming messages per second, 24 h
/// lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionOptions {
    /// Bound on DNS-resolved TCP connect and on the TLS + WebSocket handshake. Default 5 s.
    pub connect_timeout: Duration,
    /// Socket read timeout: the heartbeat tick at which an idle connection still runs its
    /// periodic work and checks the stop flag. Default 100 ms.
    pub read_tick: Duration,
    /// How often we send our own ping. Default 60 s.
    pub ping_interval: Duration,
    /// No frame at all (data, ping or pong) for this long means the connection is dead even if
    /// TCP says otherwise: reconnect. Default 30 s.
    pub stale_timeout: Duration,
    /// Largest message (and frame) accepted; a larger one fails the connection. Default 1 MiB.
    pub max_message_bytes: usize,
    /// Age at which a connection is replaced make-before-break, ahead of Binance's 24 h cut.
    /// Default 23 h.
    pub rotate_after: Duration,
    /// SUBSCRIBE/UNSUBSCRIBE messages per second at most (Binance disconnects above 10 incoming
    /// messages per second, pings and pongs included). Default 5.
    pub subscribe_per_s: u32,
    /// First reconnect delay. Default 100 ms.
    pub backoff_min: Duration,
    /// Largest reconnect delay. Default 30 s.
    pub backoff_max: Duration,
    /// A connection up this long counts as stable: the next reconnect starts again from
    /// `backoff_min`. So does one up ten times the delay before it (see
    /// [`super::backoff::Backoff`]). Default 60 s.
    pub stable_after: Duration,
    /// Trust anchors besides the webpki roots, for an endpoint with a private CA (and the
    /// tests' local TLS server). Default none.
    pub extra_root_certs: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            connect_timeout: Duration::from_secs(5),
            read_tick: Duration::from_millis(100),
            ping_interval: Duration::from_secs(60),
            stale_timeout: Duration::from_secs(30),
            max_message_bytes: 1 << 20,
            rotate_after: Duration::from_secs(23 * 3600),
            subscribe_per_s: 5,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            stable_after: Duration::from_secs(60),
            extra_root_certs: Vec::new(),
        }
    }
}

impl ConnectionOptions {
    /// The read tick, never zero: a zero socket timeout would mean "block forever" to the OS.
    pub(crate) fn tick(&self) -> Duration {
        self.read_tick.max(Duration::from_millis(1))
    }
}
