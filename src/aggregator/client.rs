//! The consumer side of the delta-pull protocol.

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use super::protocol::{ConsumerId, Delta, PullRequest, ShardRequest, Wake};

/// Why a pull returned no delta. Nothing is lost either way: what was not delivered is owed
/// to the next pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullError {
    /// The shard did not answer in time (its answer, if it comes, is returned by a later pull).
    Timeout,
    /// The shard's request queue is full.
    Busy,
    /// The shard is gone.
    Disconnected,
}

impl std::fmt::Display for PullError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PullError::Timeout => "the shard did not answer the pull in time",
            PullError::Busy => "the shard's request queue is full",
            PullError::Disconnected => "the shard has stopped",
        })
    }
}

impl std::error::Error for PullError {}

/// One consumer's connection to one shard: sends pulls with its own `bounded(1)` reply
/// channel and recycles reply buffers so steady-state pulls do not allocate.
#[derive(Debug)]
pub struct DeltaConsumer {
    id: ConsumerId,
    requests: Sender<ShardRequest>,
    reply_tx: Sender<Delta>,
    reply_rx: Receiver<Delta>,
    spare: Option<Delta>,
    hold: Option<Wake>,
    on_request: Option<Wake>,
}

impl DeltaConsumer {
    /// A consumer registered as `id` on the shard that serves `requests`.
    pub fn new(id: ConsumerId, requests: Sender<ShardRequest>) -> DeltaConsumer {
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        DeltaConsumer {
            id,
            requests,
            reply_tx,
            reply_rx,
            spare: None,
            hold: None,
            on_request: None,
        }
    }

    /// Calls `wake` after each request is sent: how the engine wakes a parked shard thread.
    pub fn on_request(&mut self, wake: Wake) {
        self.on_request = Some(wake);
    }

    /// From now on, requests are held by the shard until something changed for this consumer,
    /// and `wake` is called when the answer has been sent (see [`PullRequest::hold`]).
    pub fn hold_until_changed(&mut self, wake: Wake) {
        self.hold = Some(wake);
    }

    /// The id the shard knows this consumer by.
    pub fn id(&self) -> ConsumerId {
        self.id
    }

    /// Asks the shard what changed since the last delivered pull, without waiting.
    pub fn request(&mut self) -> Result<(), PullError> {
        let pull = PullRequest {
            consumer: self.id,
            buffers: self.spare.take().unwrap_or_default(),
            reply: self.reply_tx.clone(),
            hold: self.hold.clone(),
        };
        match self.requests.try_send(ShardRequest::Pull(pull)) {
            Ok(()) => {
                if let Some(wake) = &self.on_request {
                    (wake.0)();
                }
                Ok(())
            }
            Err(TrySendError::Full(ShardRequest::Pull(pull))) => {
                self.spare = Some(pull.buffers);
                Err(PullError::Busy)
            }
            Err(_) => Err(PullError::Disconnected),
        }
    }

    /// Waits up to `timeout` for the answer to a request.
    pub fn receive(&self, timeout: Duration) -> Result<Delta, PullError> {
        self.reply_rx.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => PullError::Timeout,
            RecvTimeoutError::Disconnected => PullError::Disconnected,
        })
    }

    /// An answer that arrived after an earlier pull had stopped waiting, if there is one.
    pub fn take_late(&self) -> Option<Delta> {
        self.reply_rx.try_recv().ok()
    }

    /// Requests a delta and waits up to `timeout` for it. An answer that arrived after an
    /// earlier pull timed out is returned first, so deltas always come in order.
    pub fn pull(&mut self, timeout: Duration) -> Result<Delta, PullError> {
        if let Some(late) = self.take_late() {
            return Ok(late);
        }
        self.request()?;
        self.receive(timeout)
    }

    /// Hands a processed delta's buffers back for the next pull.
    pub fn recycle(&mut self, delta: Delta) {
        self.spare = Some(delta);
    }
}
