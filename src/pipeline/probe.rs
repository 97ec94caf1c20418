//! The engine's latency probe: io threads stamp frame reads and ring pushes, shards stamp
//! kline updates and one consumer stamps deliveries, each into a preallocated ring of its own
//! (never a lock, never an allocation); a collector drains the rings.
//!
//! Only the trades [`Sampling`] picks are stamped, the same ones in every thread, so their
//! stamps join. When the collector falls behind, stamps are dropped and counted: they are
//! measurements, not data.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use rtrb::{Consumer, Producer, RingBuffer};

use crate::latency::{Sampling, Stage, Stamp, monotonic_ns};

/// The writing end one thread owns.
#[derive(Debug)]
pub struct StampWriter {
    sampling: Sampling,
    ring: Producer<Stamp>,
    dropped: Arc<AtomicU64>,
}

impl StampWriter {
    /// True when the trade with this last raw trade id is one to stamp.
    #[inline]
    pub fn picks(&self, trade_id: i64) -> bool {
        self.sampling.picks(trade_id)
    }

    /// Stamps a trade (by global symbol index) at `at_ns`; see [`StampWriter::picks`].
    #[inline]
    pub fn stamp(&mut self, stage: Stage, symbol: u32, trade_id: i64, at_ns: u64, event_ms: i64) {
        let stamp = Stamp {
            stage,
            symbol,
            trade_id,
            at_ns,
            event_ms,
        };
        if self.ring.push(stamp).is_err() {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    /// The stamp clock now.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        monotonic_ns()
    }
}

/// The reading end of every thread's stamps.
#[derive(Debug)]
pub struct LatencyProbe {
    rings: Vec<Consumer<Stamp>>,
    dropped: Arc<AtomicU64>,
    sampling: Sampling,
    stages: Vec<Stage>,
}

/// Capacity of each stamp ring: at 1 ms between drains, room for 64k stamps a millisecond.
const STAMPS_PER_RING: usize = 1 << 16;

impl LatencyProbe {
    /// A probe with `writers` stamp writers, picking trades by `sampling`, whose trades pass
    /// `stages`. Give the writers out in path order (the earliest stage's threads first):
    /// [`LatencyProbe::drain`] reads the latest stage first, so that the stamps of a kline's
    /// updates are drained no later than the stamp of its delivery.
    pub fn new(
        sampling: Sampling,
        writers: usize,
        stages: &[Stage],
    ) -> (LatencyProbe, Vec<StampWriter>) {
        let dropped = Arc::new(AtomicU64::new(0));
        let (writers, rings) = (0..writers)
            .map(|_| {
                let (ring, reader) = RingBuffer::new(STAMPS_PER_RING);
                let writer = StampWriter {
                    sampling,
                    ring,
                    dropped: Arc::clone(&dropped),
                };
                (writer, reader)
            })
            .unzip();
        let probe = LatencyProbe {
            rings,
            dropped,
            sampling,
            stages: stages.to_vec(),
        };
        (probe, writers)
    }

    /// Hands every stamp written so far to `f`, last writer first; returns how many.
    pub fn drain(&mut self, mut f: impl FnMut(&Stamp)) -> usize {
        let mut n = 0;
        for ring in self.rings.iter_mut().rev() {
            while let Ok(stamp) = ring.pop() {
                f(&stamp);
                n += 1;
            }
        }
        n
    }

    /// Stamps dropped because a ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Which trades are stamped.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// The stages a stamped trade passes.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }
}

/// An engine's probe and its writers, in path order: one per io thread (frame read, pushed),
/// one per shard (updated), and one for a consumer (delivered), if there is one.
pub(super) fn probe_writers(
    sampling: Sampling,
    io_threads: usize,
    shards: usize,
    consumers: usize,
) -> (
    LatencyProbe,
    Vec<StampWriter>,
    Vec<StampWriter>,
    Option<StampWriter>,
) {
    let mut stages = vec![Stage::FrameRead, Stage::Pushed, Stage::Updated];
    let delivering = usize::from(consumers > 0);
    if delivering == 1 {
        stages.push(Stage::Delivered);
    }
    let (probe, mut writers) =
        LatencyProbe::new(sampling, io_threads + shards + delivering, &stages);
    let deliver = (delivering == 1).then(|| writers.pop()).flatten();
    let update = writers.split_off(io_threads);
    (probe, writers, update, deliver)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drains_every_writer_and_counts_overflow() {
        let (mut probe, mut writers) =
            LatencyProbe::new(Sampling::one_in(4), 2, &[Stage::FrameRead, Stage::Updated]);
        assert!(writers[0].picks(8) && !writers[0].picks(9));
        writers[0].stamp(Stage::FrameRead, 3, 8, 100, 7);
        writers[1].stamp(Stage::Updated, 3, 8, 200, 0);
        let mut seen = Vec::new();
        assert_eq!(probe.drain(|s| seen.push(*s)), 2);
        assert_eq!(seen[0].stage, Stage::Updated, "the latest stage first");
        assert_eq!(seen[1].at_ns, 100);
        for _ in 0..=STAMPS_PER_RING {
            writers[0].stamp(Stage::Pushed, 0, 0, 1, 0);
        }
        assert_eq!(probe.dropped(), 1);
    }
}
