//! The gateway's graceful stop: a final pull from the shards, pushed to the subscribers, then a
//! close frame to every WebSocket client, each written as far as its socket takes it at once.

use std::time::{Duration, Instant};

use super::client::Phase;
use super::event_loop::EventLoop;
use super::ws_frame::write_close_frame;

/// How long the final pull waits for the shards' answers. A held pull is answered only if
/// something changed since the last answer, so without news this is how long it waits.
const FINAL_PULL_WAIT: Duration = Duration::from_millis(200);

/// How often the final pull looks for answers.
const FINAL_PULL_POLL: Duration = Duration::from_millis(1);

impl EventLoop {
    /// Pushes what the shards answer to a final pull, then says goodbye to every client.
    pub(super) fn finish(&mut self) {
        let deadline = Instant::now() + FINAL_PULL_WAIT;
        self.request_pull(Instant::now());
        loop {
            self.collect_pulls();
            let waiting = self
                .pull
                .as_ref()
                .is_some_and(|pull| pull.waiting_since().is_some());
            if !waiting || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(FINAL_PULL_POLL);
        }
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
