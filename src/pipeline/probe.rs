//! An optional latency probe: each io thread stamps when it read a trade's frame, each shard
//! when it applied the trade, and a reader joins the two by (symbol, agg id).
//!
//! Stamps go into preallocated per-thread rings (never a lock, never an allocation); when the
//! reader falls behind, stamps are dropped and counted, since they are measurements, not data.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use rtrb::{Consumer, Producer, RingBuffer};

/// One stamp: a trade, by global symbol index and agg id, at a time since the probe's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Global symbol index.
    pub symbol: u32,
    /// Agg trade id.
    pub agg_id: i64,
    /// Nanoseconds since the probe's epoch.
    pub at_ns: u64,
}

/// The clock every stamp of one probe is taken on.
#[derive(Debug, Clone, Copy)]
pub struct ProbeClock(Instant);

impl ProbeClock {
    /// Nanoseconds since the probe started.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The writing end a thread owns.
#[derive(Debug)]
pub struct StampWriter {
    clock: ProbeClock,
    ring: Producer<Stamp>,
    dropped: Arc<AtomicU64>,
}

impl StampWriter {
    /// Stamps a trade now.
    #[inline]
    pub fn stamp(&mut self, symbol: u32, agg_id: i64) {
        let at_ns = self.clock.now_ns();
        self.stamp_at(symbol, agg_id, at_ns);
    }

    /// Stamps a trade at a time already read from [`StampWriter::now_ns`].
    #[inline]
    pub fn stamp_at(&mut self, symbol: u32, agg_id: i64, at_ns: u64) {
        if self
            .ring
            .push(Stamp {
                symbol,
                agg_id,
                at_ns,
            })
            .is_err()
        {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    /// The probe clock's time now.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }
}

/// Joins frame-read stamps with kline-updated stamps into latencies.
#[derive(Debug)]
pub struct LatencyProbe {
    read: Vec<Consumer<Stamp>>,
    updated: Vec<Consumer<Stamp>>,
    dropped: Arc<AtomicU64>,
    pending: HashMap<(u32, i64), u64>,
    samples: Vec<u64>,
}

/// Capacity of each stamp ring.
const STAMPS_PER_RING: usize = 1 << 16;

/// Read stamps kept waiting for their update stamp; past this the oldest are forgotten.
const MAX_PENDING: usize = 1 << 20;

impl LatencyProbe {
    /// A probe with `io_threads` read-stamp writers and `shards` update-stamp writers.
    pub fn new(
        io_threads: usize,
        shards: usize,
    ) -> (LatencyProbe, Vec<StampWriter>, Vec<StampWriter>) {
        let clock = ProbeClock(Instant::now());
        let dropped = Arc::new(AtomicU64::new(0));
        let make = |n: usize| -> (Vec<StampWriter>, Vec<Consumer<Stamp>>) {
            (0..n)
                .map(|_| {
                    let (ring, reader) = RingBuffer::new(STAMPS_PER_RING);
                    (
                        StampWriter {
                            clock,
                            ring,
                            dropped: Arc::clone(&dropped),
                        },
                        reader,
                    )
                })
                .unzip()
        };
        let (read_writers, read) = make(io_threads);
        let (update_writers, updated) = make(shards);
        let probe = LatencyProbe {
            read,
            updated,
            dropped,
            pending: HashMap::new(),
            samples: Vec::new(),
        };
        (probe, read_writers, update_writers)
    }

    /// Joins every stamp written so far; returns how many latencies were added.
    pub fn collect(&mut self) -> usize {
        for ring in &mut self.read {
            while let Ok(s) = ring.pop() {
                self.pending.insert((s.symbol, s.agg_id), s.at_ns);
            }
        }
        let before = self.samples.len();
        for ring in &mut self.updated {
            while let Ok(s) = ring.pop() {
                if let Some(read) = self.pending.remove(&(s.symbol, s.agg_id)) {
                    self.samples.push(s.at_ns.saturating_sub(read));
                }
            }
        }
        if self.pending.len() > MAX_PENDING {
            self.pending.clear();
        }
        self.samples.len() - before
    }

    /// Latencies collected since the last call, in ns, sorted; clears them.
    pub fn take_sorted(&mut self) -> Vec<u64> {
        let mut samples = std::mem::take(&mut self.samples);
        samples.sort_unstable();
        samples
    }

    /// Stamps dropped because a ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }
}

/// The `q`-quantile (0..=1) of sorted samples, by nearest rank.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_read_and_update_stamps_by_symbol_and_agg_id() {
        let (mut probe, mut reads, mut updates) = LatencyProbe::new(1, 2);
        reads[0].stamp_at(3, 10, 1_000);
        reads[0].stamp_at(4, 10, 1_500);
        updates[1].stamp_at(4, 10, 2_000);
        updates[0].stamp_at(3, 10, 4_000);
        updates[0].stamp_at(9, 1, 5_000);
        assert_eq!(probe.collect(), 2);
        assert_eq!(probe.take_sorted(), vec![500, 3_000]);
        assert!(probe.take_sorted().is_empty());
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&sorted, 0.5), Some(50));
        assert_eq!(quantile(&sorted, 0.99), Some(99));
        assert_eq!(quantile(&sorted, 1.0), Some(100));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
