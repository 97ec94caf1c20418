//! What each consumer has been delivered, and answering its pulls: the closed klines since its
//! cursor, and the open klines changed since its last delivered pull.
//!
//! The open klines are read through [`OpenKlines`], so this module needs nothing of how they
//! are kept. Changes are stamped with epochs: every delivery ends one, so "changed since my
//! last delivery" is "stamped with a later epoch".

use crossbeam_channel::Receiver;

use super::closed_log::ClosedLog;
use super::protocol::{ConsumerId, Delta, KlineRecord, PullRequest, ShardRequest, SnapshotRequest};
use super::stats::ShardStats;

/// Spare reply buffers kept from undelivered replies; more would only hold memory.
const MAX_SPARE_DELTAS: usize = 4;

/// What the delta log needs from whoever keeps the open klines.
pub(crate) trait OpenKlines {
    /// Appends every open kline changed in an epoch after `since` (all of them for 0).
    fn collect_changed(&mut self, since: u64, out: &mut Vec<KlineRecord>);
    /// Every consumer has been delivered what changed up to `epoch`: what the book keeps to
    /// find those changes again may go.
    fn delivered_through(&mut self, epoch: u64);
    /// The epoch changes are stamped with now.
    fn epoch(&self) -> u64;
    /// Ends the current epoch: what was collected in it is delivered or owed as a whole.
    fn end_epoch(&mut self);
    /// The epoch of the latest change; 0 if nothing ever changed.
    fn last_change(&self) -> u64;
}

/// Where one consumer stands.
#[derive(Debug, Clone, Copy)]
struct ConsumerState {
    /// First closed-log sequence number not yet delivered.
    cursor: u64,
    /// Epoch of the last delivered pull: later changes are owed.
    delivered_epoch: u64,
    /// Closed klines lost to the backlog bound and not yet reported in a delivered reply.
    missed: u64,
}

/// The closed log, the consumers' cursors into it and the pulls held until news.
#[derive(Debug)]
pub(crate) struct DeltaLog {
    closed: ClosedLog,
    consumers: Vec<ConsumerState>,
    /// Reply buffers that came back undelivered, reused for later replies.
    spare_deltas: Vec<Delta>,
    /// Pulls held until something changes for their consumer (at most one per consumer).
    held: Vec<PullRequest>,
}

impl DeltaLog {
    /// A log keeping at most `max_backlog` closed klines for a consumer that has not pulled.
    pub(crate) fn new(max_backlog: usize) -> DeltaLog {
        DeltaLog {
            closed: ClosedLog::new(max_backlog),
            consumers: Vec::new(),
            spare_deltas: Vec::new(),
            held: Vec::new(),
        }
    }

    /// Registers a consumer: closed klines are kept for it from now on, and its first pull
    /// returns every open kline.
    pub(crate) fn register(&mut self) -> ConsumerId {
        let id = ConsumerId(self.consumers.len() as u32);
        self.consumers.push(ConsumerState {
            cursor: self.closed.end_seq(),
            delivered_epoch: 0,
            missed: 0,
        });
        id
    }

    /// Appends a closed kline for every consumer (kept only while one is registered).
    #[inline]
    pub(crate) fn push_closed(&mut self, record: KlineRecord, stats: &mut ShardStats) {
        if self.consumers.is_empty() {
            return;
        }
        if self.closed.push(record) {
            stats.closed_missed += 1;
        }
    }

    /// Answers every request waiting on `requests`, and the held pulls that now have news,
    /// without blocking; returns how many were answered or held.
    pub(crate) fn serve(
        &mut self,
        requests: &Receiver<ShardRequest>,
        open: &mut impl OpenKlines,
        stats: &mut ShardStats,
    ) -> usize {
        let mut served = self.answer_held(open, stats);
        while let Ok(request) = requests.try_recv() {
            self.handle(request, open, stats);
            served += 1;
        }
        served
    }

    /// Answers one request with `try_send`; an undelivered reply is owed to the next pull.
    pub(crate) fn handle(
        &mut self,
        request: ShardRequest,
        open: &mut impl OpenKlines,
        stats: &mut ShardStats,
    ) {
        match request {
            ShardRequest::Pull(pull) => self.answer_pull(pull, open, stats),
            ShardRequest::Snapshot(snapshot) => answer_snapshot(snapshot, open),
        }
    }

