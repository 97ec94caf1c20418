//! One connection: its socket, what it has sent us, what we have not sent it yet, and, once it
//! speaks WebSocket, its framing and streams.

use std::io::{self, Read};

use mio::net::TcpStream;

use super::event_frames::StreamKey;
use super::output::Output;
use crate::egress::KlineStream;
use crate::egress::stream_path::Framing;

/// Most request bytes buffered at once: reading stops there until the complete requests are
/// answered, and a single request or frame that does not fit is an abuse.
pub const MAX_INPUT: usize = 128 * 1024;

/// Where a read stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadState {
    /// Everything the socket had was read.
    Drained,
    /// The input holds [`MAX_INPUT`] bytes; more may be waiting.
    Full,
    /// The peer closed its side.
    Closed,
}

/// What a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// HTTP requests (REST, or a WebSocket handshake not yet made).
    Http,
    /// WebSocket frames, events framed as the path said.
    WebSocket(Framing),
}

/// A client connection with its buffers.
#[derive(Debug)]
pub struct Client {
    /// The non-blocking socket.
    pub stream: TcpStream,
    /// Bytes read and not yet consumed.
    pub input: Vec<u8>,
    /// Bytes to send.
    output: Output,
    /// HTTP or WebSocket.
    pub phase: Phase,
    /// Subscribed streams with their slots and event formats, in subscription order.
    pub streams: Vec<(KlineStream, StreamKey)>,
    /// Close once the pending output is sent.
    pub closing: bool,
    /// Closing because the client broke the protocol (counted apart from normal closes).
    pub protocol_error: bool,
    /// Its output would pass the bound: dropped as too slow.
    pub slow: bool,
}

impl Client {
    /// A new HTTP connection on `stream`.
    pub fn new(stream: TcpStream) -> Client {
        Client {
            stream,
            input: Vec::new(),
            output: Output::new(),
            phase: Phase::Http,
            streams: Vec::new(),
            closing: false,
            protocol_error: false,
            slow: false,
        }
    }

    /// Bytes buffered and not yet written to the socket.
    pub fn pending(&self) -> usize {
        self.output.pending()
    }

    /// The output buffer, to append replies to (see [`Client::enforce_bound`]).
    pub fn output(&mut self) -> &mut Vec<u8> {
        self.output.buffer()
    }

    /// True once a closing client has sent everything.
    pub fn finished(&self) -> bool {
        self.closing && self.pending() == 0
    }

    /// Closes after the pending output, as a protocol violation.
    pub fn close_for_protocol(&mut self) {
        self.closing = true;
        self.protocol_error = true;
    }

    /// Appends an event frame unless the pending output would pass `max` even after writing
    /// what the socket takes now; then marks the client slow. Returns whether it was appended
    /// and the bytes written meanwhile.
    pub fn queue(&mut self, frame: &[u8], max: usize) -> (bool, usize) {
        if self.output.append_within(frame, max) {
            return (true, 0);
        }
        let written = self.flush().unwrap_or(0);
        if self.output.append_within(frame, max) {
            return (true, written);
        }
        self.slow = true;
        (false, written)
    }

    /// Marks the client slow when replies appended to [`Client::output`] left more than `max`
    /// bytes pending even after writing what the socket takes now; returns the bytes written.
    pub fn enforce_bound(&mut self, max: usize) -> usize {
        if self.pending() <= max {
            return 0;
        }
        let written = self.flush().unwrap_or(0);
        if self.pending() > max {
            self.slow = true;
        }
        written
    }

    /// Reads what is available into `input`, up to [`MAX_INPUT`] bytes held.
    ///
    /// # Errors
    ///
    /// Socket errors other than `WouldBlock`.
    pub fn read_available(&mut self) -> io::Result<ReadState> {
        let mut chunk = [0u8; 8192];
        while self.input.len() < MAX_INPUT {
            let room = (MAX_INPUT - self.input.len()).min(chunk.len());
            match self.stream.read(&mut chunk[..room]) {
                Ok(0) => return Ok(ReadState::Closed),
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadState::Drained),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ReadState::Full)
    }

    /// Writes pending output until it is all sent or the socket would block; returns the bytes
    /// written.
    ///
    /// # Errors
    ///
    /// Socket errors other than `WouldBlock`.
    pub fn flush(&mut self) -> io::Result<usize> {
        self.output.write_to(&mut self.stream)
    }
}
