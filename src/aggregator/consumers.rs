//! Delta bookkeeping per consumer: what each one has been delivered, and answering requests.

use crossbeam_channel::Receiver;

use super::protocol::{ConsumerId, KlineRecord, PullRequest, ShardRequest, SnapshotRequest};
use super::shard::Shard;

/// Spare reply buffers kept from undelivered replies; more would only hold memory.
const MAX_SPARE_DELTAS: usize = 4;

/// Where one consumer stands.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConsumerState {
    /// First closed-log sequence number not yet delivered.
    cursor: u64,
    /// Shard version as of the last delivered pull: slots changed after it are owed.
    delivered_version: u64,
    /// Closed klines lost to the backlog bound and not yet reported in a delivered reply.
    missed: u64,
}

impl Shard {
    /// Registers a consumer. Closed klines are kept for it from now on, and its first pull
    /// returns every open kline.
    pub fn register_consumer(&mut self) -> ConsumerId {
        let id = ConsumerId(self.consumers.len() as u32);
        self.consumers.push(ConsumerState {
            cursor: self.closed.end_seq(),
            delivered_version: 0,
            missed: 0,
        });
        id
    }

    /// Answers every request waiting on `requests`, and the held pulls that now have news,
    /// without blocking; returns how many were answered or held.
    pub fn serve_requests(&mut self, requests: &Receiver<ShardRequest>) -> usize {
        let mut served = self.answer_held();
        while let Ok(request) = requests.try_recv() {
            self.handle_request(request);
            served += 1;
        }
        served
    }

    /// Answers one request with `try_send`; an undelivered reply is owed to the next pull.
    pub fn handle_request(&mut self, request: ShardRequest) {
        match request {
            ShardRequest::Pull(pull) => self.answer_pull(pull),
            ShardRequest::Snapshot(snapshot) => self.answer_snapshot(snapshot),
        }
    }

    fn answer_pull(&mut self, pull: PullRequest) {
        let Some(&standing) = self.consumers.get(pull.consumer.0 as usize) else {
            log::warn!(
                "pull from unregistered consumer {:?} ignored",
                pull.consumer
            );
            return;
        };
        if pull.hold.is_some() && !self.has_news(standing) {
            self.hold(pull);
            return;
        }
        let state = &mut self.consumers[pull.consumer.0 as usize];
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
        self.closed.copy_from(state.cursor, &mut delta.closed);
        self.collect_changed(state.delivered_version, &mut delta.open);
        let delivered_to = (self.closed.end_seq(), self.version);
        match pull.reply.try_send(delta) {
            Ok(()) => {
                let state = &mut self.consumers[pull.consumer.0 as usize];
                (state.cursor, state.delivered_version) = delivered_to;
                state.missed = 0;
                self.release_delivered();
                if let Some(wake) = &pull.hold {
                    (wake.0)();
                }
            }
            Err(undelivered) => {
                self.stats.replies_undelivered += 1;
                if self.spare_deltas.len() < MAX_SPARE_DELTAS {
                    self.spare_deltas.push(undelivered.into_inner());
                }
            }
        }
    }

    /// True when a pull by a consumer standing at `state` would not be empty.
    fn has_news(&self, state: ConsumerState) -> bool {
        state.cursor < self.closed.end_seq()
            || state.delivered_version < self.version
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
    fn answer_held(&mut self) -> usize {
        let mut answered = 0;
        let mut i = 0;
        while i < self.held.len() {
            let consumer = self.held[i].consumer.0 as usize;
            if self
                .consumers
                .get(consumer)
                .is_some_and(|s| self.has_news(*s))
            {
                let pull = self.held.swap_remove(i);
                self.answer_pull(pull);
                answered += 1;
            } else {
                i += 1;
            }
        }
        answered
    }

    fn answer_snapshot(&mut self, request: SnapshotRequest) {
        let mut snapshot = request.buffers;
        snapshot.open.clear();
        self.collect_changed(0, &mut snapshot.open);
        let _ = request.reply.try_send(snapshot);
    }

    /// Appends every open kline whose slot changed after `since_version`: by a trade applied
    /// to the symbol (all its intervals move together) or by a rollover or correction.
    fn collect_changed(&self, since_version: u64, out: &mut Vec<KlineRecord>) {
        let n = self.n_intervals;
        for (symbol, state) in self.symbols.iter().enumerate() {
            if state.version <= since_version {
                continue;
            }
            let traded = state.trade_version > since_version;
            for interval in 0..n {
                let at = self.slot_id(symbol, interval);
                let changed = traded || self.bases[at.index].version > since_version;
                if changed && self.slots[at.index].is_active() {
                    out.push(KlineRecord {
                        symbol: symbol as u32,
                        interval: interval as u16,
                        correction: false,
                        kline: self.kline_at(at),
                    });
                }
            }
        }
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
