//! Binance's answers to request frames:
//!
//! ```text
//! {"result":null,"id":1}                                    SUBSCRIBE / UNSUBSCRIBE done
//! {"result":["btcusdt@kline_1m"],"id":3}                    LIST_SUBSCRIPTIONS
//! {"error":{"code":2,"msg":"Invalid request: ..."},"id":7}  refused (id null if it had none)
//! ```

use super::json::{write_int, write_string};
use super::requests::RequestError;
use super::stream_name::KlineStream;

/// Appends `{"result":null,"id":<id>}`, the success answer to `SUBSCRIBE` and `UNSUBSCRIBE`.
pub fn write_done(out: &mut Vec<u8>, id: u64) {
    out.extend_from_slice(b"{\"result\":null,\"id\":");
    write_id(out, id);
    out.push(b'}');
}

/// Appends the answer to `LIST_SUBSCRIPTIONS`: the stream names, in the given order.
pub fn write_subscriptions<'a>(
    out: &mut Vec<u8>,
    streams: impl IntoIterator<Item = &'a KlineStream>,
    id: u64,
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
    match error.id {
        Some(id) => write_id(out, id),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

/// Ids are `u64`, wider than the integer writer's `i64`.
fn write_id(out: &mut Vec<u8>, id: u64) {
    crate::decimal::write_scaled(i128::from(id), 0, 0, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_id_is_echoed_exactly() {
        let mut out = Vec::new();
        write_done(&mut out, u64::MAX);
        assert_eq!(out, br#"{"result":null,"id":18446744073709551615}"#);
    }
}
