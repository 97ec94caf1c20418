//! How an engine stops: first its io threads, with the shards draining their rings and still
//! answering pulls (so every consumer can make a final pull), then the shards.

use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{Engine, EngineReport};
use crate::aggregator::ShardStats;

/// How [`Engine::stop_ingress`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngressStop {
    /// Io threads that had not ended in time (each was connecting, so had nothing to push).
    pub io_threads_running: usize,
    /// True when every shard had applied every trade pushed to it.
    pub shards_drained: bool,
}

/// How long [`Engine::stop`] gives the io threads and shards when no
/// [`Engine::stop_ingress`] came first: an io thread ends within a read tick (100 ms by
/// default), so this is only reached by one stuck in a connect.
const DEFAULT_INGRESS_STOP: Duration = Duration::from_secs(1);

/// How often a stop looks whether the threads it waits for are done.
const STOP_POLL: Duration = Duration::from_millis(2);

impl Engine {
    /// True once [`Engine::stop_ingress`] or [`Engine::stop`] was called.
    pub fn stopping(&self) -> bool {
        self.ingress_stop.load(Ordering::Acquire)
    }

    /// The first half of a graceful stop: the io threads stop reading and end, and the shards
    /// apply everything already in their rings, then keep answering pulls, so each consumer
    /// can make a final pull that misses nothing read. Waits up to `timeout` for both; an io
    /// thread that has not ended by then (stuck in a TCP connect or a DNS lookup, with nothing
    /// to push) is left to end on its own and counted in the answer.
    pub fn stop_ingress(&mut self, timeout: Duration) -> IngressStop {
        self.ingress_stop.store(true, Ordering::Release);
        let deadline = Instant::now() + timeout;
        while !self.io_threads.iter().all(JoinHandle::is_finished) && Instant::now() < deadline {
            thread::sleep(STOP_POLL);
        }
        let (ended, running): (Vec<_>, Vec<_>) = std::mem::take(&mut self.io_threads)
            .into_iter()
            .partition(JoinHandle::is_finished);
        for handle in ended {
            if handle.join().is_err() {
                log::error!("an io thread panicked");
            }
        }
        let io_threads_running = running.len();
        if io_threads_running > 0 {
            log::warn!("{io_threads_running} io thread(s) still connecting; not waiting for them");
        }
        // Dropping a handle detaches its thread: it ends once its connect returns and it sees
        // the stop flag, or with the process.
        drop(running);
        while !self.shard_stats.iter().all(|s| s.drained()) && Instant::now() < deadline {
            thread::sleep(STOP_POLL);
        }
        IngressStop {
            io_threads_running,
            shards_drained: self.shard_stats.iter().all(|s| s.drained()),
        }
    }

    /// Stops every thread: the io threads as in [`Engine::stop_ingress`] if that was not
    /// called yet, then the shards, which apply what is left in their rings, answer the pulls
    /// waiting, and end. Returns the final counters.
    pub fn stop(mut self) -> EngineReport {
        if !self.stopping() {
            self.stop_ingress(DEFAULT_INGRESS_STOP);
        }
        self.stop.store(true, Ordering::Release);
        let shards = self
            .shard_threads
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    log::error!("a shard thread panicked");
                    ShardStats::default()
                })
            })
            .collect();
        EngineReport { shards }
    }
}
