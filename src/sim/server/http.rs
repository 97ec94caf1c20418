//! Just enough HTTP/1.1 for one port serving WebSocket and REST: read a request head without
//! consuming it (so a WebSocket handshake can still read it), pick out the method, target and
//! `Upgrade` header, decode a query, and write a `Connection: close` response.
//!
//! Requests here are tiny GETs from loopback clients, so a hand-written parser of the request
//! line and headers is all it takes.

use std::borrow::Cow;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::percent;

/// Largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// How long one wait for request bytes blocks before the stop flag and deadline are checked.
const PEEK_WAIT: Duration = Duration::from_millis(50);
/// Pause between looks at a head that arrived in pieces (peek would return at once again).
const PARTIAL_PAUSE: Duration = Duration::from_millis(1);

/// A request's first line and the header that decides WebSocket or REST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestHead {
    /// `GET`, ...
    pub(crate) method: String,
    /// The target's path, e.g. `/fapi/v1/klines`.
    pub(crate) path: String,
    /// The target's query without `?` (empty when there is none).
    pub(crate) query: String,
    /// True when the client asks to upgrade to WebSocket.
    pub(crate) websocket: bool,
    /// Length of the head in bytes, blank line included.
    pub(crate) len: usize,
}

/// What [`peek_head`] found.
#[derive(Debug)]
pub(crate) enum Peeked {
    /// A complete request head (still unread on the socket).
    Head(RequestHead),
    /// The client closed before sending a whole head.
    Closed,
    /// The head is larger than [`MAX_HEAD`].
    TooLarge,
    /// The first line is not `METHOD TARGET HTTP/x`.
    Malformed,
}

/// Waits for a complete request head and parses it without consuming it. Gives up with
/// `TimedOut` at `deadline` or as soon as `stopping` says so.
pub(crate) fn peek_head(
    stream: &TcpStream,
    deadline: Instant,
    stopping: impl Fn() -> bool,
) -> io::Result<Peeked> {
    stream.set_read_timeout(Some(PEEK_WAIT))?;
    let mut buf = vec![0; MAX_HEAD];
    loop {
        if stopping() || Instant::now() >= deadline {
            return Err(ErrorKind::TimedOut.into());
        }
        match stream.peek(&mut buf) {
            Ok(0) => return Ok(Peeked::Closed),
            Ok(n) => {
                if let Some(end) = find(&buf[..n], b"\r\n\r\n") {
                    return Ok(parse_head(&buf[..end + 4]).map_or(Peeked::Malformed, Peeked::Head));
                }
                if n == buf.len() {
                    return Ok(Peeked::TooLarge);
                }
                thread::sleep(PARTIAL_PAUSE);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses a request head ending in the blank line.
fn parse_head(head: &[u8]) -> Option<RequestHead> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target, version) = (first.next()?, first.next()?, first.next()?);
    if method.is_empty() || !target.starts_with('/') || !version.starts_with("HTTP/") {
        return None;
    }
    let websocket = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("upgrade")
                && value.trim().eq_ignore_ascii_case("websocket")
        })
    });
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Some(RequestHead {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        websocket,
        len: head.len(),
    })
}

/// Decodes `a=1&b=x%2Fy` into pairs, in order (`+` is a space, `%XX` a byte, so
/// `symbol=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT` is `币安人生USDT`). A part that does not
/// decode (a bad escape, bytes that are not UTF-8) is kept as sent, which names no symbol.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |text: &str| {
        percent::decode_query_value(text).map_or_else(|_| text.to_owned(), Cow::into_owned)
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// Reads the head [`peek_head`] left on the socket, so closing after the answer sends a FIN
/// rather than a reset that could destroy the answer in flight.
pub(crate) fn consume_head(stream: &mut TcpStream, head: &RequestHead) -> io::Result<()> {
    let mut buf = vec![0; head.len];
    stream.read_exact(&mut buf)
}

/// Writes a complete JSON response and closes the sending side.
pub(crate) fn respond(stream: &mut TcpStream, status: u16, body: &[u8]) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    stream.shutdown(Shutdown::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_line_and_upgrade() {
        let head = parse_head(
            b"GET /market/stream?streams=a/b HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n\r\n",
        )
        .unwrap();
        assert_eq!(head.method, "GET");
        assert_eq!(head.path, "/market/stream");
        assert_eq!(head.query, "streams=a/b");
        assert!(head.websocket);
        let rest = parse_head(b"GET /fapi/v1/time HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!((rest.query.as_str(), rest.websocket), ("", false));
        assert!(parse_head(b"GARBAGE\r\n\r\n").is_none());
        assert!(parse_head(b"GET nopath HTTP/1.1\r\n\r\n").is_none());
    }

    #[test]
    fn decodes_queries() {
        assert_eq!(
            query_pairs("streams=%21miniTicker%40arr/btcusdt@aggTrade&x=a+b&flag&"),
            [
                (
                    "streams".to_string(),
                    "!miniTicker@arr/btcusdt@aggTrade".to_string()
                ),
                ("x".to_string(), "a b".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
        assert_eq!(
            query_pairs("a=%zz%4"),
            [("a".to_string(), "%zz%4".to_string())]
        );
        assert_eq!(
            query_pairs("symbol=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT&b=%E5%B8"),
            [
                ("symbol".to_string(), "币安人生USDT".to_string()),
                ("b".to_string(), "%E5%B8".to_string())
            ]
        );
    }
}
