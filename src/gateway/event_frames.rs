//! One kline update, encoded at most once per event format and framed at most once per
//! (format, framing), whatever the number of subscribers: the bytes every subscriber's buffer
//! gets a copy of.
//!
//! A slot's subscribers may want it as `kline` events or, on USD-M, as `continuous_kline` events
//! (see [`StreamKind`]), raw or in the combined envelope; each of the four frames is built on
//! first need. The buffers are kept from one event to the next, so steady-state fan-out does
//! not allocate.

use super::catalog_index::CatalogIndex;
use super::history::SlotKey;
use super::ws_frame::write_text_frame;
use crate::egress::kline_event::write_continuous_kline_event;
use crate::egress::stream_name::{StreamKind, write_stream_name};
use crate::egress::stream_path::Framing;
use crate::egress::{write_combined, write_kline_event};
use crate::kline::Kline;

/// A subscription's key: the slot and the format its events are sent in.
pub type StreamKey = (SlotKey, StreamKind);

/// The current update and its events and frames, built on first need.
#[derive(Debug, Default)]
pub struct EventFrames {
    /// The update being sent, once [`EventFrames::encode`] accepted it.
    update: Option<Update>,
    /// The update's event JSON per kind (empty: not built yet).
    events: [Vec<u8>; 2],
    /// The update's frames per kind and framing, when built.
    frames: [[Option<Vec<u8>>; 2]; 2],
    /// Buffers of earlier frames, kept for reuse.
    spare: Vec<Vec<u8>>,
    /// The stream name and the envelope, while a combined frame is built.
    name: Vec<u8>,
    envelope: Vec<u8>,
}

/// What one event says.
#[derive(Debug, Clone, Copy)]
struct Update {
    key: SlotKey,
    kline: Kline,
    closed: bool,
    event_ms: i64,
}

fn framing_index(framing: Framing) -> usize {
    match framing {
        Framing::Raw => 0,
        Framing::Combined => 1,
    }
}

impl EventFrames {
    /// Empty buffers.
    pub fn new() -> EventFrames {
        EventFrames::default()
    }

    /// Takes the update of slot `key` stamped `event_ms`, replacing the previous one; false
    /// (and no update) when the catalog does not name the slot.
    pub fn encode(
        &mut self,
        index: &CatalogIndex,
        key: SlotKey,
        kline: &Kline,
        closed: bool,
        event_ms: i64,
    ) -> bool {
        for frame in self.frames.iter_mut().flatten() {
            self.spare.extend(frame.take());
        }
        for event in &mut self.events {
            event.clear();
        }
        let named = index.symbol_at(key.0).is_some() && index.interval_at(key.1).is_some();
        self.update = named.then_some(Update {
            key,
            kline: *kline,
            closed,
            event_ms,
        });
        named
    }

    /// The update as a WebSocket frame of `kind`'s event for `framing`: a text frame of the
    /// event, or of the event in the combined envelope. Empty before a successful
    /// [`EventFrames::encode`].
    pub fn frame(&mut self, index: &CatalogIndex, kind: StreamKind, framing: Framing) -> &[u8] {
        let Some(update) = self.update else {
            return &[];
        };
        let (Some((symbol, decimals)), Some(interval)) = (
            index.symbol_at(update.key.0),
            index.interval_at(update.key.1),
        ) else {
            return &[];
        };
        let event = &mut self.events[kind.index()];
        if event.is_empty() {
            let (kline, closed) = (&update.kline, update.closed);
            match kind {
                StreamKind::Kline => write_kline_event(
                    event,
                    update.event_ms,
                    symbol,
                    interval,
                    kline,
                    closed,
                    *decimals,
                ),
                StreamKind::ContinuousPerpetual => write_continuous_kline_event(
                    event,
                    update.event_ms,
                    symbol,
                    interval,
                    kline,
                    closed,
                    *decimals,
                ),
            }
        }
        let slot = &mut self.frames[kind.index()][framing_index(framing)];
        if slot.is_none() {
            let mut frame = self.spare.pop().unwrap_or_default();
            frame.clear();
            match framing {
                Framing::Raw => write_text_frame(&mut frame, event),
                Framing::Combined => {
                    self.name.clear();
                    write_stream_name(&mut self.name, symbol, interval, kind);
                    self.envelope.clear();
                    // Stream names are built from catalog names, which are UTF-8.
                    let name = std::str::from_utf8(&self.name).unwrap_or_default();
                    write_combined(&mut self.envelope, name, event);
                    write_text_frame(&mut frame, &self.envelope);
                }
            }
            *slot = Some(frame);
        }
        slot.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::Decimals;
    use crate::gateway::config::Catalog;
    use crate::interval::Interval;

    fn index() -> CatalogIndex {
        CatalogIndex::new(Catalog {
            symbols: vec![("BTCUSDT".to_owned(), Decimals::new(2, 3))],
            intervals: Interval::parse_list("1m").unwrap(),
            ..Catalog::default()
        })
    }

    /// The payload of an unmasked text frame shorter than 64 KiB.
    fn payload(frame: &[u8]) -> &[u8] {
        assert_eq!(frame[0], 0x81);
        match frame[1] {
            126 => &frame[4..],
            n => &frame[2..2 + usize::from(n)],
        }
    }

    fn json(frame: &[u8]) -> serde_json::Value {
        serde_json::from_slice(payload(frame)).unwrap()
    }

    #[test]
    fn frames_the_same_event_raw_and_combined() {
        let index = index();
        let mut frames = EventFrames::new();
        let kline = Kline::empty(60_000, 119_999, 12_345_000_000);
        assert!(frames.encode(&index, (0, 0), &kline, true, 7));
        let event = json(frames.frame(&index, StreamKind::Kline, Framing::Raw));
        assert_eq!(event["s"], "BTCUSDT");
        assert_eq!(event["E"], 7);
        assert_eq!(event["k"]["c"], "123.45");
        assert_eq!(event["k"]["x"], true);
        let combined = json(frames.frame(&index, StreamKind::Kline, Framing::Combined));
        assert_eq!(combined["stream"], "btcusdt@kline_1m");
        assert_eq!(combined["data"], event);
        // A slot the catalog does not name gives no event and no frames.
        assert!(!frames.encode(&index, (1, 0), &kline, false, 8));
        assert!(
            frames
                .frame(&index, StreamKind::Kline, Framing::Raw)
                .is_empty()
        );
    }

    #[test]
    fn continuous_subscribers_get_the_same_kline_as_continuous_kline_events() {
        let index = index();
        let mut frames = EventFrames::new();
        let kline = Kline::empty(60_000, 119_999, 12_345_000_000);
        assert!(frames.encode(&index, (0, 0), &kline, false, 9));
        let kline_event = json(frames.frame(&index, StreamKind::Kline, Framing::Raw));
        let continuous = json(frames.frame(&index, StreamKind::ContinuousPerpetual, Framing::Raw));
        assert_eq!(continuous["e"], "continuous_kline");
        assert_eq!(continuous["ps"], "BTCUSDT");
        assert_eq!(continuous["ct"], "PERPETUAL");
        let mut k = kline_event["k"].clone();
        k.as_object_mut().unwrap().remove("s");
        assert_eq!(continuous["k"], k);
        let combined =
            json(frames.frame(&index, StreamKind::ContinuousPerpetual, Framing::Combined));
        assert_eq!(combined["stream"], "btcusdt_perpetual@continuousKline_1m");
        assert_eq!(combined["data"], continuous);
    }
}
