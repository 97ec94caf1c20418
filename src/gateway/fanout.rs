//! Pulls and pushes: ask the shards what changed, and for each answer that has arrived encode
//! every event once per framing, append the same bytes to every subscriber, and drop
//! subscribers that cannot keep up.

use std::time::Instant;

use super::client::Phase;
use super::event_loop::EventLoop;
use super::history::SlotKey;
use super::stats::add;
use crate::egress::stream_name::StreamKind;
use crate::kline::Kline;
use crate::pipeline::now_ms;

impl EventLoop {
    /// Asks the shards what changed (those not already asked), without waiting.
    pub(super) fn request_pull(&mut self, now: Instant) {
        let Some(pull) = &mut self.pull else {
            return;
        };
        match pull.request(now) {
            Ok(0) => {}
            Ok(_) => add(&self.stats.pulls, 1),
            Err(_) => {
                log::info!("gateway: the engine is gone; still serving what it has");
                self.pull = None;
            }
        }
    }

    /// Pushes every answer that has arrived: its closed klines, then its changed open ones;
    /// true if one had.
    pub(super) fn collect_pulls(&mut self) -> bool {
        let Some(mut pull) = self.pull.take() else {
            return false;
        };
        let mut pushed = false;
        while let Some((shard, delta)) = pull.try_next() {
            if !pushed {
                // Once per pull, never per event: symbols listed since are named from now on.
                self.index.refresh();
                pushed = true;
            }
            let event_ms = now_ms();
            for record in &delta.closed {
                let key = (pull.global(shard, record.symbol), record.interval);
                self.history.close(key, &record.kline);
                self.deliver(key, &record.kline, true, event_ms);
            }
            for record in &delta.open {
                let key = (pull.global(shard, record.symbol), record.interval);
                self.history.open(key, &record.kline);
                self.deliver(key, &record.kline, false, event_ms);
            }
            pull.recycle(shard, delta);
        }
        self.pull = Some(pull);
        if pushed {
            self.flush_all();
        }
        pushed
    }

    /// Appends one event to every subscriber of its slot, encoded once per event format and
    /// framing.
    fn deliver(&mut self, key: SlotKey, kline: &Kline, closed: bool, event_ms: i64) {
        let mut encoded = false;
        let max = self.config.max_write_buffer;
        let mut sent = 0;
        let mut written = 0;
        for kind in StreamKind::ALL {
            let Some(tokens) = self.subscribers.get(&(key, kind)) else {
                continue;
            };
            if tokens.is_empty() {
                continue;
            }
            if !encoded {
                if !self
                    .frames
                    .encode(&self.index, key, kline, closed, event_ms)
                {
                    return;
                }
                encoded = true;
                add(&self.stats.events_encoded, 1);
            }
            for token in tokens {
                let Some(client) = self.clients.get_mut(token) else {
                    continue;
                };
                let Phase::WebSocket(framing) = client.phase else {
                    continue;
                };
                if client.slow {
                    continue;
                }
                let frame = self.frames.frame(&self.index, kind, framing);
                let (queued, bytes) = client.queue(frame, max);
                sent += u64::from(queued);
                written += bytes;
            }
        }
        add(&self.stats.events_sent, sent);
        if written > 0 {
            add(&self.stats.bytes_sent, written as u64);
        }
    }

    /// Sends what every client has pending; disconnects the slow, the broken and the finished.
    fn flush_all(&mut self) {
        let mut gone = Vec::new();
        let mut written = 0;
        for (token, client) in &mut self.clients {
            if client.slow {
                gone.push((*token, false));
            } else if client.pending() > 0 {
                match client.flush() {
                    Ok(n) => {
                        written += n;
                        if client.finished() {
                            gone.push((*token, false));
                        }
                    }
                    Err(_) => gone.push((*token, true)),
                }
            }
        }
        add(&self.stats.bytes_sent, written as u64);
        for (token, error) in gone {
            if let Some(client) = self.clients.remove(&token) {
                self.forget(token, client, error);
            }
        }
    }
}
