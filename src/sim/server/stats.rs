//! Everything the server did and injected, counted, so tests can hold the engine's counters
//! against what was really sent.

use std::sync::atomic::{AtomicU64, Ordering};

/// Declares the live counters and their snapshot from one list, so the two cannot drift apart.
macro_rules! counters {
    ($( $(#[doc = $doc:expr])+ $name:ident, )+) => {
        /// A snapshot of the server's counters, from [`super::SimServer::stats`].
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct SimServerStats {
            $( $(#[doc = $doc])+ pub $name: u64, )+
        }

        /// The live counters, shared by every thread of the server.
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $( pub(crate) $name: AtomicU64, )+
        }

        impl Counters {
            /// Reads every counter (each one atomically; the set is not one instant).
            pub(crate) fn snapshot(&self) -> SimServerStats {
                SimServerStats {
                    $( $name: self.$name.load(Ordering::Relaxed), )+
                }
            }
        }
    };
}

counters! {
    /// WebSocket connections that completed the handshake.
    connections_accepted,
    /// WebSocket connections open right now.
    connections_open,
    /// Connections dropped by the `drop_every` fault.
    disconnects_by_fault,
    /// Connections dropped because no pong came within the pong timeout.
    disconnects_no_pong,
    /// Connections dropped at the maximum connection age.
    disconnects_age,
    /// Connections dropped for sending too many messages per second.
    disconnects_rate_limit,
    /// Connections dropped because their send queue or socket buffer was full.
    disconnects_slow,
    /// Connections that ended from the client's side (close frame, reset, end of stream).
    disconnects_client,
    /// Data frames (aggTrade and miniTicker) written to sockets, duplicates included.
    frames_sent,
    /// Trades passed to `Publisher::publish`.
    trades_published,
    /// Garbage frames sent (broken JSON, binary, bad numbers, unknown symbols).
    garbage_sent,
    /// Data frames sent a second time by the `duplicate_every` fault.
    duplicates_sent,
    /// Oversized (2 MiB) frames sent.
    oversized_sent,
    /// Stalls begun (a connection sent and answered nothing for `stall_for`).
    stalls,
    /// Pings sent by the server.
    pings_sent,
    /// Pongs received from clients.
    pongs_received,
    /// `SUBSCRIBE` requests received (valid or not).
    subscribe_requests,
    /// Error replies sent to WebSocket requests.
    error_replies,
    /// REST requests answered (any path, any status).
    rest_requests,
}

impl Counters {
    /// Adds one to a counter.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl std::fmt::Display for SimServerStats {
    /// One status line: traffic first, then every disconnect and fault that is not zero.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "trades {}  frames {}  connections {} open / {} accepted  REST {}",
            self.trades_published,
            self.frames_sent,
            self.connections_open,
            self.connections_accepted,
            self.rest_requests
        )?;
        let extras = [
            ("dropped (fault)", self.disconnects_by_fault),
            ("no pong", self.disconnects_no_pong),
            ("age", self.disconnects_age),
            ("rate limit", self.disconnects_rate_limit),
            ("too slow", self.disconnects_slow),
            ("client closed", self.disconnects_client),
            ("garbage", self.garbage_sent),
            ("duplicates", self.duplicates_sent),
            ("oversized", self.oversized_sent),
            ("stalls", self.stalls),
        ];
        for (name, value) in extras.iter().filter(|(_, v)| *v > 0) {
            write!(f, "  {name} {value}")?;
        }
        Ok(())
    }
}
