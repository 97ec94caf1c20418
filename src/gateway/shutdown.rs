//! The gateway's graceful stop: a final pull from the shards, pushed to the subscribers, then a
//! close frame to every WebSocket client, each written as far as its socket takes it at once.

use std::time::{Duration, Instant};

use super::client::Phase;
use super::event_loop::EventLoop;
use super::ws_frame::write_close_frame;

/// How long the final pull waits for the shards' answers. A held pull is answered only if
/// something changed since the last answer, so without news this is how long it waits.
pub(super) const FINAL_PULL_WAIT: Duration = Duration::from_millis(200);

/// How often a gateway on its own thread looks for the final answers.
const FINAL_PULL_POLL: Duration = Duration::from_millis(1);

impl EventLoop {
    /// Pushes what the shards answer to a final pull, then says goodbye to every client,
    /// waiting (on the gateway's own thread) up to [`FINAL_PULL_WAIT`] for the answers.
    pub(super) fn finish(&mut self) {
        let deadline = self.begin_final_pull(Instant::now());
        while !self.final_pull_done(Instant::now(), deadline) {
            std::thread::sleep(FINAL_PULL_POLL);
        }
        self.say_goodbye();
    }

    /// Asks every shard once more; returns until when the answers are awaited.
    pub(super) fn begin_final_pull(&mut self, now: Instant) -> Instant {
        self.request_pull(now);
        now + FINAL_PULL_WAIT
    }

    /// Pushes the answers that have come; true once every shard answered or `deadline` passed.
    pub(super) fn final_pull_done(&mut self, now: Instant, deadline: Instant) -> bool {
        self.collect_pulls();
        let waiting = self
            .pull
            .as_ref()
            .is_some_and(|pull| pull.waiting_since().is_some());
        !waiting || now >= deadline
    }

    /// A close frame to every WebSocket client, and what each socket takes at once.
    pub(super) fn say_goodbye(&mut self) {
        for client in self.clients.values_mut() {
            if matches!(client.phase, Phase::WebSocket(_)) && !client.closing {
                write_close_frame(client.output());
                client.closing = true;
            }
            // The process is stopping: what the socket does not take now is not waited for.
            let _ = client.flush();
        }
    }
}
