//! The simulator's side of latency measurement: when each picked trade's frame was written to
//! a connection's socket, and how many trades were sent.

use std::sync::Arc;

use super::server::WrittenStamps;
use crate::latency::{Sampling, StampFile};

/// Write stamps of the trades [`Sampling`] picks: the connections stamp them into room
/// reserved up front (stamping never allocates while the market runs; past its capacity
/// stamps are counted as dropped), and the market counts what it sent.
#[derive(Debug)]
pub struct WriteStamps {
    written: Arc<WrittenStamps>,
    sent: u64,
}

impl WriteStamps {
    /// Room for `capacity` stamps of the trades `sampling` picks.
    pub fn new(sampling: Sampling, capacity: usize) -> WriteStamps {
        WriteStamps {
            written: Arc::new(WrittenStamps::new(sampling, capacity)),
            sent: 0,
        }
    }

    /// Where the connections stamp, for the server.
    pub(crate) fn written(&self) -> Arc<WrittenStamps> {
        Arc::clone(&self.written)
    }

    /// Notes that a trade was just handed to at least one connection.
    #[inline]
    pub fn sent(&mut self) {
        self.sent += 1;
    }

    /// Trades sent to at least one connection so far, stamped or not.
    pub fn sent_count(&self) -> u64 {
        self.sent
    }

    /// The stamp file of every frame written so far, oldest first, with `names[i]` the name
    /// of symbol index `i`.
    pub fn into_file(self, names: Vec<String>) -> StampFile {
        let (stamps, dropped) = self.written.take();
        StampFile {
            names,
            stamps,
            dropped,
            trades: self.sent,
        }
    }
}
