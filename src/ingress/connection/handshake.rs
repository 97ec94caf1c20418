//! The client's WebSocket handshake (RFC 6455 §4.1): the upgrade request, and the server's
//! `101 Switching Protocols` checked, over a blocking stream with a read timeout, bounded by a
//! deadline. Bytes the server sent after its response are handed back: frames can ride in the
//! same segment.

use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;

/// Largest handshake response accepted.
const MAX_RESPONSE: usize = 16 * 1024;

/// Sends the upgrade request for `path` (with its query) on `host` and reads the response;
/// returns what came after it.
///
/// # Errors
///
/// The stream failed, the deadline passed or `stop` was set, or the server did not accept
/// the upgrade; the message says which.
pub fn client_handshake<S: Read + Write>(
    stream: &mut S,
    host: &str,
    path: &str,
    deadline: Instant,
    stop: &AtomicBool,
) -> Result<Vec<u8>, String> {
    let key = generate_key();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    write_all(stream, request.as_bytes(), deadline, stop)?;
    let mut response = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find_end(&response) {
            check_response(&response[..end], &key)?;
            return Ok(response[end..].to_vec());
        }
        if response.len() > MAX_RESPONSE {
            return Err("handshake: response header too large".to_owned());
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err("handshake: the server closed the connection".to_owned()),
            Ok(n) => response.extend_from_slice(&chunk[..n]),
            Err(e) if waits(e.kind()) => check_time(deadline, stop)?,
            Err(e) => return Err(format!("handshake: {e}")),
        }
    }
}

fn write_all<S: Write>(
    stream: &mut S,
    mut bytes: &[u8],
    deadline: Instant,
    stop: &AtomicBool,
) -> Result<(), String> {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err("handshake: the socket took nothing".to_owned()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if waits(e.kind()) => check_time(deadline, stop)?,
            Err(e) => return Err(format!("handshake: {e}")),
        }
    }
    loop {
        match stream.flush() {
            Ok(()) => return Ok(()),
            Err(e) if waits(e.kind()) => check_time(deadline, stop)?,
            Err(e) => return Err(format!("handshake: {e}")),
        }
    }
}

fn waits(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

fn check_time(deadline: Instant, stop: &AtomicBool) -> Result<(), String> {
    if stop.load(Ordering::Relaxed) {
        return Err("stopped during handshake".to_owned());
    }
    if Instant::now() >= deadline {
        return Err("handshake: timed out".to_owned());
    }
    Ok(())
}

/// Where the response header ends (after its blank line), once it has.
fn find_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// A `101` with `Upgrade: websocket` and the accept key of `key`.
fn check_response(header: &[u8], key: &str) -> Result<(), String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(header) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("handshake: incomplete response".to_owned()),
        Err(e) => return Err(format!("handshake: bad response: {e}")),
    }
    if response.code != Some(101) {
        return Err(format!(
            "handshake: the server answered {} {}",
            response.code.unwrap_or(0),
            response.reason.unwrap_or("")
        ));
    }
    let value = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
    };
    if !value("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        return Err("handshake: the response does not upgrade to websocket".to_owned());
    }
    let expected = derive_accept_key(key.as_bytes());
    if value("sec-websocket-accept").as_deref() != Some(expected.as_str()) {
        return Err("handshake: wrong Sec-WebSocket-Accept".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A stream whose reads come from `input` and whose writes are kept.
    struct Scripted {
        input: Cursor<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_wrong_accept_key_or_status_is_refused() {
        let far = Instant::now() + std::time::Duration::from_secs(5);
        let stop = AtomicBool::new(false);
        for (response, error) in [
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n",
                "wrong Sec-WebSocket-Accept",
            ),
            ("HTTP/1.1 404 Not Found\r\n\r\n", "answered 404"),
        ] {
            let mut stream = Scripted {
                input: Cursor::new(response.as_bytes().to_vec()),
                written: Vec::new(),
            };
            let e = client_handshake(&mut stream, "h", "/x", far, &stop).unwrap_err();
            assert!(e.contains(error), "{e}");
            assert!(
                stream
                    .written
                    .starts_with(b"GET /x HTTP/1.1\r\nHost: h\r\n")
            );
        }
    }
}
