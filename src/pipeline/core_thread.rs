//! One thread per core: the stages the config puts on a core run in one pinned thread, each
//! stepped to completion in turn (read frames, parse, push; drain, apply, answer pulls; push
//! to clients), with no wake-up between them. When no stage has work the thread idles as its
//! strategy says: a dedicated core spins and never sleeps; a shared one sleeps in one place,
//! its poll, until a socket is readable, another thread wakes it, or a stage's timer is due.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::pinning::pin_current_thread;
use super::stage::Stage;
use super::thread_waker::ThreadWaker;
use crate::aggregator::ShardStats;
use crate::idle::IdleStrategy;

/// The token the thread's own waker reports under; stage `i` registers under `Token(i)`.
pub(super) const WAKER: Token = Token(usize::MAX);

/// How long the thread goes on stepping stages the caller added (a gateway) once the engine
/// is stopping and its own stages have finished: their final pulls need the shards.
const EXTRA_STAGES_GRACE: Duration = Duration::from_secs(2);

/// A thread and its stages, before it starts.
pub struct CoreThread {
    /// Thread name.
    pub name: String,
    /// Core to pin to.
    pub core: Option<usize>,
    /// What it runs, in step order.
    pub stages: Vec<Box<dyn Stage>>,
    /// How it waits when no stage has work.
    pub idle: IdleStrategy,
    /// Where it sleeps.
    pub poll: Poll,
    /// How other threads wake it.
    pub waker: Arc<ThreadWaker>,
    /// Stages from `engine_stages` on belong to the caller (a gateway); they do not keep the
    /// thread alive past [`EXTRA_STAGES_GRACE`] after the engine's stop.
    pub engine_stages: usize,
    /// The engine's stop flag.
    pub stop: Arc<AtomicBool>,
}

impl CoreThread {
    /// Pins the thread, registers every stage and steps them until all have finished; returns
    /// the final counters of its shards.
    pub fn run(mut self) -> Vec<(usize, ShardStats)> {
        pin_current_thread(&self.name, self.core);
        for (i, stage) in self.stages.iter_mut().enumerate() {
            if let Err(e) = stage.register(self.poll.registry(), Token(i), &self.waker) {
                log::error!("{}: cannot register {}: {e}", self.name, stage.describe());
            }
        }
        let mut events = Events::with_capacity(64);
        let mut stopped_at: Option<Instant> = None;
        let mut last_work = Instant::now();
        loop {
            let now = Instant::now();
            if self.step_all(now) {
                last_work = now;
                continue;
            }
            if self.done(now, &mut stopped_at) {
                break;
            }
            match self.idle {
                IdleStrategy::Spin => std::hint::spin_loop(),
                IdleStrategy::Yield => std::thread::yield_now(),
                IdleStrategy::Park(longest) => self.sleep(now, longest, &mut events),
                IdleStrategy::Backoff { spin, park } => {
                    if now.duration_since(last_work) < spin {
                        std::hint::spin_loop();
                    } else {
                        self.sleep(now, park, &mut events);
                    }
                }
            }
        }
        self.stages
            .iter()
            .filter_map(|s| s.shard_report())
            .collect()
    }

    /// Steps every stage once; true if one had work.
    fn step_all(&mut self, now: Instant) -> bool {
        let mut worked = false;
        for stage in &mut self.stages {
            if !stage.finished() {
                worked |= stage.step(now);
            }
        }
        worked
    }

    /// True once every stage has finished, or the engine's have and the caller's have had
    /// their grace.
    fn done(&self, now: Instant, stopped_at: &mut Option<Instant>) -> bool {
        let (engine, extra) = self.stages.split_at(self.engine_stages);
        if !engine.iter().all(|s| s.finished()) {
            return false;
        }
        if extra.iter().all(|s| s.finished()) {
            return true;
        }
        if !self.stop.load(Ordering::Acquire) {
            return false;
        }
        let since = *stopped_at.get_or_insert(now);
        now.duration_since(since) >= EXTRA_STAGES_GRACE
    }

    /// Sleeps in the poll until a source is ready, the waker is called or the earliest timer
    /// of a stage (at most `longest`). Raises the sleeping flag first and looks at every stage
    /// once more, so work pushed meanwhile either shows in that look or wakes the poll.
    fn sleep(&mut self, now: Instant, longest: Duration, events: &mut Events) {
        self.waker.announce_sleep();
        if self.step_all(now) {
            self.waker.awake();
            return;
        }
        let until = self
            .stages
            .iter()
            .filter(|s| !s.finished())
            .map(|s| s.wake_at(now))
            .min()
            .unwrap_or(now + longest)
            .min(now + longest);
        let timeout = until.saturating_duration_since(Instant::now());
        if let Err(e) = self.poll.poll(events, Some(timeout))
            && e.kind() != std::io::ErrorKind::Interrupted
        {
            log::error!("{}: poll failed: {e}", self.name);
            std::thread::sleep(longest);
        }
        self.waker.awake();
    }
}
