//! The combined-stream envelope: `{"stream":"btcusdt@kline_1m","data":<event>}`.
//!
//! Connections opened on `/market/stream` get every event wrapped so that one socket can carry
//! many streams and the client can route by name. The event bytes are copied in untouched: the
//! gateway encodes an event once and wraps that same encoding for combined subscribers.

use super::json::write_string;

/// Appends `payload` (one complete JSON value, e.g. from
/// [`write_kline_event`](super::kline_event::write_kline_event)) wrapped for `stream`.
pub fn write_combined(out: &mut Vec<u8>, stream: &str, payload: &[u8]) {
    out.reserve(payload.len() + stream.len() + 22);
    out.extend_from_slice(b"{\"stream\":");
    write_string(out, stream);
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(payload);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_the_payload_unchanged() {
        let mut out = Vec::new();
        write_combined(&mut out, "btcusdt@kline_1M", br#"{"e":"kline"}"#);
        assert_eq!(
            out,
            br#"{"stream":"btcusdt@kline_1M","data":{"e":"kline"}}"#.as_slice()
        );
    }
}
