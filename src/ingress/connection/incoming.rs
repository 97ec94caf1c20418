//! One read from a socket, turned into what the connection acts on. Every error the network can
//! produce maps to a tick or a disconnect cause: nothing here panics.

use std::io::ErrorKind;

use tungstenite::error::ProtocolError;
use tungstenite::{Bytes, Error, Message, Utf8Bytes};

use super::dialer::Socket;
use super::handler::DisconnectCause;

/// The result of one read.
#[derive(Debug)]
pub enum Incoming {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A server ping; the pong is already flushed.
    Ping,
    /// A pong to one of our pings, with its payload.
    Pong(Bytes),
    /// The read timed out: nothing arrived within the read tick.
    Tick,
    /// The socket is finished.
    Ended(DisconnectCause),
}

/// Reads one message: for a blocking socket, or times out after its read timeout; for a
/// non-blocking one (`polled`), or finds nothing there ([`Incoming::Tick`] either way).
///
/// tungstenite queues the pong to a ping and would only write it at the start of the next read,
/// a whole read tick later on an idle socket; it is flushed here, right away. A non-blocking
/// socket that cannot take it yet keeps it queued, and the next read or flush sends it.
pub fn read_one(socket: &mut Socket, polled: bool) -> Incoming {
    match socket.read() {
        Ok(Message::Text(text)) => Incoming::Text(text),
        Ok(Message::Binary(bytes)) => Incoming::Binary(bytes),
        Ok(Message::Ping(_)) => match socket.flush() {
            Ok(()) => Incoming::Ping,
            Err(e) if polled && would_block(&e) => Incoming::Ping,
            Err(e) => Incoming::Ended(write_failure(e)),
        },
        Ok(Message::Pong(payload)) => Incoming::Pong(payload),
        Ok(Message::Close(_)) => {
            // Send the close reply tungstenite queued; the socket is done either way.
            let _ = socket.flush();
            Incoming::Ended(DisconnectCause::ServerClosed)
        }
        // Only ever produced for writing; reading never yields it.
        Ok(Message::Frame(_)) => Incoming::Tick,
        Err(e) => read_failure(e),
    }
}

fn read_failure(error: Error) -> Incoming {
    let cause = match error {
        Error::Io(e)
            if matches!(
                e.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
            ) =>
        {
            return Incoming::Tick;
        }
        Error::ConnectionClosed | Error::AlreadyClosed => DisconnectCause::ServerClosed,
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => DisconnectCause::Eof,
        Error::Io(e) if e.kind() == ErrorKind::UnexpectedEof => DisconnectCause::Eof,
        Error::Io(e) => DisconnectCause::Io(e.to_string()),
        Error::Tls(e) => DisconnectCause::Io(format!("tls: {e}")),
        Error::Capacity(e) => DisconnectCause::TooLarge(e.to_string()),
        other => DisconnectCause::Protocol(other.to_string()),
    };
    Incoming::Ended(cause)
}

/// True when a write found the socket's buffer full: for a non-blocking socket the bytes wait
/// in tungstenite's buffer for the next write or flush; for a blocking one the write timeout
/// expired.
pub fn would_block(error: &Error) -> bool {
    matches!(error, Error::Io(e) if e.kind() == ErrorKind::WouldBlock)
}

/// Sends `message`; with a non-blocking socket (`polled`), bytes the socket cannot take yet
/// wait in tungstenite's buffer for the next write, read or flush.
pub fn send(socket: &mut Socket, message: Message, polled: bool) -> Result<(), DisconnectCause> {
    match socket.send(message) {
        Ok(()) => Ok(()),
        Err(e) if polled && would_block(&e) => Ok(()),
        Err(e) => Err(write_failure(e)),
    }
}

/// A failed write: with a blocking socket, `WouldBlock` means the write timeout expired.
pub fn write_failure(error: Error) -> DisconnectCause {
    match error {
        Error::Io(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            DisconnectCause::Io("write timed out".to_string())
        }
        Error::Io(e) => DisconnectCause::Io(e.to_string()),
        Error::ConnectionClosed | Error::AlreadyClosed => DisconnectCause::ServerClosed,
        other => DisconnectCause::Protocol(other.to_string()),
    }
}
