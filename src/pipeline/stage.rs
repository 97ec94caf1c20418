//! What a thread runs: stages. A thread owns the stages the config puts on its core (io
//! connections, aggregator shards, the gateway) and steps each in turn, to completion, until
//! none has work; then it idles the one way its core allows (spin, yield, or sleep in its
//! poll until a socket, a waker or the earliest timer of its stages).

use std::io;
use std::sync::Arc;
use std::time::Instant;

use mio::{Registry, Token};

use super::thread_waker::ThreadWaker;
use crate::aggregator::ShardStats;

/// One job of a thread.
pub trait Stage: Send {
    /// What it is, for `check-config` and logs (e.g. `io connection 0`, `shard 1`, `gateway`).
    fn describe(&self) -> String;

    /// Registers what it waits on (sockets, a poll of its own) with the thread's poll under
    /// `token`, for a thread that sleeps in that poll; `waker` wakes the thread. Called once,
    /// on the thread, before the first step.
    ///
    /// # Errors
    ///
    /// A source could not be registered.
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        waker: &Arc<ThreadWaker>,
    ) -> io::Result<()>;

    /// Does what is due without waiting; true if it did anything (so the thread looks again
    /// before it idles).
    fn step(&mut self, now: Instant) -> bool;

    /// True once it has ended: it is not stepped again.
    fn finished(&self) -> bool;

    /// The latest time it must be stepped again when nothing wakes the thread (timers).
    fn wake_at(&self, now: Instant) -> Instant;

    /// For a shard: its index and final counters, once finished.
    fn shard_report(&self) -> Option<(usize, ShardStats)> {
        None
    }
}
