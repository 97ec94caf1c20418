//! The WebSocket URLs that carry streams, as on Binance:
//!
//! * `/market/ws/<stream>` (or several, `/`-separated): raw events, each frame one event;
//! * `/market/stream?streams=<stream>/<stream>`: each event wrapped in the combined envelope;
//! * `/market/ws` and `/market/stream` alone: no stream yet, the client sends `SUBSCRIBE`.
//!
//! USD-M serves market streams under `/market`; the same forms are accepted under `/public`
//! and `/private` (the official SDK opens all three at once) and with no prefix at all
//! (`/ws/<stream>`, `/stream?streams=`), which is spot's form and USD-M's legacy one. In a raw
//! path, a segment of digits only is a connection label, not a stream, and is ignored: ccxt
//! appends one (`/market/ws/0`) and then subscribes.
//!
//! A URL that cannot be served is refused before the handshake with a message saying what is
//! valid, instead of being accepted and then never sending anything (which is what Binance's
//! retired USD-M `/ws` and `/stream` paths do, and what makes such mistakes slow to find).

use std::fmt;

use super::stream_name::{KlineStream, StreamNameError};
use crate::percent;

/// Binance's limit of streams per connection, a sensible `max_streams` for [`StreamPath::parse`].
pub const BINANCE_MAX_STREAMS: usize = 1024;

const RAW_PATH: &str = "/market/ws";
const COMBINED_PATH: &str = "/market/stream";
/// What may come before `/ws` or `/stream`.
const PREFIXES: [&str; 4] = ["/market", "/public", "/private", ""];

/// How a connection's events are framed, fixed by the path it connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// `/market/ws...`: each frame is the event itself.
    Raw,
    /// `/market/stream...`: `{"stream":"<name>","data":<event>}`.
    Combined,
}

/// What a WebSocket request target asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPath {
    /// How events are framed.
    pub framing: Framing,
    /// The streams subscribed from the start, in URL order, without repeats; may be empty.
    pub streams: Vec<KlineStream>,
}

impl StreamPath {
    /// Parses an HTTP request target (path and query, as in the request line), allowing at most
    /// `max_streams` distinct streams.
    ///
    /// `%XX` escapes are decoded in the stream list: a symbol such as `币安人生usdt` arrives as
    /// its UTF-8 bytes escaped (`%E5%B8%81...`), and some client libraries escape `@` or `/`
    /// too. A repeated stream counts once.
    ///
    /// # Errors
    ///
    /// A [`StreamPathError`] for another path (see [`StreamPathError::is_unknown_path`]), a
    /// query parameter other than `streams` (raw paths take none), a query without `streams`,
    /// an empty list or list item, a bad escape, an invalid stream name, or too many streams.
    pub fn parse(target: &str, max_streams: usize) -> Result<StreamPath, StreamPathError> {
        let fail = |problem| StreamPathError {
            target: target.to_owned(),
            problem,
        };
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        let Some(rest) = PREFIXES.iter().find_map(|prefix| path.strip_prefix(prefix)) else {
            return Err(fail(Problem::UnknownPath));
        };
        let (framing, list) = if rest == "/stream" || rest == "/stream/" {
            (Framing::Combined, combined_list(query).map_err(fail)?)
        } else if rest == "/ws" || rest == "/ws/" {
            no_parameters(query).map_err(fail)?;
            (Framing::Raw, None)
        } else if let Some(list) = rest.strip_prefix("/ws/") {
            no_parameters(query).map_err(fail)?;
            (Framing::Raw, without_label(list))
        } else {
            return Err(fail(Problem::UnknownPath));
        };
        let streams = match list {
            Some(list) => stream_list(list, max_streams).map_err(fail)?,
            None => Vec::new(),
        };
        Ok(StreamPath { framing, streams })
    }
}

impl fmt::Display for StreamPath {
    /// Writes the request target, e.g. `/market/stream?streams=btcusdt@kline_1m/ethusdt@kline_1M`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, before_list) = match self.framing {
            Framing::Raw => (RAW_PATH, "/"),
            Framing::Combined => (COMBINED_PATH, "?streams="),
        };
        f.write_str(path)?;
        for (i, stream) in self.streams.iter().enumerate() {
            f.write_str(if i == 0 { before_list } else { "/" })?;
            write!(f, "{stream}")?;
        }
        Ok(())
    }
}