    fn answer_pull(
        &mut self,
        pull: PullRequest,
        open: &mut impl OpenKlines,
        stats: &mut ShardStats,
    ) {
        let consumer = pull.consumer.0 as usize;
        let Some(&standing) = self.consumers.get(consumer) else {
            log::warn!(
                "pull from unregistered consumer {:?} ignored",
                pull.consumer
            );
            return;
        };
        if pull.hold.is_some() && !self.has_news(standing, open) {
            self.hold(pull);
            return;
        }
        let state = &mut self.consumers[consumer];
        if state.cursor < self.closed.first_seq() {
            state.missed += self.closed.first_seq() - state.cursor;
            state.cursor = self.closed.first_seq();
        }
        let state = *state;
        let mut delta = pull.buffers;
        if delta.closed.capacity() == 0 {
            delta = self.spare_deltas.pop().unwrap_or(delta);
        }
        delta.clear();
        delta.missed_closed = state.missed;
        // The only consumer is owed every record held: its reply takes the log's buffer (and
        // the log the reply's) instead of a copy of every closed kline.
        let handed_over = self.consumers.len() == 1 && state.cursor == self.closed.first_seq();
        if handed_over {
            self.closed.take_all(&mut delta.closed);
        } else {
            self.closed.copy_from(state.cursor, &mut delta.closed);
        }
        open.collect_changed(state.delivered_epoch, &mut delta.open);
        let delivered_to = (self.closed.end_seq(), open.epoch());
        // Whatever changes from here on is news to this consumer, delivered or not.
        open.end_epoch();
        match pull.reply.try_send(delta) {
            Ok(()) => {
                let state = &mut self.consumers[consumer];
                (state.cursor, state.delivered_epoch) = delivered_to;
                state.missed = 0;
                self.release_delivered();
                if let Some(oldest) = self.consumers.iter().map(|c| c.delivered_epoch).min() {
                    open.delivered_through(oldest);
                }
                if let Some(wake) = &pull.hold {
                    (wake.0)();
                }
            }
            Err(undelivered) => {
                stats.replies_undelivered += 1;
                let mut delta = undelivered.into_inner();
                if handed_over {
                    // Still owed: nothing was pushed since they were taken.
                    self.closed.put_back(&mut delta.closed);
                }
                if self.spare_deltas.len() < MAX_SPARE_DELTAS {
                    self.spare_deltas.push(delta);
                }
            }
        }
    }

    /// True when a pull by a consumer standing at `state` would not be empty.
    fn has_news(&self, state: ConsumerState, open: &impl OpenKlines) -> bool {
        state.cursor < self.closed.end_seq()
            || state.delivered_epoch < open.last_change()
            || state.missed > 0
            || self.closed.first_seq() > state.cursor
    }

    /// Keeps `pull` until its consumer has news; it replaces one the consumer had held before
    /// (asked again after waiting long), which then gets no answer.
    fn hold(&mut self, pull: PullRequest) {
        match self.held.iter_mut().find(|h| h.consumer == pull.consumer) {
            Some(earlier) => *earlier = pull,
            None => self.held.push(pull),
        }
    }

    /// Answers the held pulls whose consumer has news; returns how many.
    fn answer_held(&mut self, open: &mut impl OpenKlines, stats: &mut ShardStats) -> usize {
        let mut answered = 0;
        let mut i = 0;
        while i < self.held.len() {
            let consumer = self.held[i].consumer.0 as usize;
            if self
                .consumers
                .get(consumer)
                .is_some_and(|s| self.has_news(*s, open))
            {
                let pull = self.held.swap_remove(i);
                self.answer_pull(pull, open, stats);
                answered += 1;
            } else {
                i += 1;
            }
        }
        answered
    }

    /// Drops closed klines every consumer has received.
    fn release_delivered(&mut self) {
        let oldest = self
            .consumers
            .iter()
            .map(|c| c.cursor)
            .min()
            .unwrap_or(self.closed.end_seq());
        self.closed.release_before(oldest);
    }
}

fn answer_snapshot(request: SnapshotRequest, open: &mut impl OpenKlines) {
    let mut snapshot = request.buffers;
    snapshot.open.clear();
    open.collect_changed(0, &mut snapshot.open);
    let _ = request.reply.try_send(snapshot);
}
