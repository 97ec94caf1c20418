//! One kline event, encoded once and framed at most once per framing, whatever the number of
//! subscribers: the bytes every subscriber's buffer gets a copy of.
//!
//! The buffers are kept from one event to the next, so steady-state fan-out does not allocate.

use super::catalog_index::CatalogIndex;
use super::history::SlotKey;
use super::ws_frame::write_text_frame;
use crate::egress::stream_name::write_stream_name;
use crate::egress::stream_path::Framing;
use crate::egress::{write_combined, write_kline_event};
use crate::kline::Kline;

/// The current event and its frames, built on first need.
#[derive(Debug, Default)]
pub struct EventFrames {
    /// The event's JSON.
    event: Vec<u8>,
    /// The slot it belongs to.
    key: SlotKey,
    /// `event` in a text frame, when built for this event.
    raw: Option<Vec<u8>>,
    /// `event` in the combined envelope in a text frame, when built for this event.
    combined: Option<Vec<u8>>,
    /// Buffers of earlier events, kept for reuse.
    spare: Vec<Vec<u8>>,
    /// The stream name and the envelope, while a combined frame is built.
    name: Vec<u8>,
    envelope: Vec<u8>,
}

impl EventFrames {
    /// Empty buffers.
    pub fn new() -> EventFrames {
        EventFrames::default()
    }

    /// Encodes the kline event of slot `key` stamped `event_ms`, replacing the previous event;
    /// false (and no event) when the catalog does not name the slot.
    pub fn encode(
        &mut self,
        index: &CatalogIndex,
        key: SlotKey,
        kline: &Kline,
        closed: bool,
        event_ms: i64,
    ) -> bool {
        self.spare.extend(self.raw.take());
        self.spare.extend(self.combined.take());
        self.event.clear();
        let (Some((symbol, decimals)), Some(interval)) =
            (index.symbol_at(key.0), index.interval_at(key.1))
        else {
            return false;
        };
        write_kline_event(
            &mut self.event,
            event_ms,
            symbol,
            interval,
            kline,
            closed,
            *decimals,
        );
        self.key = key;
        true
    }

    /// The encoded event as a WebSocket frame for `framing`: a text frame of the event, or of
    /// the event in the combined envelope. Empty before a successful [`EventFrames::encode`].
    pub fn frame(&mut self, index: &CatalogIndex, framing: Framing) -> &[u8] {
        if self.event.is_empty() {
            return &[];
        }
        let slot = match framing {
            Framing::Raw => &mut self.raw,
            Framing::Combined => &mut self.combined,
        };
        if slot.is_none() {
            let mut frame = self.spare.pop().unwrap_or_default();
            frame.clear();
            match framing {
                Framing::Raw => write_text_frame(&mut frame, &self.event),
                Framing::Combined => {
                    if let (Some((symbol, _)), Some(interval)) =
                        (index.symbol_at(self.key.0), index.interval_at(self.key.1))
                    {
                        self.name.clear();
                        write_stream_name(&mut self.name, symbol, interval);
                        self.envelope.clear();
                        // Stream names are built from catalog names, which are UTF-8.
                        let name = std::str::from_utf8(&self.name).unwrap_or_default();
                        write_combined(&mut self.envelope, name, &self.event);
                        write_text_frame(&mut frame, &self.envelope);
                    }
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
            symbols: vec![(
                "BTCUSDT".to_owned(),
                Decimals {
                    price: 2,
                    quantity: 3,
                },
            )],
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

    #[test]
    fn frames_the_same_event_raw_and_combined() {
        let index = index();
        let mut frames = EventFrames::new();
        let kline = Kline::empty(60_000, 119_999, 12_345_000_000);
        assert!(frames.encode(&index, (0, 0), &kline, true, 7));
        let raw = payload(frames.frame(&index, Framing::Raw)).to_vec();
        let event: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(event["s"], "BTCUSDT");
        assert_eq!(event["E"], 7);
        assert_eq!(event["k"]["c"], "123.45");
        assert_eq!(event["k"]["x"], true);
        let combined = payload(frames.frame(&index, Framing::Combined)).to_vec();
        let combined: serde_json::Value = serde_json::from_slice(&combined).unwrap();
        assert_eq!(combined["stream"], "btcusdt@kline_1m");
        assert_eq!(combined["data"], event);
        // A slot the catalog does not name gives no event and no frames.
        assert!(!frames.encode(&index, (1, 0), &kline, false, 8));
        assert!(frames.frame(&index, Framing::Raw).is_empty());
    }
}
