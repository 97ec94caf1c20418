//! Recognising the server's answers to SUBSCRIBE/UNSUBSCRIBE among market data.
//!
//! Every frame passes the cheap test ([`looks_like_reply`]): it reads the first JSON key only,
//! so a data frame (`{"stream":..`, `{"e":..`, `[..`) is turned away after a few byte
//! comparisons. Only candidates pay for a serde_json parse ([`parse_reply`]), the cold path.

use serde::Deserialize;
use serde_json::Value;

/// The server's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `{"result":null,"id":N}` (or any result: LIST_SUBSCRIPTIONS answers with a list).
    Ok {
        /// The request id echoed.
        id: u64,
    },
    /// `{"code":2,"msg":"Invalid request","id":N}` or `{"error":{"code":..,"msg":..},"id":N}`.
    Err {
        /// The request id echoed, if the server could read one.
        id: Option<u64>,
        /// Binance error code.
        code: i64,
        /// Binance error text.
        msg: String,
    },
}

/// Whether the frame's first key is one a reply starts with (`result`, `id`, `code`, `error`).
/// Data frames start with `stream` (combined) or `e` (raw) or are arrays, and fail at once.
#[inline]
pub fn looks_like_reply(payload: &[u8]) -> bool {
    let mut rest = skip_space(payload);
    let Some((&b'{', after)) = rest.split_first() else {
        return false;
    };
    rest = skip_space(after);
    let Some((&b'"', key)) = rest.split_first() else {
        return false;
    };
    [&b"result\""[..], b"id\"", b"code\"", b"error\""]
        .iter()
        .any(|candidate| key.starts_with(candidate))
}

fn skip_space(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

#[derive(Deserialize)]
struct WireReply {
    #[serde(default)]
    id: Value,
    // Present-but-null must differ from absent: `Some(Value::Null)` vs `None`.
    #[serde(default, deserialize_with = "present")]
    result: Option<Value>,
    code: Option<i64>,
    msg: Option<String>,
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireError {
    code: Option<i64>,
    msg: Option<String>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Parses a reply; `None` if the frame is not one after all (it then goes to the handler).
pub fn parse_reply(payload: &[u8]) -> Option<Reply> {
    let wire: WireReply = serde_json::from_slice(payload).ok()?;
    let id = wire.id.as_u64();
    if let Some(error) = wire.error {
        return Some(Reply::Err {
            id,
            code: error.code.unwrap_or(0),
            msg: error.msg.unwrap_or_default(),
        });
    }
    if let Some(code) = wire.code {
        return Some(Reply::Err {
            id,
            code,
            msg: wire.msg.unwrap_or_default(),
        });
    }
    match (wire.result, id) {
        (Some(_), Some(id)) => Some(Reply::Ok { id }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_frames_are_not_candidates() {
        for frame in [
            &br#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","a":1}}"#[..],
            br#"{"e":"aggTrade","E":1,"a":2}"#,
            br#"[{"e":"24hrMiniTicker"}]"#,
            b"",
            b"{",
            b"not json",
        ] {
            assert!(
                !looks_like_reply(frame),
                "{}",
                String::from_utf8_lossy(frame)
            );
        }
    }

    #[test]
    fn replies_and_errors_are_parsed() {
        let ok = br#"{"result":null,"id":7}"#;
        assert!(looks_like_reply(ok));
        assert_eq!(parse_reply(ok), Some(Reply::Ok { id: 7 }));
        let reordered = br#" { "id" : 8 , "result" : [] }"#;
        assert!(looks_like_reply(reordered));
        assert_eq!(parse_reply(reordered), Some(Reply::Ok { id: 8 }));
        let err = br#"{"code":2,"msg":"Invalid request","id":9}"#;
        assert!(looks_like_reply(err));
        let expected = Reply::Err {
            id: Some(9),
            code: 2,
            msg: "Invalid request".into(),
        };
        assert_eq!(parse_reply(err), Some(expected));
        let nested = br#"{"error":{"code":0,"msg":"Unknown property"},"id":null}"#;
        assert!(looks_like_reply(nested));
        assert_eq!(
            parse_reply(nested),
            Some(Reply::Err {
                id: None,
                code: 0,
                msg: "Unknown property".into()
            })
        );
    }

    #[test]
    fn look_alikes_that_are_not_replies_go_to_the_handler() {
        assert_eq!(parse_reply(br#"{"id":3}"#), None);
        assert_eq!(parse_reply(br#"{"result":null}"#), None);
        assert_eq!(parse_reply(br#"{"id":"x","result":null}"#), None);
        assert_eq!(parse_reply(br#"{"result":nul"#), None);
    }
}
