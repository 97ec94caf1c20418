//! HTTP/1.1 requests as the gateway reads them (with `httparse`) and the responses it writes.

/// Most headers a request may carry.
const MAX_HEADERS: usize = 32;

/// The parts of a request the gateway acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, as in the request line.
    pub target: String,
    /// `Sec-WebSocket-Key` when the request asks for `Upgrade: websocket`.
    pub websocket_key: Option<Vec<u8>>,
    /// The client asked for `Connection: close` (or spoke HTTP/1.0).
    pub close: bool,
}

/// Why bytes are not a request the gateway serves; answered with 400 and closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadRequest;

/// Parses one request head from the start of `buf`: `Ok(None)` when it is not complete yet,
/// otherwise the request and the bytes its head took. Bodies are not read (only `GET` is served).
///
/// # Errors
///
/// [`BadRequest`] when the bytes are not HTTP/1.x.
pub fn parse_request(buf: &[u8]) -> Result<Option<(HttpRequest, usize)>, BadRequest> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let used = match request.parse(buf) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(BadRequest),
    };
    let (Some(method), Some(target)) = (request.method, request.path) else {
        return Err(BadRequest);
    };
    let mut upgrade = false;
    let mut key = None;
    let mut close = request.version == Some(0);
    for header in request.headers.iter() {
        let value = String::from_utf8_lossy(header.value);
        if header.name.eq_ignore_ascii_case("upgrade") {
            upgrade |= value.trim().eq_ignore_ascii_case("websocket");
        } else if header.name.eq_ignore_ascii_case("sec-websocket-key") {
            key = Some(value.trim().as_bytes().to_vec());
        } else if header.name.eq_ignore_ascii_case("connection") {
            close |= value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("close"));
        }
    }
    let request = HttpRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        websocket_key: if upgrade {
            key.or(Some(Vec::new()))
        } else {
            None
        },
        close,
    };
    Ok(Some((request, used)))
}

/// Appends a complete response with a body.
pub fn write_response(out: &mut Vec<u8>, status: u16, content_type: &str, body: &[u8]) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Error",
    };
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
}

/// The value of query parameter `name` in `query` (the part after `?`), without decoding.
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_upgrade_is_recognised() {
        let head = b"GET /market/ws/btcusdt@kline_1m HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Key: abc==\r\n\r\nrest";
        let (request, used) = parse_request(head).unwrap().unwrap();
        assert_eq!(request.target, "/market/ws/btcusdt@kline_1m");
        assert_eq!(request.websocket_key.as_deref(), Some(&b"abc=="[..]));
        assert_eq!(used, head.len() - 4);
        assert_eq!(parse_request(&head[..20]), Ok(None));
        assert_eq!(parse_request(b"\x00\x01 nonsense\r\n\r\n"), Err(BadRequest));
    }

    #[test]
    fn query_params_are_found() {
        assert_eq!(query_param("symbol=BTCUSDT&limit=5", "limit"), Some("5"));
        assert_eq!(query_param("symbol=BTCUSDT", "limit"), None);
    }
}
