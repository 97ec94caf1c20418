//! Client request frames, parsed as Binance parses them:
//!
//! ```text
//! {"method":"SUBSCRIBE","params":["btcusdt@kline_1m"],"id":1}
//! {"method":"UNSUBSCRIBE","params":["btcusdt@kline_1m"],"id":312}
//! {"method":"LIST_SUBSCRIPTIONS","id":3}
//! ```
//!
//! The id is what Binance accepts: a 64-bit integer, a string of up to 36 letters, digits, `-`
//! or `_` (the official SDKs send UUIDs), or `null`; it is echoed as sent. Binance's error codes
//! are kept: 3 when the frame is not JSON at all, 2 when it is JSON but not a valid request (a
//! missing or unsupported id, an unknown method, bad params, an invalid stream name). The id is
//! checked first, so every later error can be echoed with the client's id; when the id itself is
//! missing or invalid the error carries `"id":null`. Requests are rare (Binance allows 10 a
//! second), so this parses into a `serde_json::Value` for simple, exhaustive checks.

use std::fmt;

use serde_json::Value;

use super::stream_name::KlineStream;

/// The methods served, in the order error messages list them.
const METHODS: &str = "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`";

/// Longest string id Binance accepts.
pub const MAX_ID_LEN: usize = 36;

/// What an id that is missing or of another kind is told.
const ID_HELP: &str = "request ID must be a 64-bit integer, a string of at most 36 letters, \
    digits, '-' or '_', or null";

/// A request's id, echoed in its reply exactly as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequestId {
    /// An integer from `i64::MIN` to `u64::MAX` (Binance documents signed 64-bit ids; unsigned
    /// ones above `i64::MAX` are kept too, as earlier klagg versions accepted them).
    Number(i128),
    /// A string of at most [`MAX_ID_LEN`] letters, digits, `-` or `_`, such as a UUID.
    Text(String),
    /// `null`.
    Null,
}

impl From<u64> for RequestId {
    fn from(id: u64) -> RequestId {
        RequestId::Number(i128::from(id))
    }
}

impl RequestId {
    /// The id of a JSON value, if it is one Binance accepts.
    fn from_json(value: &Value) -> Option<RequestId> {
        match value {
            Value::Null => Some(RequestId::Null),
            Value::Number(n) => n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from))
                .map(RequestId::Number),
            Value::String(text)
                if !text.is_empty()
                    && text.len() <= MAX_ID_LEN
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Some(RequestId::Text(text.clone()))
            }
            _ => None,
        }
    }
}

impl fmt::Display for RequestId {
    /// Writes the id as JSON: `7`, `"e7f1c1b4-..."` or `null` (string ids need no escaping).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::Text(text) => write!(f, "\"{text}\""),
            RequestId::Null => f.write_str("null"),
        }
    }
}

/// A well-formed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The client's id, echoed in the reply.
    pub id: RequestId,
    /// What the client asks for.
    pub command: Command,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Add these streams (in request order, possibly repeated or already subscribed).
    Subscribe(Vec<KlineStream>),
    /// Remove these streams (ones not subscribed are no error, as on Binance).
    Unsubscribe(Vec<KlineStream>),
    /// Answer with the current subscriptions.
    ListSubscriptions,
}

/// Binance's error codes for request frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 2: valid JSON that is not a valid request.
    InvalidRequest,
    /// 3: not valid JSON.
    InvalidJson,
}

impl ErrorCode {
    /// The number sent as `"code"`.
    #[must_use]
    pub const fn number(self) -> u32 {
        match self {
            ErrorCode::InvalidRequest => 2,
            ErrorCode::InvalidJson => 3,
        }
    }
}

/// A refused request: what goes into Binance's `{"error":{"code":..,"msg":..},"id":..}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// Which kind of failure.
    pub code: ErrorCode,
    /// The full message, prefixed as Binance does (`Invalid request: ...`, `Invalid JSON: ...`).
    pub msg: String,
    /// The request's id when it had a valid one, else `None` (sent as `null`).
    pub id: Option<RequestId>,
}

impl RequestError {
    /// A code-2 error for a request that parsed but cannot be served, e.g. an unknown symbol or
    /// too many streams: the gateway's own refusals use Binance's format too.
    #[must_use]
    pub fn invalid_request(id: Option<RequestId>, detail: impl fmt::Display) -> RequestError {
        RequestError {
            code: ErrorCode::InvalidRequest,
            msg: format!("Invalid request: {detail}"),
            id,
        }
    }

