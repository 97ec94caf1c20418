//! The bad frames the garbage fault sends, in a fixed rotation so a test can tell exactly how
//! many of each kind a client received.

use std::sync::OnceLock;

use tungstenite::{Bytes, Message, Utf8Bytes};

use super::encode::{Form, frame};
use super::symbols::SymbolInfo;

/// Size of the oversized frame: larger than any sane frame limit.
pub(crate) const OVERSIZED_LEN: usize = 2 * 1024 * 1024;
/// A symbol no market has, for the unknown-symbol garbage.
const UNKNOWN_SYMBOL: &str = "SIMGARBAGEUSDT";
/// Kinds in the rotation.
pub(crate) const GARBAGE_KINDS: usize = 5;

/// The `n`-th garbage frame of a connection (kinds rotate with `n`):
/// 0 broken JSON, 1 a binary frame, 2 an aggTrade with an exponent price (`"p":"1e5"`) of
/// `symbol`, 3 a well-formed aggTrade of a symbol that does not exist, 4 non-UTF-8 bytes as
/// binary. Text garbage comes in the connection's form.
pub(crate) fn garbage_frame(
    n: u64,
    form: Form,
    symbol: Option<&SymbolInfo>,
    now_ms: i64,
) -> Message {
    let (name, stream) = symbol.map_or(("BTCUSDT", "btcusdt@aggTrade"), |s| {
        (s.spec.name.as_str(), s.agg_trade_stream.as_str())
    });
    match n % GARBAGE_KINDS as u64 {
        0 => {
            // Valid up to the cut, so a parser fails at the end rather than at the first byte.
            let text = frame(form, stream, |out| {
                out.extend_from_slice(b"{\"e\":\"aggTrade\",\"E\":");
            });
            let cut = text.as_str().trim_end_matches('}').to_string();
            Message::Text(Utf8Bytes::from(cut))
        }
        1 => Message::Binary(Bytes::from_static(
            b"{\"e\":\"aggTrade\",\"sim\":\"binary frame\"}",
        )),
        2 => Message::Text(frame(form, stream, |out| {
            out.extend_from_slice(
                format!(
                    "{{\"e\":\"aggTrade\",\"E\":{now_ms},\"a\":0,\"s\":\"{name}\",\"p\":\"1e5\",\
                     \"q\":\"1\",\"nq\":\"1\",\"f\":0,\"l\":0,\"T\":{now_ms},\"m\":false}}"
                )
                .as_bytes(),
            );
        })),
        3 => {
            let stream = format!("{}@aggTrade", UNKNOWN_SYMBOL.to_ascii_lowercase());
            Message::Text(frame(form, &stream, |out| {
                out.extend_from_slice(
                    format!(
                        "{{\"e\":\"aggTrade\",\"E\":{now_ms},\"a\":1,\"s\":\"{UNKNOWN_SYMBOL}\",\
                         \"p\":\"1.0\",\"q\":\"1\",\"nq\":\"1\",\"f\":1,\"l\":1,\"T\":{now_ms},\
                         \"m\":false}}"
                    )
                    .as_bytes(),
                );
            }))
        }
        _ => Message::Binary(Bytes::from_static(&[
            0xff, 0xfe, 0xfd, 0x00, 0x80, 0xc3, 0x28,
        ])),
    }
}

/// The oversized frame, built once and shared (its clones are refcounts).
pub(crate) fn oversized_frame() -> Message {
    static FRAME: OnceLock<Utf8Bytes> = OnceLock::new();
    let text = FRAME.get_or_init(|| {
        let head = "{\"e\":\"oversized\",\"pad\":\"";
        let tail = "\"}";
        let mut text = String::with_capacity(OVERSIZED_LEN);
        text.push_str(head);
        text.extend(std::iter::repeat_n(
            'x',
            OVERSIZED_LEN - head.len() - tail.len(),
        ));
        text.push_str(tail);
        Utf8Bytes::from(text)
    });
    Message::Text(text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_covers_every_kind() {
        let texts: Vec<Message> = (0..5)
            .map(|n| garbage_frame(n, Form::Combined, None, 9))
            .collect();
        let Message::Text(broken) = &texts[0] else {
            panic!()
        };
        assert!(serde_json::from_str::<serde_json::Value>(broken.as_str()).is_err());
        assert!(
            broken
                .as_str()
                .starts_with("{\"stream\":\"btcusdt@aggTrade\"")
        );
        assert!(matches!(texts[1], Message::Binary(_)));
        let Message::Text(exponent) = &texts[2] else {
            panic!()
        };
        assert!(exponent.as_str().contains("\"p\":\"1e5\""));
        let Message::Text(unknown) = &texts[3] else {
            panic!()
        };
        let value: serde_json::Value = serde_json::from_str(unknown.as_str()).unwrap();
        assert_eq!(value["data"]["s"], "SIMGARBAGEUSDT");
        let Message::Binary(bytes) = &texts[4] else {
            panic!()
        };
        assert!(std::str::from_utf8(bytes).is_err());
    }

    #[test]
    fn oversized_is_two_mib_of_json() {
        let Message::Text(text) = oversized_frame() else {
            panic!()
        };
        assert_eq!(text.len(), OVERSIZED_LEN);
        assert!(serde_json::from_str::<serde_json::Value>(text.as_str()).is_ok());
    }
}
