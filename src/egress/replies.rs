//! Binance's answers to request frames:
//!
//! ```text
//! {"result":null,"id":1}                                    SUBSCRIBE / UNSUBSCRIBE done
//! {"result":["btcusdt@kline_1m"],"id":3}                    LIST_SUBSCRIPTIONS
//! {"error":{"code":2,"msg":"Invalid request: ..."},"id":7}  refused (id null if it had none)
//! ```
//!
//! The id is echoed as the request carried it: a number, a string or `null`.

use std::io::Write;

use super::json::{write_int, write_string};
use super::requests::{RequestError, RequestId};
use super::stream_name::KlineStream;

/// Appends `{"result":null,"id":<id>}`, the success answer to `SUBSCRIBE` and `UNSUBSCRIBE`.
pub fn write_done(out: &mut Vec<u8>, id: &RequestId) {
    out.extend_from_slice(b"{\"result\":null,\"id\":");
    write_id(out, id);
    out.push(b'}');
}

/// Appends the answer to `LIST_SUBSCRIPTIONS`: the stream names, in the given order.
pub fn write_subscriptions<'a>(
    out: &mut Vec<u8>,
    streams: impl IntoIterator<Item = &'a KlineStream>,
    id: &RequestId,
) {
    out.extend_from_slice(b"{\"result\":[");
    for (i, stream) in streams.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Escaped although parsed names never need it: the fields are public, and a cold path
        // can afford the string.
        write_string(out, &stream.to_string());
    }
    out.extend_from_slice(b"],\"id\":");
    write_id(out, id);
    out.push(b'}');
}

/// Appends `{"error":{"code":<code>,"msg":"<msg>"},"id":<id or null>}`.
pub fn write_error(out: &mut Vec<u8>, error: &RequestError) {
    out.extend_from_slice(b"{\"error\":{\"code\":");
    write_int(out, i64::from(error.code.number()));
    out.extend_from_slice(b",\"msg\":");
    write_string(out, &error.msg);
    out.extend_from_slice(b"},\"id\":");
    match &error.id {
        Some(id) => write_id(out, id),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

/// An id as the client sent it: its `Display` is its JSON.
fn write_id(out: &mut Vec<u8>, id: &RequestId) {
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{id}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_id_is_echoed_exactly() {
        let mut out = Vec::new();
        write_done(&mut out, &u64::MAX.into());
        assert_eq!(out, br#"{"result":null,"id":18446744073709551615}"#);
        out.clear();
        write_done(&mut out, &RequestId::Text("a-1".to_owned()));
        assert_eq!(out, br#"{"result":null,"id":"a-1"}"#);
        out.clear();
        write_done(&mut out, &RequestId::Null);
        assert_eq!(out, br#"{"result":null,"id":null}"#);
    }
}
