//! Client requests on a WebSocket (`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`) and
//! Binance's replies: `{"result":..,"id":N}`, or `{"error":{"code":2,"msg":..},"id":N}`.

use serde_json::Value;

use super::subscriptions::Subscriptions;
use super::symbols::{StreamId, SymbolTable};

/// Binance's error code for every malformed or refused request.
const INVALID_REQUEST: i64 = 2;

/// The text to send back, and whether it is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// JSON reply.
    pub(crate) text: String,
    /// True for an error object.
    pub(crate) is_error: bool,
    /// True when the request was a `SUBSCRIBE` (valid or not), for the counters.
    pub(crate) was_subscribe: bool,
}

/// Answers one text message.
pub(crate) fn handle(
    text: &str,
    subscriptions: &mut Subscriptions,
    symbols: &SymbolTable,
) -> Reply {
    let request: Value = match serde_json::from_str(text) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) => {
            return error(
                Value::Null,
                "Invalid request: expected a JSON object".into(),
            );
        }
        Err(e) => return error(Value::Null, format!("Invalid request: invalid JSON: {e}")),
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    let result = match method {
        "SUBSCRIBE" => {
            let outcome = stream_params(&request, symbols)
                .and_then(|streams| subscriptions.subscribe(&streams))
                .map(|()| Value::Null);
            let mut reply = reply(id, outcome);
            reply.was_subscribe = true;
            return reply;
        }
        "UNSUBSCRIBE" => stream_params(&request, symbols).map(|streams| {
            subscriptions.unsubscribe(&streams);
            Value::Null
        }),
        "LIST_SUBSCRIPTIONS" => Ok(Value::from(
            subscriptions
                .streams()
                .iter()
                .map(|&stream| symbols.stream_name(stream))
                .collect::<Vec<_>>(),
        )),
        "" => Err("Invalid request: method must be a string".to_string()),
        other => Err(format!("Invalid request: unknown method {other}")),
    };
    reply(id, result)
}

/// The `params` of a (UN)SUBSCRIBE: every name must be a known stream.
fn stream_params(request: &Value, symbols: &SymbolTable) -> Result<Vec<StreamId>, String> {
    let Some(params) = request.get("params").and_then(Value::as_array) else {
        return Err("Invalid request: params must be an array of stream names".into());
    };
    params
        .iter()
        .map(|param| {
            let name = param
                .as_str()
                .ok_or_else(|| format!("Invalid request: stream name {param} is not a string"))?;
            symbols
                .parse_stream(name)
                .ok_or_else(|| format!("Invalid request: unknown stream {name}"))
        })
        .collect()
}

fn reply(id: Value, result: Result<Value, String>) -> Reply {
    match result {
        Ok(result) => Reply {
            // Written by hand to keep Binance's key order (serde_json sorts keys).
            text: format!("{{\"result\":{result},\"id\":{id}}}"),
            is_error: false,
            was_subscribe: false,
        },
        Err(msg) => error(id, msg),
    }
}

fn error(id: Value, msg: String) -> Reply {
    Reply {
        text: format!(
            "{{\"error\":{{\"code\":{INVALID_REQUEST},\"msg\":{}}},\"id\":{id}}}",
            Value::from(msg)
        ),
        is_error: true,
        was_subscribe: false,
    }
}
