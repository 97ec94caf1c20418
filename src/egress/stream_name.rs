//! Kline stream names: `<symbol>@kline_<interval>`, e.g. `btcusdt@kline_1m`, and USD-M's
//! continuous-contract alias `<pair>_perpetual@continuousKline_<interval>`.
//!
//! As on Binance the symbol is written in lowercase and the interval exactly as Binance names it,
//! so `btcusdt@kline_1m` (a minute) and `btcusdt@kline_1M` (a month) are different streams. Only
//! kline streams exist here; asking for another type (`@aggTrade`, `@depth`) or spelling the
//! symbol in uppercase is an error that says what is valid, rather than a subscription that
//! silently never delivers anything.
//!
//! A perpetual contract's continuous klines are its own klines (a perpetual never rolls over to
//! another contract), so `btcusdt_perpetual@continuousKline_1m` names the same klines as
//! `btcusdt@kline_1m`, sent in Binance's `continuous_kline` event format (python-binance's
//! futures kline socket asks for it). Other contract types (`_current_quarter`) are refused.

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use crate::interval::{Interval, IntervalError};
use crate::symbol_name::{self, SymbolNameError};

/// The stream type, between the `@` after the symbol and the interval.
const KLINE_KIND: &str = "kline_";
/// The continuous-contract stream type.
const CONTINUOUS_KIND: &str = "continuousKline_";
/// What a continuous stream's pair ends with: the only contract type served.
const PERPETUAL_SUFFIX: &str = "_perpetual";

/// What every [`StreamNameError`] tells the user is valid.
const VALID_HELP: &str = "expected <symbol>@kline_<interval> with the symbol's ASCII letters \
    in lowercase, e.g. btcusdt@kline_1m or 币安人生usdt@kline_1m (or, on USD-M, \
    <pair>_perpetual@continuousKline_<interval>); intervals are 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h \
    8h 12h 1d 3d 1w 1M (1m is a minute, 1M a month)";

/// Which of Binance's kline event formats a stream is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StreamKind {
    /// `<symbol>@kline_<interval>`: `"e":"kline"` events.
    #[default]
    Kline,
    /// `<pair>_perpetual@continuousKline_<interval>`: the same klines as `"e":"continuous_kline"`
    /// events, with the pair as `ps` and `"ct":"PERPETUAL"`.
    ContinuousPerpetual,
}

impl StreamKind {
    /// Every kind, for per-kind tables.
    pub const ALL: [StreamKind; 2] = [StreamKind::Kline, StreamKind::ContinuousPerpetual];

    /// A dense index, for per-kind tables.
    #[must_use]
    pub const fn index(self) -> usize {
        match self {
            StreamKind::Kline => 0,
            StreamKind::ContinuousPerpetual => 1,
        }
    }
}

/// One kline stream: a symbol, an interval and the event format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KlineStream {
    /// The symbol as Binance spells it in events, ASCII letters in uppercase: `BTCUSDT`,
    /// `币安人生USDT` (for a continuous stream, the perpetual's pair, which is its symbol).
    pub symbol: String,
    /// The kline interval.
    pub interval: Interval,
    /// The event format.
    pub kind: StreamKind,
}

impl KlineStream {
    /// A `<symbol>@kline_<interval>` stream.
    #[must_use]
    pub fn kline(symbol: impl Into<String>, interval: Interval) -> KlineStream {
        KlineStream {
            symbol: symbol.into(),
            interval,
            kind: StreamKind::Kline,
        }
    }

    /// Parses a stream name such as `btcusdt@kline_1m` or
    /// `btcusdt_perpetual@continuousKline_1m`.
    ///
    /// The symbol is any name [`symbol_name::check`] accepts (`btcusdt`, delivery contracts
    /// such as `btcusdt_250926`, `币安人生usdt`) without an uppercase ASCII letter, since Binance
    /// lower-cases only those in stream names; it is returned with them in uppercase. The
    /// interval is anything [`Interval::parse`] accepts.
    ///
    /// # Errors
    ///
    /// A [`StreamNameError`] naming `name` and saying what is valid, for another stream type, a
    /// continuous stream of another contract type than `perpetual`, an empty, uppercase or
    /// otherwise invalid symbol, or an invalid interval.
    pub fn parse(name: &str) -> Result<KlineStream, StreamNameError> {
        let fail = |problem| StreamNameError {
            name: name.to_owned(),
            problem,
        };
        let Some((mut symbol, kind)) = name.split_once('@') else {
            return Err(fail(Problem::NotAStream));
        };
        let (interval, kind) = if let Some(interval) = kind.strip_prefix(KLINE_KIND) {
            (interval, StreamKind::Kline)
        } else if let Some(interval) = kind.strip_prefix(CONTINUOUS_KIND) {
            symbol = symbol
                .strip_suffix(PERPETUAL_SUFFIX)
                .ok_or_else(|| fail(Problem::NotPerpetual))?;
            (interval, StreamKind::ContinuousPerpetual)
        } else {
            return Err(fail(Problem::NotKline));
        };
        if symbol.is_empty() {
            return Err(fail(Problem::EmptySymbol));
        }
        symbol_name::check(symbol).map_err(|e| fail(Problem::Symbol(e)))?;
        if symbol.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(fail(Problem::UppercaseSymbol));
        }
        let interval = Interval::parse(interval).map_err(|e| fail(Problem::Interval(e)))?;
        Ok(KlineStream {
            symbol: symbol_name::exchange_case(symbol),
            interval,
            kind,
        })
    }

    /// Appends this stream's name (`btcusdt@kline_1m`) to `out`.
    pub fn write_name(&self, out: &mut Vec<u8>) {
        write_stream_name(out, &self.symbol, self.interval, self.kind);
    }
}

