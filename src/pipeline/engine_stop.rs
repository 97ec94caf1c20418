//! How an engine stops: first its io stages, with the shards draining their rings and still
//! answering pulls (so every consumer can make a final pull), then the shards.

use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::{Engine, EngineReport};
use crate::aggregator::ShardStats;

/// How [`Engine::stop_ingress`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngressStop {
    /// Io stages that had not ended in time.
    pub io_threads_running: usize,
    /// True when every shard had applied every trade pushed to it.
    pub shards_drained: bool,
}

/// How long [`Engine::stop`] gives the io stages and shards when no [`Engine::stop_ingress`]
/// came first: an io stage ends within a read tick (100 ms by default).
const DEFAULT_INGRESS_STOP: Duration = Duration::from_secs(1);

/// How often a stop looks whether what it waits for is done.
const STOP_POLL: Duration = Duration::from_millis(2);

impl Engine {
    /// True once [`Engine::stop_ingress`] or [`Engine::stop`] was called.
    pub fn stopping(&self) -> bool {
        self.ingress_stop.load(Ordering::Acquire)
    }

    /// The first half of a graceful stop: the io stages stop reading and end, and the shards
    /// apply everything already in their rings, then keep answering pulls, so each consumer
    /// can make a final pull that misses nothing read. Waits up to `timeout` for both. A
    /// connect under way does not hold a stage up: it is left to its helper thread.
    pub fn stop_ingress(&mut self, timeout: Duration) -> IngressStop {
        self.ingress_stop.store(true, Ordering::Release);
        let deadline = Instant::now() + timeout;
        while self.io_running.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            thread::sleep(STOP_POLL);
        }
        let io_threads_running = self.io_running.load(Ordering::Acquire);
        if io_threads_running > 0 {
            log::warn!("{io_threads_running} io stage(s) had not stopped in time");
        }
        while !self.shard_stats.iter().all(|s| s.drained()) && Instant::now() < deadline {
            thread::sleep(STOP_POLL);
        }
        IngressStop {
            io_threads_running,
            shards_drained: self.shard_stats.iter().all(|s| s.drained()),
        }
    }

    /// Stops every thread: the io stages as in [`Engine::stop_ingress`] if that was not
    /// called yet, then the shards, which apply what is left in their rings, answer the pulls
    /// waiting, and end. Returns the final counters.
    pub fn stop(mut self) -> EngineReport {
        if !self.stopping() {
            self.stop_ingress(DEFAULT_INGRESS_STOP);
        }
        self.stop.store(true, Ordering::Release);
        let mut shards = vec![ShardStats::default(); self.shard_stats.len()];
        for handle in self.threads {
            match handle.join() {
                Ok(reports) => {
                    for (index, stats) in reports {
                        if let Some(slot) = shards.get_mut(index) {
                            *slot = stats;
                        }
                    }
                }
                Err(_) => log::error!("an engine thread panicked"),
            }
        }
        EngineReport { shards }
    }
}
