//! Percent-encoding (`%E5%B8%81` for `币`) of the URL parts that carry symbol names: stream
//! lists, `symbol=` query values.
//!
//! A request line can only carry ASCII, so a symbol such as `币安人生USDT` travels as its UTF-8
//! bytes, each written `%XX`. Clients send it that way and klagg must as well (Binance reads the
//! encoded form of stream names; the raw bytes are not a valid URL).

use std::borrow::Cow;
use std::fmt;

/// A `%` not followed by two hex digits, or escaped bytes that are not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PercentError;

impl fmt::Display for PercentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "bad %-escape (expected % and two hex digits) or escaped bytes that are not UTF-8",
        )
    }
}

impl std::error::Error for PercentError {}

/// Decodes `%XX` escapes; `+` stays `+`. Borrows when there is nothing to decode.
///
/// # Errors
///
/// [`PercentError`] for a `%` without two hex digits after it, or a result that is not UTF-8.
pub fn decode(text: &str) -> Result<Cow<'_, str>, PercentError> {
    if !text.contains('%') {
        return Ok(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        if byte == b'%' {
            let hex = |i: usize| bytes.get(i).and_then(|&b| char::from(b).to_digit(16));
            let (Some(high), Some(low)) = (hex(at + 1), hex(at + 2)) else {
                return Err(PercentError);
            };
            // Two hex digits make at most 255.
            out.push(u8::try_from(high * 16 + low).map_err(|_| PercentError)?);
            at += 3;
        } else {
            out.push(byte);
            at += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| PercentError)
}

/// Decodes a query-string value (`application/x-www-form-urlencoded`): `+` is a space, then
/// `%XX` escapes as in [`decode`].
///
/// # Errors
///
/// As [`decode`].
pub fn decode_query_value(text: &str) -> Result<Cow<'_, str>, PercentError> {
    if !text.contains('+') {
        return decode(text);
    }
    decode(&text.replace('+', " ")).map(|decoded| Cow::Owned(decoded.into_owned()))
}

/// Appends `text` to `out` with every byte escaped except ASCII letters, digits and `-._~!@:`,
/// which URLs carry raw anywhere in a path or query: `btcusdt@aggTrade` and `!miniTicker@arr`
/// stay as they are, `币安人生usdt@aggTrade` becomes
/// `%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@aggTrade`, and `/`, `&`, `=`, `+`, `%`, `?` and `#`
/// can never change the URL's structure.
pub fn encode_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if is_kept(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

/// The length of `text` once encoded by [`encode_into`], without building it.
pub fn encoded_len(text: &str) -> usize {
    text.bytes().map(|b| if is_kept(b) { 1 } else { 3 }).sum()
}

/// Bytes [`encode_into`] writes as they are.
fn is_kept(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!@:".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> String {
        let mut out = String::new();
        encode_into(&mut out, text);
        out
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("a%40b%2Fc").as_deref(), Ok("a@b/c"));
        assert_eq!(decode("%e5%b8%81%E5%AE%89").as_deref(), Ok("币安"));
        assert!(matches!(decode("BTCUSDT"), Ok(Cow::Borrowed("BTCUSDT"))));
        assert_eq!(decode("a+b").as_deref(), Ok("a+b"));
        assert_eq!(decode("币安").as_deref(), Ok("币安"), "raw UTF-8 passes");
        for bad in ["%", "%4", "%zz", "%ff", "%E5%B8", "a%+1"] {
            assert_eq!(decode(bad), Err(PercentError), "{bad}");
        }
    }

    #[test]
    fn query_values_read_plus_as_space() {
        assert_eq!(decode_query_value("a+b%2B").as_deref(), Ok("a b+"));
        assert_eq!(
            decode_query_value("%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT").as_deref(),
            Ok("币安人生USDT")
        );
    }

    #[test]
    fn encoding_keeps_ascii_names_and_round_trips() {
        assert_eq!(encode("btcusdt@aggTrade"), "btcusdt@aggTrade");
        assert_eq!(encode("!miniTicker@arr"), "!miniTicker@arr");
        assert_eq!(
            encode("币安人生usdt@aggTrade"),
            "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@aggTrade"
        );
        assert_eq!(
            encode("a/b&c=d+e%f?g#h i"),
            "a%2Fb%26c%3Dd%2Be%25f%3Fg%23h%20i"
        );
        for text in [
            "币安人生USDT",
            "a/b&c=d+e%f?g#h i",
            "BTCUSDT_250926",
            "ÄÖÜ€",
        ] {
            assert_eq!(decode(&encode(text)).as_deref(), Ok(text));
            assert_eq!(encoded_len(text), encode(text).len());
        }
    }
}