/// Appends the stream name of `symbol` (any case), `interval` and `kind` to `out`, without
/// building a [`KlineStream`]: for encoders that hold symbols and intervals apart.
pub fn write_stream_name(out: &mut Vec<u8>, symbol: &str, interval: Interval, kind: StreamKind) {
    // ASCII lowercasing leaves the bytes of non-ASCII characters alone, so UTF-8 stays valid.
    out.extend(symbol.bytes().map(|b| b.to_ascii_lowercase()));
    let kind = match kind {
        StreamKind::Kline => KLINE_KIND,
        StreamKind::ContinuousPerpetual => {
            out.extend_from_slice(PERPETUAL_SUFFIX.as_bytes());
            CONTINUOUS_KIND
        }
    };
    out.push(b'@');
    out.extend_from_slice(kind.as_bytes());
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{interval}");
}

impl fmt::Display for KlineStream {
    /// Writes the stream name, `btcusdt@kline_1m` or `btcusdt_perpetual@continuousKline_1m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut name = Vec::with_capacity(self.symbol.len() + 32);
        self.write_name(&mut name);
        // Built from a `String` and ASCII.
        f.write_str(&String::from_utf8_lossy(&name))
    }
}

impl FromStr for KlineStream {
    type Err = StreamNameError;

    /// Same as [`KlineStream::parse`].
    fn from_str(name: &str) -> Result<KlineStream, StreamNameError> {
        KlineStream::parse(name)
    }
}

/// What was wrong with a stream name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    NotAStream,
    NotKline,
    NotPerpetual,
    EmptySymbol,
    UppercaseSymbol,
    Symbol(SymbolNameError),
    Interval(IntervalError),
}

/// Why a stream name was rejected; its `Display` names the stream and says what is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamNameError {
    name: String,
    problem: Problem,
}

impl StreamNameError {
    /// The rejected stream name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for StreamNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid stream name {:?}: ", self.name)?;
        match &self.problem {
            Problem::NotAStream => f.write_str("no '@' separating symbol and stream type")?,
            Problem::NotKline => f.write_str("only kline streams are served")?,
            Problem::NotPerpetual => f.write_str(
                "only perpetual contracts' continuous klines are served \
                 (<pair>_perpetual@continuousKline_<interval>)",
            )?,
            Problem::EmptySymbol => f.write_str("the symbol is empty")?,
            Problem::UppercaseSymbol => {
                let lower = self.name.split('@').next().unwrap_or_default();
                write!(
                    f,
                    "stream names are lowercase (use {:?})",
                    symbol_name::stream_case(lower)
                )?;
            }
            // The symbol error says what symbol names are, the help what streams are.
            Problem::Symbol(e) => write!(f, "invalid symbol: {e}")?,
            // The interval error lists every valid interval, custom ones included.
            Problem::Interval(e) => return write!(f, "{e}; expected <symbol>@kline_<interval>"),
        }
        write!(f, "; {VALID_HELP}")
    }
}

