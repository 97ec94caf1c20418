//! What a symbol name may be: the one rule the config, the ingress symbol table, the gateway,
//! replay and the simulator all apply.
//!
//! Binance names are mostly upper-case ASCII (`BTCUSDT`, `1000PEPEUSDT`, `BTCUSDT_250926`), but
//! since October 2025 it also lists names such as `币安人生USDT`, so any UTF-8 is accepted except
//! what would break a place a name goes: whitespace and control characters (log lines, CSV
//! rows, HTTP request lines), quotes and `\` (JSON written without escaping, TOML), `/` (file
//! names, stream lists in URLs), `,` (CSV fields such as the latency stamp files, lists such as
//! `klagg sim --names`) and `@` (which separates the symbol from the stream type in
//! `btcusdt@aggTrade`). Everything else a URL cannot carry raw is percent-encoded on the way
//! out ([`crate::percent`]). The length bound keeps a file name built from a name far below
//! the 255 bytes file systems allow.
//!
//! Stream names lower-case a symbol the way Binance does, ASCII letters only
//! (`币安人生usdt@aggTrade`), so [`stream_case`] and [`exchange_case`] map between the two
//! without touching other characters.

use std::fmt;

/// Longest name accepted, in bytes of UTF-8.
pub const MAX_BYTES: usize = 64;

/// What every [`SymbolNameError`] says is valid.
pub const VALID: &str = "symbol names are 1 to 64 bytes of UTF-8 without whitespace, control \
    characters, quotes, '\\', '/', ',' or '@', such as BTCUSDT or 币安人生USDT";

/// Why a name cannot be a symbol; its `Display` says what is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolNameError {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_BYTES`].
    TooLong {
        /// Its length in bytes.
        bytes: usize,
    },
    /// The name has a character no symbol may have.
    BadChar(char),
}

impl fmt::Display for SymbolNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SymbolNameError::Empty => f.write_str("the name is empty")?,
            SymbolNameError::TooLong { bytes } => {
                write!(f, "the name is {bytes} bytes long")?;
            }
            SymbolNameError::BadChar(c) => write!(f, "the name has {c:?}")?,
        }
        write!(f, "; {VALID}")
    }
}

impl std::error::Error for SymbolNameError {}

/// Checks `name` against the rule in the module documentation.
///
/// # Errors
///
/// [`SymbolNameError`] naming the first problem found.
pub fn check(name: &str) -> Result<(), SymbolNameError> {
    if name.is_empty() {
        return Err(SymbolNameError::Empty);
    }
    if name.len() > MAX_BYTES {
        return Err(SymbolNameError::TooLong { bytes: name.len() });
    }
    match name.chars().find(|&c| is_forbidden(c)) {
        Some(c) => Err(SymbolNameError::BadChar(c)),
        None => Ok(()),
    }
}

/// Characters no symbol may have; see the module documentation for why.
fn is_forbidden(c: char) -> bool {
    c.is_control() || c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '/' | ',' | '@')
}

/// The symbol as stream names spell it: ASCII letters lower-cased, nothing else changed
/// (`币安人生USDT` -> `币安人生usdt`), as Binance does.
pub fn stream_case(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The symbol as the exchange spells it in events and REST: ASCII letters upper-cased, nothing
/// else changed (`币安人生usdt` -> `币安人生USDT`).
pub fn exchange_case(name: &str) -> String {
    name.to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binance_names_pass() {
        for name in [
            "BTCUSDT",
            "1000PEPEUSDT",
            "BTCUSDT_250926",
            "BTC-250926-60000-C",
            "币安人生USDT",
            "我踏马来了USDT",
            "ÄUSDT",
            &"A".repeat(MAX_BYTES),
        ] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
        assert_eq!("币安人生USDT".len(), 16, "four 3-byte characters and USDT");
    }

    #[test]
    fn what_would_break_a_name_s_uses_is_refused() {
        assert_eq!(check(""), Err(SymbolNameError::Empty));
        assert_eq!(
            check(&"币".repeat(22)),
            Err(SymbolNameError::TooLong { bytes: 66 })
        );
        for (name, bad) in [
            ("BTC USDT", ' '),
            ("BTC\u{3000}USDT", '\u{3000}'),
            ("BTC\nUSDT", '\n'),
            ("BTC\u{0}", '\u{0}'),
            ("BTC\u{85}", '\u{85}'),
            ("BTC\"", '"'),
            ("BTC'", '\''),
            ("BTC\\", '\\'),
            ("../x", '/'),
            ("BTCUSDT,ETHUSDT", ','),
            ("btcusdt@kline_1m", '@'),
        ] {
            assert_eq!(check(name), Err(SymbolNameError::BadChar(bad)), "{name:?}");
        }
    }

    #[test]
    fn errors_name_the_problem_and_what_is_valid() {
        let text = check("BTC USDT").unwrap_err().to_string();
        assert_eq!(text, format!("the name has ' '; {VALID}"));
        assert!(text.contains("币安人生USDT"), "{text}");
    }

    #[test]
    fn only_ascii_letters_change_case() {
        assert_eq!(stream_case("币安人生USDT"), "币安人生usdt");
        assert_eq!(exchange_case("币安人生usdt"), "币安人生USDT");
        // Unicode case mapping would change these; Binance does not.
        assert_eq!(stream_case("ÄUSDT"), "Äusdt");
        assert_eq!(exchange_case("äusdt"), "äUSDT");
    }
}
