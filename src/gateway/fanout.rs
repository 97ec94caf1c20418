//! Each push: pull what changed from the engine, encode every event once per framing, append
//! the same bytes to every subscriber, and drop subscribers that cannot keep up.

use std::time::Duration;

use super::catalog_index::CatalogIndex;
use super::event_loop::EventLoop;
use super::history::SlotKey;
use super::stats::add;
use super::ws_frame::write_text_frame;
use crate::aggregator::{KlineRecord, PullError};
use crate::egress::stream_name::write_stream_name;
use crate::egress::stream_path::Framing;
use crate::egress::{write_combined, write_kline_event};
use crate::kline::Kline;
use crate::pipeline::now_ms;

/// Bounds on how long one pull may wait for the shards.
const MIN_PULL_WAIT: Duration = Duration::from_millis(1);
const MAX_PULL_WAIT: Duration = Duration::from_millis(20);

/// Appends the kline event of a slot to `out`; false when the catalog does not name the slot.
fn encode_event(
    index: &CatalogIndex,
    key: SlotKey,
    kline: &Kline,
    closed: bool,
    event_ms: i64,
    out: &mut Vec<u8>,
) -> bool {
    let (Some((symbol, decimals)), Some(interval)) =
        (index.symbol_at(key.0), index.interval_at(key.1))
    else {
        return false;
    };
    write_kline_event(out, event_ms, symbol, interval, kline, closed, *decimals);
    true
}

/// Appends `event` framed for `framing` (wrapped in the combined envelope when asked).
fn frame_as(index: &CatalogIndex, key: SlotKey, framing: Framing, event: &[u8], out: &mut Vec<u8>) {
    match framing {
        Framing::Raw => write_text_frame(out, event),
        Framing::Combined => {
            let (Some((symbol, _)), Some(interval)) =
                (index.symbol_at(key.0), index.interval_at(key.1))
            else {
                return;
            };
            let mut name = Vec::with_capacity(32);
            write_stream_name(&mut name, symbol, interval);
            let mut payload = Vec::with_capacity(event.len() + name.len() + 24);
            write_combined(&mut payload, &String::from_utf8_lossy(&name), event);
            write_text_frame(out, &payload);
        }
    }
}

/// The complete frame of one open or closed kline event, stamped now; `None` for an unknown slot.
pub(super) fn frame_event(
    index: &CatalogIndex,
    key: SlotKey,
    kline: &Kline,
    closed: bool,
    framing: Framing,
) -> Option<Vec<u8>> {
    let mut event = Vec::new();
    if !encode_event(index, key, kline, closed, now_ms(), &mut event) {
        return None;
    }
    let mut frame = Vec::new();
    frame_as(index, key, framing, &event, &mut frame);
    Some(frame)
}

impl EventLoop {
    /// Pulls once and pushes every closed kline, then every changed open one.
    pub(super) fn push(&mut self) {
        if let Some(mut consumer) = self.consumer.take() {
            let wait = self
                .config
                .push_interval
                .clamp(MIN_PULL_WAIT, MAX_PULL_WAIT);
            let gone = match consumer.pull(wait) {
                Ok(delta) => {
                    add(&self.stats.pulls, 1);
                    let event_ms = now_ms();
                    for record in &delta.closed {
                        self.history
                            .close((record.symbol, record.interval), &record.kline);
                        self.deliver(record, true, event_ms);
                    }
                    for record in &delta.open {
                        self.history
                            .open((record.symbol, record.interval), &record.kline);
                        self.deliver(record, false, event_ms);
                    }
                    false
                }
                Err(PullError::Disconnected) => true,
                Err(_) => false,
            };
            if gone {
                log::info!("gateway: the engine is gone; still serving what it has");
            } else {
                self.consumer = Some(consumer);
            }
        }
        self.flush_all();
    }

    /// Appends one event to every subscriber of its slot, encoded once per framing.
    fn deliver(&mut self, record: &KlineRecord, closed: bool, event_ms: i64) {
        let key = (record.symbol, record.interval);
        let Some(tokens) = self.subscribers.get(&key) else {
            return;
        };
        if tokens.is_empty() {
            return;
        }
        let mut event = Vec::with_capacity(384);
        if !encode_event(
            &self.index,
            key,
            &record.kline,
            closed,
            event_ms,
            &mut event,
        ) {
            return;
        }
        add(&self.stats.events_encoded, 1);
        let mut raw = Vec::new();
        let mut combined = Vec::new();
        let max = self.config.max_write_buffer;
        let mut sent = 0;
        for token in tokens {
            let Some(client) = self.clients.get_mut(token) else {
                continue;
            };
            let super::client::Phase::WebSocket(framing) = client.phase else {
                continue;
            };
            if client.slow {
                continue;
            }
            let frame = match framing {
                Framing::Raw => &mut raw,
                Framing::Combined => &mut combined,
            };
            if frame.is_empty() {
                frame_as(&self.index, key, framing, &event, frame);
            }
            if client.pending() + frame.len() > max {
                let _ = client.flush();
                if client.pending() + frame.len() > max {
                    client.slow = true;
                    continue;
                }
            }
            client.output().extend_from_slice(frame);
            sent += 1;
        }
        add(&self.stats.events_sent, sent);
    }

    /// Sends what every client has pending; disconnects the slow, the broken and the finished.
    fn flush_all(&mut self) {
        let mut dead = Vec::new();
        for (token, client) in &mut self.clients {
            if client.slow {
                dead.push((*token, true));
            } else if client.pending() > 0 && (client.flush().is_err() || client.finished()) {
                dead.push((*token, false));
            }
        }
        for (token, slow) in dead {
            if let Some(client) = self.clients.remove(&token) {
                if slow {
                    add(&self.stats.clients_dropped_slow, 1);
                }
                self.forget(token, client);
            }
        }
    }
}