impl std::error::Error for StreamNameError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_write_name() {
        let stream = KlineStream::parse("btcusdt_250926@kline_1w").unwrap();
        assert_eq!(stream.symbol, "BTCUSDT_250926");
        let mut out = Vec::new();
        stream.write_name(&mut out);
        assert_eq!(out, stream.to_string().as_bytes());
        assert_eq!(stream.to_string(), "btcusdt_250926@kline_1w");
    }

    #[test]
    fn uppercase_symbol_error_suggests_the_lowercase_name() {
        let e = KlineStream::parse("BTCusdt@kline_1m").unwrap_err();
        assert!(e.to_string().contains(r#"(use "btcusdt")"#), "{e}");
        assert_eq!(e.name(), "BTCusdt@kline_1m");
    }

    #[test]
    fn stream_names_parse_and_format() {
        let minute = KlineStream::parse("btcusdt@kline_1m").unwrap();
        let month = KlineStream::parse("btcusdt@kline_1M").unwrap();
        assert_eq!(minute.symbol, "BTCUSDT");
        assert_eq!(minute.interval, Interval::parse("1m").unwrap());
        assert_eq!(month.interval, Interval::parse("1M").unwrap());
        assert_ne!(minute, month);
        assert_eq!(minute.to_string(), "btcusdt@kline_1m");
        assert_eq!(month.to_string(), "btcusdt@kline_1M");
        for name in Interval::standard().map(|i| format!("ethusdt@kline_{i}")) {
            let stream: KlineStream = name.parse().unwrap();
            assert_eq!(stream.to_string(), name);
            let mut out = b">".to_vec();
            stream.write_name(&mut out);
            assert_eq!(out, format!(">{name}").as_bytes());
        }
        let delivery = KlineStream::parse("btcusdt_250926@kline_15m").unwrap();
        assert_eq!(delivery.symbol, "BTCUSDT_250926");
        let unicode = KlineStream::parse("币安人生usdt@kline_1h").unwrap();
        assert_eq!(unicode.symbol, "币安人生USDT");
        assert_eq!(unicode.to_string(), "币安人生usdt@kline_1h");
        // Only ASCII letters change case: Binance writes `Ä` as it is.
        let umlaut = KlineStream::parse("Äusdt@kline_1m").unwrap();
        assert_eq!(umlaut.symbol, "ÄUSDT");
        assert_eq!(umlaut.to_string(), "Äusdt@kline_1m");
        let option = KlineStream::parse("btc-250926-60000-c@kline_1m").unwrap();
        assert_eq!(option.symbol, "BTC-250926-60000-C");
        let mut out = Vec::new();
        let month = Interval::parse("1M").unwrap();
        write_stream_name(&mut out, "BTCUSDT", month, StreamKind::Kline);
        assert_eq!(out, b"btcusdt@kline_1M");
    }

    #[test]
    fn continuous_perpetual_streams_name_the_pair() {
        let name = "btcusdt_perpetual@continuousKline_1m";
        let stream = KlineStream::parse(name).unwrap();
        assert_eq!(stream.symbol, "BTCUSDT");
        assert_eq!(stream.kind, StreamKind::ContinuousPerpetual);
        assert_eq!(stream.to_string(), name);
        assert_ne!(stream, KlineStream::parse("btcusdt@kline_1m").unwrap());
        let unicode = KlineStream::parse("币安人生usdt_perpetual@continuousKline_1h").unwrap();
        assert_eq!(unicode.symbol, "币安人生USDT");
        let e = KlineStream::parse("BTCUSDT_perpetual@continuousKline_1m").unwrap_err();
        assert!(e.to_string().contains("lowercase"), "{e}");
    }

    #[test]
    fn bad_stream_names_say_what_is_valid() {
        let cases = [
            ("btcusdt@aggTrade", "only kline streams"),
            ("btcusdt@depth", "only kline streams"),
            ("btcusdt@depth@100ms", "only kline streams"),
            ("btcusdt@continuousKline_1m", "only perpetual"),
            (
                "btcusdt_current_quarter@continuousKline_1m",
                "only perpetual",
            ),
            ("_perpetual@continuousKline_1m", "symbol is empty"),
            ("btcusdt_perpetual@continuousKline_1x", "invalid interval"),
            ("btcusdt", "no '@'"),
            ("", "no '@'"),
            ("@kline_1m", "symbol is empty"),
            ("BTCUSDT@kline_1m", "lowercase"),
            ("btc\"usdt@kline_1m", "the name has '\"'"),
            ("btc usdt@kline_1m", "the name has ' '"),
            ("币安人生USDT@kline_1m", "(use \"币安人生usdt\")"),
            ("btcusdt@kline_", "invalid interval \"\""),
            ("btcusdt@kline_1x", "invalid interval \"1x\""),
            ("btcusdt@kline_01m", "invalid interval"),
            ("btcusdt@kline_1m@+08:00", "invalid interval"),
            ("btcusdt@Kline_1m", "only kline streams"),
        ];
        for (name, why) in cases {
            let e = KlineStream::parse(name).unwrap_err();
            let message = e.to_string();
            assert_eq!(e.name(), name);
            assert!(message.contains(&format!("{name:?}")), "{message}");
            assert!(message.contains(why), "{name}: {message}");
            assert!(
                message.contains("<symbol>@kline_<interval>"),
                "{name}: {message}"
            );
            assert!(
                message.contains("1m") && message.contains("1M"),
                "{message}"
            );
        }
    }
}
