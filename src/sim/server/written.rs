//! Latency stamps taken when a trade's frame has been written to a client's socket (not when
//! it was queued): the connection threads add them here, into room reserved when stamping was
//! turned on, so stamping never allocates while the market runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::lock::lock;
use crate::latency::{Sampling, Stage, Stamp, monotonic_ns};

/// Which trade a queued frame carries, for a frame whose write is to be stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteKey {
    /// Symbol index.
    pub symbol: u32,
    /// Last raw trade id: the key the engines stamp by.
    pub trade_id: i64,
    /// The frame's event time.
    pub event_ms: i64,
}

/// The write stamps of every connection.
#[derive(Debug)]
pub struct WrittenStamps {
    sampling: Sampling,
    stamps: Mutex<Vec<Stamp>>,
    dropped: AtomicU64,
}

impl WrittenStamps {
    /// Room for `capacity` stamps of the trades `sampling` picks.
    pub fn new(sampling: Sampling, capacity: usize) -> WrittenStamps {
        WrittenStamps {
            sampling,
            stamps: Mutex::new(Vec::with_capacity(capacity)),
            dropped: AtomicU64::new(0),
        }
    }

    /// True when the trade with this last raw id is stamped.
    #[inline]
    pub(crate) fn picks(&self, trade_id: i64) -> bool {
        self.sampling.picks(trade_id)
    }

    /// Stamps `keys` as written now; past the reserved room they are counted as dropped. A
    /// trade two connections carry is stamped twice: the earlier stamp is its own.
    pub(crate) fn written(&self, keys: &[WriteKey]) {
        let at_ns = monotonic_ns();
        let mut stamps = lock(&self.stamps);
        for key in keys {
            if stamps.len() == stamps.capacity() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            stamps.push(Stamp {
                stage: Stage::SimWrite,
                symbol: key.symbol,
                trade_id: key.trade_id,
                at_ns,
                event_ms: key.event_ms,
            });
        }
    }

    /// Every stamp so far, oldest first, and how many did not fit.
    pub fn take(&self) -> (Vec<Stamp>, u64) {
        let mut stamps = std::mem::take(&mut *lock(&self.stamps));
        stamps.sort_by_key(|s| s.at_ns);
        (stamps, self.dropped.load(Ordering::Relaxed))
    }
}
