//! Latency stamps of one task: a preallocated buffer that never grows on the hot path.

use klagg::latency::{Sampling, Stage, Stamp, monotonic_ns};

/// The stamps one task takes. Each task owns its recorder, so recording takes no lock.
pub struct Recorder {
    /// Stamps taken so far; never grows past the capacity it was created with.
    stamps: Vec<Stamp>,
    /// Stamps not kept because the buffer was full.
    dropped: u64,
    /// Which trades are stamped.
    sampling: Sampling,
    /// False when no stamp file was asked for: then nothing is recorded or counted.
    enabled: bool,
}

impl Recorder {
    /// A recorder that records nothing (no `--stamps`).
    pub fn disabled() -> Recorder {
        Recorder {
            stamps: Vec::new(),
            dropped: 0,
            sampling: Sampling::EVERY_TRADE,
            enabled: false,
        }
    }

    /// A recorder with room for `capacity` stamps of the trades `sampling` picks.
    pub fn new(capacity: usize, sampling: Sampling) -> Recorder {
        let mut stamps = Vec::with_capacity(capacity);
        // Touch every page now, so the first stamp on each page does not pay a page fault in
        // the middle of the path being measured.
        stamps.resize(capacity, PLACEHOLDER);
        stamps.clear();
        Recorder {
            stamps,
            dropped: 0,
            sampling,
            enabled: true,
        }
    }

    /// Stamps the trade with last raw trade id `trade_id` at `stage`, now, if it is sampled.
    #[inline]
    pub fn record(&mut self, stage: Stage, symbol: usize, trade_id: i64, event_ms: i64) {
        if !self.enabled || !self.sampling.picks(trade_id) {
            return;
        }
        if self.stamps.len() == self.stamps.capacity() {
            self.dropped += 1;
            return;
        }
        self.stamps.push(Stamp {
            stage,
            // Symbol indices come from the --symbols list, far below u32::MAX.
            symbol: symbol as u32,
            trade_id,
            at_ns: monotonic_ns(),
            event_ms,
        });
    }

    /// The stamps taken and the number dropped.
    pub fn into_parts(self) -> (Vec<Stamp>, u64) {
        (self.stamps, self.dropped)
    }
}

/// What the buffer is filled with once to fault its pages in.
const PLACEHOLDER: Stamp = Stamp {
    stage: Stage::FrameRead,
    symbol: 0,
    trade_id: 0,
    at_ns: 0,
    event_ms: 0,
};
