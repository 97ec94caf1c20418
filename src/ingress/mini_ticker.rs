//! `!miniTicker@arr` frames: one element per symbol that traded in the last second, used to
//! spot symbols listed after start-up.
//!
//! The frame is read in place in one pass: serde visits the array and each element's `e` and
//! `s` borrow from the frame (an escaped symbol, which Binance never sends, costs one small
//! allocation), so nothing is collected and the caller sees each symbol as it is read.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{
    DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::bad_input::BadInputReason;

/// The `e` of every element.
pub const EVENT_TYPE: &str = "24hrMiniTicker";

/// Why a miniTicker frame could not be read.
#[derive(Debug)]
pub enum MiniTickerError {
    /// Not JSON, not an array (or an envelope with one in `data`), or fields of the wrong type.
    Json(serde_json::Error),
    /// An element without `e` or `s` (or with an empty one), or an envelope without `data`.
    MissingField(&'static str),
    /// An element of another event type: the stream is not `!miniTicker@arr`.
    UnexpectedEvent,
}

impl MiniTickerError {
    /// The bad-input counter this error belongs to.
    pub fn reason(&self) -> BadInputReason {
        match self {
            MiniTickerError::Json(_) => BadInputReason::BrokenJson,
            MiniTickerError::MissingField(_) => BadInputReason::MissingField,
            MiniTickerError::UnexpectedEvent => BadInputReason::UnexpectedEvent,
        }
    }
}

impl fmt::Display for MiniTickerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MiniTickerError::Json(e) => write!(f, "malformed miniTicker frame: {e}"),
            MiniTickerError::MissingField(name) => {
                write!(f, "miniTicker frame without field \"{name}\"")
            }
            MiniTickerError::UnexpectedEvent => {
                write!(f, "array element is not a {EVENT_TYPE} event")
            }
        }
    }
}

impl std::error::Error for MiniTickerError {}

/// Calls `f` with the symbol of every ticker in a `!miniTicker@arr` frame, raw (`[...]`) or
/// combined (`{"stream":..,"data":[...]}`), in frame order; returns how many there were.
///
/// # Errors
///
/// See [`MiniTickerError`]. `f` may already have been called for the tickers before the
/// offending one; reporting a symbol twice is harmless to the caller (it checks its table).
pub fn for_each_symbol(frame: &[u8], mut f: impl FnMut(&str)) -> Result<usize, MiniTickerError> {
    let mut state = State {
        f: &mut f,
        count: 0,
        problem: None,
    };
    let mut de = serde_json::Deserializer::from_slice(frame);
    let parsed = Frame(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    match (parsed, state.problem) {
        (_, Some(problem)) => Err(problem),
        (Err(e), None) => Err(MiniTickerError::Json(e)),
        (Ok(()), None) => Ok(state.count),
    }
}

/// Shared by the nested visitors: the callback, the count, and a typed problem that ended the
/// parse (serde's error type cannot carry it, so it waits here).
struct State<'f, F> {
    f: &'f mut F,
    count: usize,
    problem: Option<MiniTickerError>,
}

impl<F> State<'_, F> {
    fn fail<E: serde::de::Error>(&mut self, problem: MiniTickerError) -> E {
        self.problem = Some(problem);
        E::custom("miniTicker frame rejected")
    }
}

/// One element; only the two fields needed are read, both borrowed when unescaped.
#[derive(Deserialize)]
struct Ticker<'a> {
    #[serde(borrow, default)]
    e: Cow<'a, str>,
    #[serde(borrow, default)]
    s: Cow<'a, str>,
}

/// The whole frame: an array, or an object whose `data` is one.
struct Frame<'s, 'f, F>(&'s mut State<'f, F>);

/// The array of tickers.
struct Tickers<'s, 'f, F>(&'s mut State<'f, F>);

impl<'de, F: FnMut(&str)> DeserializeSeed<'de> for Frame<'_, '_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, F: FnMut(&str)> Visitor<'de> for Frame<'_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a miniTicker array or a combined-stream object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Tickers(self.0).visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen_data = false;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Data if seen_data => return Err(A::Error::duplicate_field("data")),
                Key::Data => {
                    map.next_value_seed(Tickers(&mut *self.0))?;
                    seen_data = true;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen_data {
            return Err(self.0.fail(MiniTickerError::MissingField("data")));
        }
        Ok(())
    }
}

impl<'de, F: FnMut(&str)> DeserializeSeed<'de> for Tickers<'_, '_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(&str)> Visitor<'de> for Tickers<'_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of miniTicker events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(ticker) = seq.next_element::<Ticker<'de>>()? {
            if ticker.e.is_empty() {
                return Err(self.0.fail(MiniTickerError::MissingField("e")));
            }
            if ticker.e != EVENT_TYPE {
                return Err(self.0.fail(MiniTickerError::UnexpectedEvent));
            }
            if ticker.s.is_empty() {
                return Err(self.0.fail(MiniTickerError::MissingField("s")));
            }
            (self.0.f)(&ticker.s);
            self.0.count += 1;
        }
        Ok(())
    }
}

/// An envelope key: only `data` matters. Compared without allocating, escaped or not.
enum Key {
    Data,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(if v == "data" { Key::Data } else { Key::Other })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICKERS: &str = r#"[{"e":"24hrMiniTicker","E":1672515782136,"s":"BTCUSDT","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"},{"s":"ETHUSDT","e":"24hrMiniTicker","E":1,"c":"1","o":"1","h":"1","l":"1","v":"1","q":"1"}]"#;

    fn symbols(frame: &str) -> Result<Vec<String>, MiniTickerError> {
        let mut out = Vec::new();
        let n = for_each_symbol(frame.as_bytes(), |s| out.push(s.to_owned()))?;
        assert_eq!(n, out.len());
        Ok(out)
    }

    #[test]
    fn raw_and_combined_frames_list_every_symbol() {
        assert_eq!(symbols(TICKERS).unwrap(), ["BTCUSDT", "ETHUSDT"]);
        let combined = format!(r#"{{"stream":"!miniTicker@arr","data":{TICKERS}}}"#);
        assert_eq!(symbols(&combined).unwrap(), ["BTCUSDT", "ETHUSDT"]);
        let escaped = r#"{"data":[{"e":"24hrMiniTicker","s":"BTC\u0055SDT"}],"stream":"x"}"#;
        assert_eq!(symbols(escaped).unwrap(), ["BTCUSDT"]);
        assert!(symbols("[]").unwrap().is_empty());
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        let reason = |frame: &str| symbols(frame).unwrap_err().reason();
        assert_eq!(reason("[{"), BadInputReason::BrokenJson);
        assert_eq!(reason(r#"{"stream":"x"}"#), BadInputReason::MissingField);
        assert_eq!(reason(r#"{"data":{}}"#), BadInputReason::BrokenJson);
        assert_eq!(
            reason(r#"[{"e":"24hrMiniTicker"}]"#),
            BadInputReason::MissingField
        );
        assert_eq!(reason(r#"[{"s":"X"}]"#), BadInputReason::MissingField);
        assert_eq!(
            reason(r#"[{"e":"markPriceUpdate","s":"X"}]"#),
            BadInputReason::UnexpectedEvent
        );
        assert_eq!(reason(&format!("{TICKERS} x")), BadInputReason::BrokenJson);
        assert_eq!(reason("17"), BadInputReason::BrokenJson);
        assert_eq!(
            reason(&format!(r#"{{"data":{TICKERS},"data":[]}}"#)),
            BadInputReason::BrokenJson
        );
    }
}
