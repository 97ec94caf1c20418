//! Counters of one connection, owned by its thread (plain integers: nobody else writes them; the
//! io thread copies them into metrics).

use std::time::Duration;

use super::handler::DisconnectCause;

/// How many sockets ended, per cause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisconnectCounts {
    /// Server close frames.
    pub server_closed: u64,
    /// EOF without close frame.
    pub eof: u64,
    /// Stale timeouts.
    pub stale: u64,
    /// Socket errors.
    pub io: u64,
    /// Protocol violations.
    pub protocol: u64,
    /// Oversized messages.
    pub too_large: u64,
    /// Old sockets closed by a rotation.
    pub rotation: u64,
    /// Stop flag or handler stop.
    pub stopped: u64,
}

impl DisconnectCounts {
    /// Counts one disconnect.
    pub fn record(&mut self, cause: &DisconnectCause) {
        let counter = match cause {
            DisconnectCause::ServerClosed => &mut self.server_closed,
            DisconnectCause::Eof => &mut self.eof,
            DisconnectCause::Stale => &mut self.stale,
            DisconnectCause::Io(_) => &mut self.io,
            DisconnectCause::Protocol(_) => &mut self.protocol,
            DisconnectCause::TooLarge(_) => &mut self.too_large,
            DisconnectCause::Rotation => &mut self.rotation,
            DisconnectCause::Stopped => &mut self.stopped,
        };
        *counter += 1;
    }

    /// Disconnects that were failures (everything but rotation and stop).
    pub fn failures(&self) -> u64 {
        self.server_closed + self.eof + self.stale + self.io + self.protocol + self.too_large
    }
}

/// Counters of one [`StreamConnection`](super::StreamConnection) over its whole life.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Text frames passed to `on_text`.
    pub text_frames: u64,
    /// Binary frames passed to `on_binary`.
    pub binary_frames: u64,
    /// Payload bytes of the frames above.
    pub payload_bytes: u64,
    /// Successful connects (initial, reconnects and rotation replacements).
    pub connects: u64,
    /// Failed connect attempts.
    pub connect_failures: u64,
    /// Sockets ended, per cause.
    pub disconnects: DisconnectCounts,
    /// Completed make-before-break rotations.
    pub rotations: u64,
    /// Rotation attempts that failed (the old connection carried on).
    pub rotation_failures: u64,
    /// Pings we sent.
    pub pings_sent: u64,
    /// Pongs we received.
    pub pongs_received: u64,
    /// Pings the server sent us.
    pub pings_received: u64,
    /// Pongs we flushed in answer.
    pub pongs_sent: u64,
    /// Round trip of our last answered ping.
    pub last_ping_rtt: Option<Duration>,
    /// SUBSCRIBE messages sent.
    pub subscribe_messages: u64,
    /// UNSUBSCRIBE messages sent.
    pub unsubscribe_messages: u64,
    /// Replies matched to a request and accepted.
    pub replies_acked: u64,
    /// Replies matched to a request and rejected.
    pub replies_failed: u64,
    /// Replies that matched no request in flight.
    pub replies_unmatched: u64,
}
