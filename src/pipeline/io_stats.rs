//! Counters an io thread publishes for the rest of the engine (status lines, metrics).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::ingress::bad_input::{BadInputCounters, BadInputReason};
use crate::ingress::connection::{ConnectionEvent, DisconnectCause};

/// One io thread's counters, written by it (relaxed stores on its ticks), read by anyone.
#[derive(Debug, Default)]
pub struct IoStats {
    /// Data frames received.
    pub frames: AtomicU64,
    /// Trades pushed to a ring.
    pub trades: AtomicU64,
    /// Pushes that found their ring full and waited.
    pub ring_full_waits: AtomicU64,
    /// Longest such wait, in ns.
    pub longest_ring_wait_ns: AtomicU64,
    /// Trades dropped because their shard had stopped (only during shutdown).
    pub dropped_abandoned: AtomicU64,
    /// Bad frames of any reason (counted and logged by the parser).
    pub bad_frames: AtomicU64,
    /// Bad frames by reason, in the order of [`BadInputReason::ALL`].
    pub bad_by_reason: [AtomicU64; BadInputReason::ALL.len()],
    /// Successful connects, the first included.
    pub connects: AtomicU64,
    /// Connect attempts that failed (each is retried with backoff).
    pub connect_failures: AtomicU64,
    /// Disconnects because the server closed the socket or sent a close frame.
    pub disconnects_closed: AtomicU64,
    /// Disconnects because nothing arrived within the stale timeout.
    pub disconnects_stale: AtomicU64,
    /// Disconnects on an I/O or protocol error.
    pub disconnects_error: AtomicU64,
    /// Make-before-break rotations completed.
    pub rotations: AtomicU64,
    /// SUBSCRIBE/UNSUBSCRIBE requests the exchange refused.
    pub subscribe_errors: AtomicU64,
}

impl IoStats {
    /// Publishes the io thread's hot-path counters.
    pub fn publish(
        &self,
        frames: u64,
        trades: u64,
        waits: u64,
        longest_wait_ns: u64,
        dropped: u64,
    ) {
        self.frames.store(frames, Relaxed);
        self.trades.store(trades, Relaxed);
        self.ring_full_waits.store(waits, Relaxed);
        self.longest_ring_wait_ns.store(longest_wait_ns, Relaxed);
        self.dropped_abandoned.store(dropped, Relaxed);
    }

    /// Publishes the parser's bad-input counts.
    pub fn publish_bad_input(&self, counters: &BadInputCounters) {
        self.bad_frames.store(counters.total(), Relaxed);
        for (slot, (_, count)) in self.bad_by_reason.iter().zip(counters.iter()) {
            slot.store(count, Relaxed);
        }
    }

    /// Counts a connection lifecycle event.
    pub fn record_event(&self, event: &ConnectionEvent) {
        let counter = match event {
            ConnectionEvent::Connected { .. } => &self.connects,
            ConnectionEvent::ConnectFailed { .. } => &self.connect_failures,
            ConnectionEvent::Disconnected { cause } => match cause {
                DisconnectCause::ServerClosed => &self.disconnects_closed,
                DisconnectCause::Stale => &self.disconnects_stale,
                DisconnectCause::Rotation => &self.rotations,
                _ => &self.disconnects_error,
            },
            ConnectionEvent::SubscribeFailed { .. } => &self.subscribe_errors,
            _ => return,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Reconnects of every cause.
    pub fn reconnects(&self) -> u64 {
        self.disconnects_closed.load(Relaxed)
            + self.disconnects_stale.load(Relaxed)
            + self.disconnects_error.load(Relaxed)
    }
}