/// The raw `streams` value of a combined path's query, or `None` when there is no query.
fn combined_list(query: Option<&str>) -> Result<Option<&str>, Problem> {
    let Some(query) = query else {
        return Ok(None);
    };
    let mut list = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent::decode(name).as_deref() != Ok("streams") {
            return Err(Problem::UnknownParameter(name.to_owned()));
        }
        if list.replace(value).is_some() {
            return Err(Problem::RepeatedStreams);
        }
    }
    list.map(Some).ok_or(Problem::MissingStreams)
}

/// A raw path's stream list without its trailing connection label (`0` in ccxt's
/// `/market/ws/0`), which a stream name never is (stream names have an `@`); `None` when the
/// label is all there is.
fn without_label(list: &str) -> Option<&str> {
    match list.rsplit_once('/') {
        Some((head, label)) if is_label(label) => Some(head),
        None if is_label(list) => None,
        _ => Some(list),
    }
}

fn is_label(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())
}

/// Raw paths take their streams from the path; any query parameter is a mistake.
fn no_parameters(query: Option<&str>) -> Result<(), Problem> {
    match query.and_then(|q| q.split('&').find(|pair| !pair.is_empty())) {
        Some(pair) => {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            Err(Problem::UnknownParameter(name.to_owned()))
        }
        None => Ok(()),
    }
}

/// Parses a `/`-separated, possibly %-escaped, stream list.
fn stream_list(list: &str, max_streams: usize) -> Result<Vec<KlineStream>, Problem> {
    let list = percent::decode(list).map_err(|_| Problem::BadEscape)?;
    if list.is_empty() {
        return Err(Problem::EmptyList);
    }
    let mut streams: Vec<KlineStream> = Vec::new();
    for name in list.split('/') {
        if name.is_empty() {
            return Err(Problem::EmptyName);
        }
        let stream = KlineStream::parse(name).map_err(Problem::Stream)?;
        // At most `max_streams` entries are kept, so this scan stays short enough for a
        // handshake; a hash set would cost more for the usual handful.
        if !streams.contains(&stream) {
            if streams.len() == max_streams {
                return Err(Problem::TooMany { max: max_streams });
            }
            streams.push(stream);
        }
    }
    Ok(streams)
}

/// What was wrong with a target.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    UnknownPath,
    UnknownParameter(String),
    RepeatedStreams,
    MissingStreams,
    EmptyList,
    EmptyName,
    BadEscape,
    TooMany { max: usize },
    Stream(StreamNameError),
}

/// Why a WebSocket request target was refused; its `Display` says what is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPathError {
    target: String,
    problem: Problem,
}

impl StreamPathError {
    /// True when the path itself is not a stream path (answer HTTP 404); otherwise the path was
    /// right and its stream list or query was not (answer HTTP 400).
    #[must_use]
    pub fn is_unknown_path(&self) -> bool {
        self.problem == Problem::UnknownPath
    }

    /// The refused request target.
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }
}

