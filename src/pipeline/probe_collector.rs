//! The thread that drains a [`LatencyProbe`] into live [`Latencies`] (for `/metrics` and the
//! demo) and, when asked, keeps every stamp for a stamp file written after the run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::probe::LatencyProbe;
use crate::latency::{Latencies, Stamp};

/// How long the collector sleeps between drains: short enough for rings of 64k stamps at
/// millions of stamps a second, long enough to cost nothing on a 2-core machine.
const DRAIN_EVERY: Duration = Duration::from_millis(1);

/// A running collector.
#[derive(Debug)]
pub struct ProbeCollector {
    latencies: Arc<Mutex<Latencies>>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Collected>,
}

/// What a collector kept, returned when it stops.
#[derive(Debug, Default)]
pub struct Collected {
    /// Every stamp, in drain order, when the collector was asked to keep them.
    pub stamps: Vec<Stamp>,
    /// Stamps lost to full rings or to the keep limit.
    pub dropped: u64,
}

impl ProbeCollector {
    /// Starts draining `probe` into the live latencies; or, with `keep` > 0, into a buffer of
    /// that many stamps instead (preallocated now, so keeping never allocates mid-run), for a
    /// stamp file. Keeping does not also join: joining every trade's stamps live takes CPU
    /// from the very threads being measured, so the latencies then stay empty.
    pub fn spawn(mut probe: LatencyProbe, keep: usize) -> std::io::Result<ProbeCollector> {
        let latencies = Arc::new(Mutex::new(Latencies::new(probe.stages())));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, thread_stop) = (Arc::clone(&latencies), Arc::clone(&stop));
        let thread = thread::Builder::new()
            .name("klagg-probe".into())
            .spawn(move || {
                let mut kept = Collected {
                    stamps: prefaulted(keep),
                    dropped: 0,
                };
                let mut batch = Vec::with_capacity(1 << 16);
                loop {
                    // Read the flag first: after it is set, one more drain takes in the last.
                    let stopping = thread_stop.load(Ordering::Acquire);
                    probe.drain(|s| batch.push(*s));
                    if keep == 0 && !batch.is_empty() {
                        let mut l = shared.lock().unwrap_or_else(PoisonError::into_inner);
                        for stamp in &batch {
                            l.add(stamp);
                        }
                    }
                    let room = keep - kept.stamps.len();
                    kept.stamps.extend(batch.iter().take(room));
                    kept.dropped += batch.len().saturating_sub(room) as u64;
                    batch.clear();
                    if stopping {
                        break;
                    }
                    thread::sleep(DRAIN_EVERY);
                }
                kept.dropped += probe.dropped();
                kept
            })?;
        Ok(ProbeCollector {
            latencies,
            stop,
            thread,
        })
    }

    /// The live latencies, updated every millisecond or so.
    pub fn latencies(&self) -> Arc<Mutex<Latencies>> {
        Arc::clone(&self.latencies)
    }

    /// Drains what is left and returns what was kept; call after the engine stopped.
    pub fn stop(self) -> Collected {
        self.stop.store(true, Ordering::Release);
        self.thread.join().unwrap_or_default()
    }
}

/// An empty vector with room for `n` stamps whose memory has been written once, so that the
/// page faults of a large buffer happen before the run instead of during it, where they would
/// take CPU from the threads being measured.
fn prefaulted(n: usize) -> Vec<Stamp> {
    let blank = Stamp {
        stage: crate::latency::Stage::SimWrite,
        symbol: 0,
        trade_id: 0,
        at_ns: 0,
        event_ms: 0,
    };
    let mut stamps = vec![blank; n];
    stamps.clear();
    stamps
}
