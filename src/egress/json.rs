//! JSON text primitives for hand-written frames.
//!
//! Events are written byte by byte into a reused buffer instead of through serde or `format!`,
//! because one event is encoded for every kline update and shared by all its subscribers; these
//! helpers are the only places that need to know JSON's escaping rules.

use crate::decimal::write_scaled;

/// Appends `value` as a JSON integer.
#[inline]
pub fn write_int(out: &mut Vec<u8>, value: i64) {
    // Scale 0 makes the exact decimal writer an integer writer; one digit routine is enough.
    write_scaled(i128::from(value), 0, 0, out);
}

/// Appends `value` as a JSON string literal, quotes included.
///
/// `"` and `\` are escaped, and so are control characters (as `\n`, `\t` ... or `\u00XX`), which
/// JSON forbids raw inside strings. Everything else, non-ASCII included, is copied as is: it is
/// valid UTF-8 already. Symbols and stream names never need escaping, so the common case is one
/// scan and one copy.
pub fn write_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut plain_from = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(plain_from..at).unwrap_or_default());
        if escape.is_empty() {
            push_unicode_escape(out, byte);
        } else {
            out.extend_from_slice(escape);
        }
        plain_from = at + 1;
    }
    out.extend_from_slice(bytes.get(plain_from..).unwrap_or_default());
    out.push(b'"');
}

/// Appends `\u00XX` for a control byte without a short escape.
fn push_unicode_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u00");
    for nibble in [byte >> 4, byte & 0x0f] {
        out.push(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(value: &str) -> String {
        let mut out = Vec::new();
        write_string(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        for value in [0, 7, -1, 1_626_992_759_999, i64::MIN, i64::MAX] {
            out.clear();
            write_int(&mut out, value);
            assert_eq!(out, value.to_string().as_bytes());
        }
    }

    #[test]
    fn plain_strings_are_copied() {
        assert_eq!(string("BTCUSDT"), r#""BTCUSDT""#);
        assert_eq!(string(""), r#""""#);
        assert_eq!(string("币安人生USDT"), "\"币安人生USDT\"");
    }

    #[test]
    fn special_characters_are_escaped_as_json_reads_them() {
        let nasty = "a\"b\\c\nd\re\tf\u{8}g\u{c}h\u{1}i\u{1f}j\u{7f}é";
        let text = string(nasty);
        assert_eq!(
            text,
            r#""a\"b\\c\nd\re\tf\bg\fh\u0001i\u001fj"#.to_owned() + "\u{7f}é\""
        );
        assert_eq!(serde_json::from_str::<String>(&text).unwrap(), nasty);
    }
}
