//! An io connection as a stage: its connection steps its socket and hands frames to its io
//! worker, which parses them and pushes the trades to the shards' rings.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use mio::{Registry, Token};

use super::io_worker::IoWorker;
use super::stage::Stage;
use super::thread_waker::ThreadWaker;
use crate::ingress::connection::{Step, StreamConnection};

/// One connection and its worker.
pub struct IoStage {
    index: usize,
    link: StreamConnection,
    /// Dropped when the connection stops: its rings then read as abandoned to the shards.
    worker: Option<IoWorker>,
    stop: Arc<AtomicBool>,
    /// Io stages of the engine still running; this one leaves it when it stops.
    running: Arc<AtomicUsize>,
}

impl IoStage {
    /// Connection `index` of the engine, stopping on `stop`.
    pub fn new(
        index: usize,
        link: StreamConnection,
        worker: IoWorker,
        stop: Arc<AtomicBool>,
        running: Arc<AtomicUsize>,
    ) -> IoStage {
        IoStage {
            index,
            link,
            worker: Some(worker),
            stop,
            running,
        }
    }

    /// Runs the connection alone on the calling thread, sleeping in its blocking read: for a
    /// connection with a core (and a thread) of its own that may sleep.
    pub fn run_blocking(mut self) {
        if let Some(worker) = &mut self.worker {
            self.link.run(worker, &self.stop);
        }
        self.stopped();
    }

    fn stopped(&mut self) {
        if self.worker.take().is_some() {
            self.running.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Stage for IoStage {
    fn describe(&self) -> String {
        format!(
            "io connection {} ({} streams)",
            self.index,
            self.link.streams().len()
        )
    }

    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        waker: &Arc<ThreadWaker>,
    ) -> io::Result<()> {
        let waker = Arc::clone(waker);
        self.link
            .register(registry, token, Arc::new(move || waker.wake()))
    }

    fn step(&mut self, _now: Instant) -> bool {
        let Some(worker) = &mut self.worker else {
            return false;
        };
        match self.link.step(worker, &self.stop) {
            Step::Read(read) => read > 0,
            Step::Idle => false,
            Step::Stopped => {
                self.stopped();
                true
            }
        }
    }

    fn finished(&self) -> bool {
        self.worker.is_none()
    }

    fn wake_at(&self, now: Instant) -> Instant {
        self.link.wake_at(now)
    }
}