    fn invalid_json(detail: impl fmt::Display) -> RequestError {
        RequestError {
            code: ErrorCode::InvalidJson,
            msg: format!("Invalid JSON: {detail}"),
            id: None,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error {}: {}", self.code.number(), self.msg)
    }
}

impl std::error::Error for RequestError {}

/// Parses one request frame (a WebSocket text message's bytes).
///
/// Unknown top-level fields are ignored. `params` must be an array of stream names for
/// `SUBSCRIBE` and `UNSUBSCRIBE`, and absent or empty for `LIST_SUBSCRIPTIONS`.
///
/// # Errors
///
/// A [`RequestError`] with Binance's code and a message saying what was wrong; see the module
/// documentation for which code and id it carries.
pub fn parse_request(frame: &[u8]) -> Result<Request, RequestError> {
    let value: Value = serde_json::from_slice(frame).map_err(RequestError::invalid_json)?;
    let Value::Object(fields) = value else {
        return Err(RequestError::invalid_request(
            None,
            "expected a JSON object with method, params and id",
        ));
    };
    let Some(id) = fields.get("id").and_then(RequestId::from_json) else {
        return Err(RequestError::invalid_request(None, ID_HELP));
    };
    let fail = |detail: &dyn fmt::Display| RequestError::invalid_request(Some(id.clone()), detail);
    let method = match fields.get("method") {
        None => return Err(fail(&"missing field `method`")),
        Some(Value::String(method)) => method.as_str(),
        Some(_) => return Err(fail(&"method must be a string")),
    };
    let params = fields.get("params");
    let command = match method {
        "SUBSCRIBE" => Command::Subscribe(streams(params).map_err(|e| fail(&e))?),
        "UNSUBSCRIBE" => Command::Unsubscribe(streams(params).map_err(|e| fail(&e))?),
        "LIST_SUBSCRIPTIONS" => match params {
            None | Some(Value::Null) => Command::ListSubscriptions,
            Some(Value::Array(items)) if items.is_empty() => Command::ListSubscriptions,
            Some(_) => return Err(fail(&"too many parameters")),
        },
        other => {
            return Err(fail(&format_args!(
                "unknown variant `{other}`, expected one of {METHODS}"
            )));
        }
    };
    Ok(Request { id, command })
}

/// The stream names of a `SUBSCRIBE` or `UNSUBSCRIBE`, as the message of a code-2 error if bad.
fn streams(params: Option<&Value>) -> Result<Vec<KlineStream>, String> {
    let items = match params {
        None => return Err("missing field `params`".to_owned()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("params must be an array of stream names".to_owned()),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(name) => KlineStream::parse(name).map_err(|e| e.to_string()),
            other => Err(format!(
                "params[{i}] is {other}, expected a stream name string"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_stream_names_arrive_raw_or_escaped() {
        let raw = r#"{"method":"SUBSCRIBE","params":["币安人生usdt@kline_1m"],"id":1}"#;
        let escaped =
            r#"{"method":"SUBSCRIBE","params":["\u5e01\u5b89\u4eba\u751fusdt@kline_1m"],"id":1}"#;
        for frame in [raw, escaped] {
            let request = parse_request(frame.as_bytes()).unwrap();
            let Command::Subscribe(streams) = request.command else {
                panic!("{frame}")
            };
            assert_eq!(streams[0].symbol, "币安人生USDT", "{frame}");
        }
    }

    #[test]
    fn error_display_has_code_and_message() {
        let e = RequestError::invalid_request(Some(4.into()), "too many streams");
        assert_eq!(e.to_string(), "error 2: Invalid request: too many streams");
    }

    #[test]
    fn ids_are_64_bit_integers_short_strings_or_null() {
        let id = |text: &str| {
            let frame = format!(r#"{{"method":"LIST_SUBSCRIPTIONS","id":{text}}}"#);
            parse_request(frame.as_bytes()).map(|r| r.id.to_string())
        };
        for text in [
            "0",
            "-9223372036854775808",
            "18446744073709551615",
            "null",
            r#""e7f1c1b4-5c1d-4c56-9a0e-3b8f2f6d1a2b""#,
            r#""abc_1""#,
        ] {
            assert_eq!(id(text).as_deref(), Ok(text), "{text}");
        }
        for bad in [
            "1.5",
            "18446744073709551616",
            r#""""#,
            r#""has space""#,
            r#""0123456789012345678901234567890123456""#,
            "[1]",
            "true",
        ] {
            let e = id(bad).unwrap_err();
            assert_eq!(e.id, None, "{bad}");
            assert!(e.msg.contains("64-bit integer"), "{bad}: {}", e.msg);
        }
    }
}