impl fmt::Display for StreamPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot serve {:?}: ", self.target)?;
        match &self.problem {
            Problem::UnknownPath => f.write_str(
                "unknown path; streams are served at /market/ws/<stream> (raw events) and \
                 /market/stream?streams=<stream>/<stream> (combined), or at /market/ws and \
                 /market/stream to SUBSCRIBE later (also under /public and /private, and as \
                 /ws/<stream> and /stream?streams=...), with streams named \
                 <symbol>@kline_<interval> such as btcusdt@kline_1m",
            ),
            Problem::UnknownParameter(name) => write!(
                f,
                "unknown query parameter {name:?}; the only one is streams=<stream>/<stream> \
                 on /market/stream"
            ),
            Problem::RepeatedStreams => {
                f.write_str("streams= is given twice; list every stream in one, '/'-separated")
            }
            Problem::MissingStreams => f.write_str(
                "no streams= parameter; use /market/stream?streams=<stream>/<stream>, or \
                 /market/stream alone to SUBSCRIBE later",
            ),
            Problem::EmptyList => f.write_str("the stream list is empty"),
            Problem::EmptyName => {
                f.write_str("empty stream name in the list; separate names by a single '/'")
            }
            Problem::BadEscape => f.write_str("bad %-escape or escaped bytes that are not UTF-8"),
            Problem::TooMany { max } => write!(f, "more than {max} streams in one connection"),
            Problem::Stream(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StreamPathError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(target: &str) -> StreamPath {
        StreamPath::parse(target, BINANCE_MAX_STREAMS).unwrap_or_else(|e| panic!("{e}"))
    }

    fn streams(names: &[&str]) -> Vec<KlineStream> {
        names
            .iter()
            .map(|n| KlineStream::parse(n).unwrap())
            .collect()
    }

    #[test]
    fn stream_urls() {
        let raw = path("/market/ws/btcusdt@kline_1m");
        assert_eq!(raw.framing, Framing::Raw);
        assert_eq!(raw.streams, streams(&["btcusdt@kline_1m"]));
        assert_eq!(raw.to_string(), "/market/ws/btcusdt@kline_1m");

        let target = "/market/stream?streams=btcusdt@kline_1m/ethusdt@kline_1M";
        let combined = path(target);
        assert_eq!(combined.framing, Framing::Combined);
        assert_eq!(
            combined.streams,
            streams(&["btcusdt@kline_1m", "ethusdt@kline_1M"])
        );
        assert_eq!(combined.to_string(), target);

        assert_eq!(
            path("/market/stream?streams=btcusdt%40kline_1m%2Fbtcusdt@kline_1m/ethusdt@kline_5m")
                .streams,
            streams(&["btcusdt@kline_1m", "ethusdt@kline_5m"]),
            "escapes decoded, repeats dropped"
        );
        assert_eq!(
            path("/market/ws/btcusdt@kline_1m/ethusdt@kline_1m").streams,
            streams(&["btcusdt@kline_1m", "ethusdt@kline_1m"])
        );
        for bare in [
            "/market/ws",
            "/market/ws/",
            "/market/stream",
            "/market/stream/",
        ] {
            assert!(path(bare).streams.is_empty(), "{bare}");
        }
        assert_eq!(path("/market/stream").framing, Framing::Combined);
        assert_eq!(path("/market/ws?").framing, Framing::Raw);
    }

    #[test]
    fn non_ascii_symbols_arrive_percent_encoded_or_raw() {
        let cjk = streams(&["币安人生usdt@kline_1m", "btcusdt@kline_1m"]);
        let encoded = "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@kline_1m/btcusdt@kline_1m";
        assert_eq!(
            path(&format!("/market/stream?streams={encoded}")).streams,
            cjk
        );
        assert_eq!(path(&format!("/market/ws/{encoded}")).streams, cjk);
        let lower_hex = "%e5%b8%81%e5%ae%89%e4%ba%ba%e7%94%9fusdt%40kline_1m%2Fbtcusdt@kline_1m";
        assert_eq!(path(&format!("/market/ws/{lower_hex}")).streams, cjk);
        let raw = "/market/stream?streams=币安人生usdt@kline_1m/btcusdt@kline_1m";
        assert_eq!(path(raw).streams, cjk);
        assert_eq!(path(raw).to_string(), raw);
        assert_eq!(cjk[0].symbol, "币安人生USDT");
        // Escaped bytes that are not UTF-8 (a character cut short) are refused.
        let e = StreamPath::parse("/market/ws/%E5%B8usdt@kline_1m", 8).unwrap_err();
        assert!(e.to_string().contains("%-escape"), "{e}");
    }

    #[test]
    fn every_prefix_clients_build_is_served() {
        let one = streams(&["btcusdt@kline_1m"]);
        for prefix in ["", "/market", "/public", "/private"] {
            let raw = path(&format!("{prefix}/ws/btcusdt@kline_1m"));
            assert_eq!(
                (raw.framing, &raw.streams),
                (Framing::Raw, &one),
                "{prefix}"
            );
            let combined = path(&format!("{prefix}/stream?streams=btcusdt@kline_1m"));
            assert_eq!(
                (combined.framing, &combined.streams),
                (Framing::Combined, &one),
                "{prefix}"
            );
            for bare in ["/ws", "/ws/", "/stream", "/stream/"] {
                assert!(path(&format!("{prefix}{bare}")).streams.is_empty());
            }
        }
    }

    #[test]
    fn a_connection_label_after_a_raw_path_is_ignored() {
        for target in ["/market/ws/0", "/ws/12", "/public/ws/3/"] {
            let labelled = StreamPath::parse(target, 8);
            // `/public/ws/3/` ends in an empty name, which stays an error.
            if target.ends_with('/') {
                assert!(labelled.is_err(), "{target}");
                continue;
            }
            let labelled = labelled.unwrap();
            assert_eq!(labelled.framing, Framing::Raw, "{target}");
            assert!(labelled.streams.is_empty(), "{target}");
        }
        assert_eq!(
            path("/market/ws/btcusdt@kline_1m/7").streams,
            streams(&["btcusdt@kline_1m"])
        );
        assert_eq!(
            path("/market/ws/btcusdt_perpetual@continuousKline_1m").streams[0].kind,
            crate::egress::stream_name::StreamKind::ContinuousPerpetual
        );
    }

    #[test]
    fn bad_stream_urls_say_what_is_wrong() {
        let cases = [
            ("/wss/btcusdt@kline_1m", "unknown path"),
            ("/streams?streams=btcusdt@kline_1m", "unknown path"),
            ("/", "unknown path"),
            ("/market", "unknown path"),
            ("/market/wss/btcusdt@kline_1m", "unknown path"),
            ("/market/stream/btcusdt@kline_1m", "unknown path"),
            ("/fapi/v1/klines?symbol=BTCUSDT", "unknown path"),
            ("/market/stream?", "no streams= parameter"),
            (
                "/market/stream?stream=btcusdt@kline_1m",
                "unknown query parameter \"stream\"",
            ),
            (
                "/market/stream?streams=btcusdt@kline_1m&x=1",
                "unknown query parameter \"x\"",
            ),
            ("/market/stream?streams=", "empty"),
            ("/market/stream?streams", "empty"),
            (
                "/market/stream?streams=a@kline_1m&streams=b@kline_1m",
                "given twice",
            ),
            (
                "/market/stream?streams=btcusdt@kline_1m/",
                "empty stream name",
            ),
            (
                "/market/stream?streams=btcusdt@kline_1m//x@kline_1m",
                "empty stream name",
            ),
            ("/market/ws//btcusdt@kline_1m", "empty stream name"),
            (
                "/market/ws/btcusdt@kline_1m?timeUnit=MICROSECOND",
                "unknown query parameter",
            ),
            ("/market/ws/btcusdt@aggTrade", "only kline streams"),
            ("/market/stream?streams=BTCUSDT@kline_1m", "lowercase"),
            ("/market/stream?streams=btcusdt@kline_1m%zz", "%-escape"),
        ];
        for (target, why) in cases {
            let e = StreamPath::parse(target, BINANCE_MAX_STREAMS).unwrap_err();
            let message = e.to_string();
            assert!(message.contains(why), "{target}: {message}");
            assert_eq!(e.target(), target);
            assert_eq!(e.is_unknown_path(), why == "unknown path", "{target}");
        }
        assert!(
            StreamPath::parse("/ws2", 1)
                .unwrap_err()
                .to_string()
                .contains("/market/stream?streams=<stream>/<stream>")
        );
    }

    #[test]
    fn stream_urls_are_limited() {
        let three = "/market/stream?streams=a@kline_1m/b@kline_1m/c@kline_1m";
        assert_eq!(StreamPath::parse(three, 3).unwrap().streams.len(), 3);
        let e = StreamPath::parse(three, 2).unwrap_err();
        assert!(e.to_string().contains("more than 2 streams"), "{e}");
        assert!(!e.is_unknown_path());
        let repeated = "/market/stream?streams=a@kline_1m/a@kline_1m/a@kline_1m";
        assert_eq!(StreamPath::parse(repeated, 1).unwrap().streams.len(), 1);
    }
}
