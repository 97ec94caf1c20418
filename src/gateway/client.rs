//! One connection: its socket, what it has sent us, what we have not sent it yet, and, once it
//! speaks WebSocket, its framing and streams.

use std::io::{self, Read, Write};

use mio::net::TcpStream;

use super::history::SlotKey;
use crate::egress::KlineStream;
use crate::egress::stream_path::Framing;

/// Most request bytes buffered before a complete request or frame: more is an abuse.
pub const MAX_INPUT: usize = 128 * 1024;

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
    /// Bytes to send; `output[sent..]` is still pending.
    output: Vec<u8>,
    sent: usize,
    /// HTTP or WebSocket.
    pub phase: Phase,
    /// Subscribed streams with their slots, in subscription order.
    pub streams: Vec<(KlineStream, SlotKey)>,
    /// Close once the pending output is sent.
    pub closing: bool,
    /// Marked too slow this round; dropped at its end.
    pub slow: bool,
}

impl Client {
    /// A new HTTP connection on `stream`.
    pub fn new(stream: TcpStream) -> Client {
        Client {
            stream,
            input: Vec::new(),
            output: Vec::new(),
            sent: 0,
            phase: Phase::Http,
            streams: Vec::new(),
            closing: false,
            slow: false,
        }
    }

    /// Bytes buffered and not yet written to the socket.
    pub fn pending(&self) -> usize {
        self.output.len() - self.sent
    }

    /// The output buffer, to append to.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.output
    }

    /// True once a closing client has sent everything.
    pub fn finished(&self) -> bool {
        self.closing && self.pending() == 0
    }

    /// Reads everything available into `input`; `Ok(false)` when the peer closed.
    ///
    /// # Errors
    ///
    /// Socket errors other than `WouldBlock`, and input past [`MAX_INPUT`].
    pub fn read_available(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 8192];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.input.extend_from_slice(&chunk[..n]);
                    if self.input.len() > MAX_INPUT {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, "input too long"));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes pending output until it is all sent or the socket would block.
    ///
    /// # Errors
    ///
    /// Socket errors other than `WouldBlock`.
    pub fn flush(&mut self) -> io::Result<()> {
        while self.sent < self.output.len() {
            match self.stream.write(&self.output[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.sent == self.output.len() {
            self.output.clear();
            self.sent = 0;
        } else if self.sent > self.output.len() / 2 {
            self.output.drain(..self.sent);
            self.sent = 0;
        }
        Ok(())
    }
}
