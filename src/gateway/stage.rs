//! The gateway as one stage of a thread that runs others too (io connections, shards): each
//! step serves what is ready without waiting, and the thread sleeps in its own poll, which
//! watches the gateway's poll as one more source.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::event_loop::EventLoop;
use super::pull::EnginePull;

/// Where a gateway stage is in its life.
enum Phase {
    Serving,
    /// Awaiting the answers to the final pull until then.
    Finishing(Instant),
    Done,
}

/// A gateway stepped by a thread it shares: see [`super::Gateway::stage`].
pub struct GatewayStage {
    event_loop: EventLoop,
    phase: Phase,
    /// Set once finished, for [`super::GatewayHandle::join`].
    done: Arc<AtomicBool>,
    /// When the clients' sockets are polled next (see `GatewayConfig::socket_poll_every`).
    next_socket_poll: Instant,
}

/// Longest a serving gateway goes unstepped without news: how soon it sees its stop flag.
const MAX_IDLE: Duration = Duration::from_millis(50);

impl GatewayStage {
    pub(super) fn new(event_loop: EventLoop, done: Arc<AtomicBool>) -> GatewayStage {
        GatewayStage {
            event_loop,
            phase: Phase::Serving,
            done,
            next_socket_poll: Instant::now(),
        }
    }

    /// The descriptor of the gateway's own poll: readable whenever a client or the listener
    /// has something, so the stepping thread can sleep on it with its other sources.
    pub fn poll_fd(&self) -> RawFd {
        self.event_loop.poll.as_raw_fd()
    }

    /// Serves what is ready (accepts, requests, frames), asks the shards when a push is due and
    /// pushes their answers, without waiting; after the stop flag, makes the final pull and
    /// closes every client. True if anything was done.
    pub fn step(&mut self, now: Instant) -> bool {
        match self.phase {
            Phase::Serving if self.event_loop.stop.load(Ordering::Relaxed) => {
                self.phase = Phase::Finishing(self.event_loop.begin_final_pull(now));
                true
            }
            Phase::Serving => {
                self.event_loop.pull_if_due(now);
                // Answers first: a delivery never waits for the sockets' poll.
                let pushed = self.event_loop.collect_pulls();
                let served = now >= self.next_socket_poll && {
                    self.next_socket_poll = now + self.event_loop.config.socket_poll_every;
                    self.event_loop.serve_sockets(Duration::ZERO)
                };
                pushed || served
            }
            Phase::Finishing(deadline) => {
                if self.event_loop.final_pull_done(now, deadline) {
                    self.event_loop.say_goodbye();
                    self.phase = Phase::Done;
                    self.done.store(true, Ordering::Release);
                }
                true
            }
            Phase::Done => false,
        }
    }

    /// True once the final pull was pushed and every client told goodbye.
    pub fn finished(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The latest time to be stepped again if nothing wakes the thread: the next push, or soon
    /// while answers are awaited.
    pub fn wake_at(&self, now: Instant) -> Instant {
        match self.phase {
            Phase::Serving => {
                let held = self.event_loop.pull.as_ref().is_some_and(EnginePull::held);
                let wait = if held {
                    MAX_IDLE
                } else {
                    self.event_loop.wait(now, self.event_loop.next_push)
                };
                now + wait
            }
            Phase::Finishing(_) => now + Duration::from_millis(1),
            Phase::Done => now + MAX_IDLE,
        }
    }
}

impl crate::pipeline::Stage for GatewayStage {
    fn describe(&self) -> String {
        match self.event_loop.listener.local_addr() {
            Ok(addr) => format!("gateway {addr}"),
            Err(_) => "gateway".to_owned(),
        }
    }

    /// The gateway's own poll is one more source of the thread's: readable whenever a client
    /// or the listener is. Held pulls are answered through the waker given at construction.
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        _waker: &Arc<crate::pipeline::ThreadWaker>,
    ) -> std::io::Result<()> {
        let fd = self.poll_fd();
        registry.register(
            &mut mio::unix::SourceFd(&fd),
            token,
            mio::Interest::READABLE,
        )
    }

    fn step(&mut self, now: Instant) -> bool {
        GatewayStage::step(self, now)
    }

    fn finished(&self) -> bool {
        GatewayStage::finished(self)
    }

    fn wake_at(&self, now: Instant) -> Instant {
        GatewayStage::wake_at(self, now)
    }
}
