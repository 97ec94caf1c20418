//! The client side of a WebSocket after its handshake: frames read straight out of one read
//! buffer and handed over as byte slices, pongs and our own frames written masked.
//!
//! Why not `tungstenite::WebSocket::read`: it zero-fills its read buffer's free space before
//! every socket read, checks every text frame's UTF-8 and hands each message over as a
//! reference-counted buffer. Here the buffer (sized for the largest message) is zeroed once, a
//! frame's payload is a slice of it until the next read, and UTF-8 is left to whoever reads the
//! text: the aggTrade scanner proves its frames ASCII as it goes, and serde_json checks the
//! rest. Every complete frame one socket read brought is handed over before the next read.

use std::io::{self, ErrorKind, Read, Write};

use super::handler::DisconnectCause;
use crate::websocket::{FrameHeader, HeaderError, Opcode, mask_in_place, write_header};

/// What one [`WsStream::read`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A text message's payload (not checked as UTF-8).
    Text(&'a [u8]),
    /// A binary message's payload.
    Binary(&'a [u8]),
    /// A server ping; the pong is queued and sent as far as the socket takes it.
    Ping,
    /// A pong to one of our pings, with its payload.
    Pong(&'a [u8]),
    /// Nothing complete arrived: the read timed out (blocking) or would block (non-blocking).
    Tick,
    /// The socket is finished.
    Ended(DisconnectCause),
}

/// A message being assembled from fragments.
#[derive(Debug)]
struct Fragments {
    opcode: Opcode,
    payload: Vec<u8>,
}

/// One client WebSocket over `S`.
#[derive(Debug)]
pub struct WsStream<S> {
    stream: S,
    /// Bytes read, `buf[start..end]` not yet consumed.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Frames written but not yet taken by the socket.
    out: Vec<u8>,
    max_message: usize,
    fragments: Option<Fragments>,
    /// The last message assembled from fragments, handed over until the next read.
    scratch: Vec<u8>,
    /// Masking keys come from this generator (xorshift; RFC 6455 asks for unpredictable keys
    /// against cache poisoning by intermediaries, not for secrecy).
    mask_state: u64,
    /// Our close frame was queued: no more frames of ours.
    closing: bool,
    /// See [`WsStream::end_batches_at_short_reads`].
    short_read_ends_batch: bool,
    /// The last socket read did not fill the buffer: the socket had nothing more then.
    drained: bool,
}

/// Header bytes a frame can take at most.
const MAX_HEADER: usize = 14;

impl<S: Read + Write> WsStream<S> {
    /// A stream over `stream` whose handshake is done; `tail` holds bytes read past the
    /// handshake response. Messages over `max_message` bytes end the stream.
    pub fn new(stream: S, tail: &[u8], max_message: usize) -> WsStream<S> {
        let capacity = (max_message + MAX_HEADER).max(tail.len()).max(4096);
        let mut buf = vec![0u8; capacity].into_boxed_slice();
        buf[..tail.len()].copy_from_slice(tail);
        WsStream {
            stream,
            buf,
            start: 0,
            end: tail.len(),
            out: Vec::with_capacity(256),
            max_message,
            fragments: None,
            scratch: Vec::new(),
            mask_state: seed(),
            closing: false,
            short_read_ends_batch: false,
            drained: false,
        }
    }

    /// For a non-blocking socket: once the frames of a read that did not fill the buffer are
    /// handed over, [`WsStream::read`] returns [`Incoming::Tick`] instead of asking the socket
    /// again, which had nothing more a moment ago. The thread's other stages then take those
    /// frames without first waiting for a read that would only say "would block"; the next
    /// read asks the socket.
    pub fn end_batches_at_short_reads(&mut self) {
        self.short_read_ends_batch = true;
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The next message, or [`Incoming::Tick`] when none is complete and the socket has
    /// nothing more now. Pending writes (pongs, our frames) go out first, as far as they can.
    /// The payload borrows this stream's buffer until the next call.
    pub fn read(&mut self) -> Incoming<'_> {
        if let Err(e) = self.flush_out()
            && e.kind() != ErrorKind::WouldBlock
            && e.kind() != ErrorKind::TimedOut
        {
            return Incoming::Ended(DisconnectCause::Io(e.to_string()));
        }
        loop {
            match self.next_frame() {
                Ok(Some((opcode, fin, from, to))) => {
                    if let Some(found) = self.on_frame(opcode, fin, from, to) {
                        return match found {
                            Found::Slice(opcode, from, to) => self.incoming(opcode, from, to),
                            Found::Fragments(opcode) => self.assembled(opcode),
                            Found::Ping => Incoming::Ping,
                            Found::Ended(cause) => Incoming::Ended(cause),
                        };
                    }
                }
                Ok(None) => {
                    if std::mem::take(&mut self.drained) {
                        return Incoming::Tick;
                    }
                    if let Some(ended) = self.fill() {
                        return ended;
                    }
                }
                Err(cause) => return Incoming::Ended(cause),
            }
        }
    }

    /// Queues a text frame and sends what the socket takes.
    ///
    /// # Errors
    ///
    /// The socket failed; `WouldBlock` (non-blocking) or `TimedOut` (blocking) means the rest
    /// waits in the buffer for the next read or flush.
    pub fn send_text(&mut self, text: &[u8]) -> io::Result<()> {
        self.queue(Opcode::Text, text);
        self.flush_out()
    }

    /// Queues a ping carrying `payload` (at most 125 bytes) and sends what the socket takes.
    ///
    /// # Errors
    ///
    /// As for [`WsStream::send_text`].
    pub fn send_ping(&mut self, payload: &[u8]) -> io::Result<()> {
        self.queue(Opcode::Ping, &payload[..payload.len().min(125)]);
        self.flush_out()
    }

    /// Queues a close frame (status 1000) and sends what the socket takes; nothing is sent
    /// after it.
    ///
    /// # Errors
    ///
    /// As for [`WsStream::send_text`].
    pub fn close(&mut self) -> io::Result<()> {
        if !self.closing {
            self.queue(Opcode::Close, &1000u16.to_be_bytes());
            self.closing = true;
        }
        self.flush_out()
    }

    /// Sends what is queued, as far as the socket takes it.
    ///
    /// # Errors
    ///
    /// As for [`WsStream::send_text`].
    pub fn flush(&mut self) -> io::Result<()> {
        self.flush_out()
    }

    /// True while frames of ours wait for the socket.
    pub fn has_pending(&self) -> bool {
        !self.out.is_empty()
    }

    fn queue(&mut self, opcode: Opcode, payload: &[u8]) {
        if self.closing {
            return;
        }
        let key = self.next_mask();
        write_header(&mut self.out, opcode, payload.len(), Some(key));
        let at = self.out.len();
        self.out.extend_from_slice(payload);
        mask_in_place(&mut self.out[at..], key);
    }

    fn flush_out(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => return Err(io::Error::new(ErrorKind::WriteZero, "socket took nothing")),
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.stream.flush()
    }

    /// The next complete frame in the buffer: its opcode, FIN and payload range.
    fn next_frame(&mut self) -> Result<Option<(Opcode, bool, usize, usize)>, DisconnectCause> {
        let header = match FrameHeader::parse(&self.buf[self.start..self.end], self.max_message) {
            Ok(Some(header)) => header,
            Ok(None) => return Ok(None),
            Err(HeaderError::TooLong) => {
                return Err(DisconnectCause::TooLarge(format!(
                    "a frame over {} bytes",
                    self.max_message
                )));
            }
            Err(e) => {
                return Err(DisconnectCause::Protocol(format!(
                    "bad frame header: {e:?}"
                )));
            }
        };
        if header.mask.is_some() {
            return Err(DisconnectCause::Protocol(
                "the server masked a frame".to_owned(),
            ));
        }
        let from = self.start + header.header_len;
        let to = from + header.len;
        if to > self.end {
            return Ok(None);
        }
        self.start = to;
        Ok(Some((header.opcode, header.fin, from, to)))
    }

    /// What a complete frame means: a message to hand over, or nothing yet (a fragment, a
    /// pong to queue).
    fn on_frame(&mut self, opcode: Opcode, fin: bool, from: usize, to: usize) -> Option<Found> {
        match opcode {
            Opcode::Text | Opcode::Binary if fin && self.fragments.is_none() => {
                Some(Found::Slice(opcode, from, to))
            }
            Opcode::Text | Opcode::Binary if self.fragments.is_none() => {
                self.fragments = Some(Fragments {
                    opcode,
                    payload: self.buf[from..to].to_vec(),
                });
                None
            }
            Opcode::Continuation => {
                let Some(fragments) = &mut self.fragments else {
                    return Some(Found::Ended(DisconnectCause::Protocol(
                        "a continuation frame without a message".to_owned(),
                    )));
                };
                if fragments.payload.len() + (to - from) > self.max_message {
                    return Some(Found::Ended(DisconnectCause::TooLarge(format!(
                        "a message over {} bytes",
                        self.max_message
                    ))));
                }
                fragments.payload.extend_from_slice(&self.buf[from..to]);
                fin.then_some(Found::Fragments(fragments.opcode))
            }
            Opcode::Text | Opcode::Binary => Some(Found::Ended(DisconnectCause::Protocol(
                "a new message inside a fragmented one".to_owned(),
            ))),
            Opcode::Ping => {
                let mut payload = [0u8; 125];
                let len = to - from;
                payload[..len].copy_from_slice(&self.buf[from..to]);
                self.queue(Opcode::Pong, &payload[..len]);
                match self.flush_out() {
                    Err(e) if !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        Some(Found::Ended(DisconnectCause::Io(e.to_string())))
                    }
                    _ => Some(Found::Ping),
                }
            }
            Opcode::Pong => Some(Found::Slice(opcode, from, to)),
            Opcode::Close => {
                // Answer the close; the socket is done either way.
                let _ = self.close();
                Some(Found::Ended(DisconnectCause::ServerClosed))
            }
        }
    }

    fn incoming(&self, opcode: Opcode, from: usize, to: usize) -> Incoming<'_> {
        let payload = &self.buf[from..to];
        match opcode {
            Opcode::Binary => Incoming::Binary(payload),
            Opcode::Pong => Incoming::Pong(payload),
            _ => Incoming::Text(payload),
        }
    }

    fn assembled(&mut self, opcode: Opcode) -> Incoming<'_> {
        // Kept until the next read, which drops it; fragmented messages are rare.
        let fragments = self.fragments.take().map(|f| f.payload).unwrap_or_default();
        self.scratch = fragments;
        match opcode {
            Opcode::Binary => Incoming::Binary(&self.scratch),
            _ => Incoming::Text(&self.scratch),
        }
    }

    /// Reads more from the socket (moving unread bytes to the front when the tail is short);
    /// `Some` when the read ended the stream or found nothing.
    fn fill(&mut self) -> Option<Incoming<'static>> {
        if self.start > 0 && self.buf.len() - self.end < self.buf.len() / 2 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        match self.stream.read(&mut self.buf[self.end..]) {
            Ok(0) => Some(Incoming::Ended(DisconnectCause::Eof)),
            Ok(n) => {
                self.end += n;
                self.drained = self.short_read_ends_batch && self.end < self.buf.len();
                None
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                Some(Incoming::Tick)
            }
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                Some(Incoming::Ended(DisconnectCause::Eof))
            }
            Err(e) => Some(Incoming::Ended(DisconnectCause::Io(e.to_string()))),
        }
    }

    fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.mask_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.mask_state = x;
        (x as u32).to_le_bytes()
    }
}

/// What a write's result means for the connection: bytes a non-blocking (`polled`) socket
/// could not take wait in the buffer; a blocking socket that took nothing for its whole write
/// timeout has a dead peer.
pub fn write_outcome(result: io::Result<()>, polled: bool) -> Result<(), DisconnectCause> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if polled && e.kind() == ErrorKind::WouldBlock => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(DisconnectCause::Io("write timed out".to_owned()))
        }
        Err(e) => Err(DisconnectCause::Io(e.to_string())),
    }
}

/// What a complete frame turned out to be, by position, so the buffer is borrowed only when
/// it is handed over.
enum Found {
    Slice(Opcode, usize, usize),
    Fragments(Opcode),
    Ping,
    Ended(DisconnectCause),
}

/// A seed for masking keys: the standard library's per-process random hasher keys, mixed
/// with the clock so that every stream starts elsewhere.
fn seed() -> u64 {
    use std::hash::BuildHasher;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::collections::hash_map::RandomState::new().hash_one(nanos) | 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A peer whose bytes arrive in the chunks given, then would block; what we write is kept.
    struct Peer {
        chunks: VecDeque<Vec<u8>>,
        written: Vec<u8>,
        /// Reads asked of the peer.
        reads: usize,
    }

    impl Read for Peer {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let Some(chunk) = self.chunks.front_mut() else {
                return Err(io::Error::new(ErrorKind::WouldBlock, "nothing yet"));
            };
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            chunk.drain(..n);
            if chunk.is_empty() {
                self.chunks.pop_front();
            }
            Ok(n)
        }
    }

    impl Write for Peer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn frame(opcode: Opcode, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out, opcode, payload.len(), None);
        if !fin {
            out[0] &= 0x7F;
        }
        out.extend_from_slice(payload);
        out
    }

    fn stream(chunks: Vec<Vec<u8>>) -> WsStream<Peer> {
        let peer = Peer {
            chunks: chunks.into(),
            written: Vec::new(),
            reads: 0,
        };
        WsStream::new(peer, &[], 1024)
    }

    #[test]
    fn frames_split_over_reads_or_packed_in_one_come_out_one_by_one() {
        let mut bytes = frame(Opcode::Text, true, b"first");
        bytes.extend(frame(Opcode::Text, true, &[b'x'; 300]));
        bytes.extend(frame(Opcode::Binary, true, b"third"));
        // The second frame's header is cut in two.
        let (a, b) = bytes.split_at(10);
        let mut ws = stream(vec![a.to_vec(), b.to_vec()]);
        assert_eq!(ws.read(), Incoming::Text(b"first"));
        assert_eq!(ws.read(), Incoming::Text(&[b'x'; 300]));
        assert_eq!(ws.read(), Incoming::Binary(b"third"));
        assert_eq!(ws.read(), Incoming::Tick);
    }

    #[test]
    fn a_short_read_ends_the_batch_once_its_frames_are_handed_over() {
        let mut ws = stream(vec![
            frame(Opcode::Text, true, b"one"),
            frame(Opcode::Text, true, b"two"),
        ]);
        ws.end_batches_at_short_reads();
        assert_eq!(ws.read(), Incoming::Text(b"one"));
        // The peer had nothing more at that read: no second read before the caller's turn.
        assert_eq!(ws.read(), Incoming::Tick);
        assert_eq!(ws.get_ref().reads, 1);
        assert_eq!(ws.read(), Incoming::Text(b"two"));
        assert_eq!(ws.read(), Incoming::Tick);
        assert_eq!(ws.get_ref().reads, 2);
        // The next batch asks the peer again.
        assert_eq!(ws.read(), Incoming::Tick);
        assert_eq!(ws.get_ref().reads, 3);
    }

    #[test]
    fn fragments_are_assembled_and_pings_answered_between_them() {
        let mut bytes = frame(Opcode::Text, false, b"hel");
        bytes.extend(frame(Opcode::Ping, true, b"p1"));
        bytes.extend(frame(Opcode::Continuation, true, b"lo"));
        let mut ws = stream(vec![bytes]);
        assert_eq!(ws.read(), Incoming::Ping);
        assert_eq!(ws.read(), Incoming::Text(b"hello"));
        // The pong is masked, as a client's frames must be, and echoes the ping.
        let written = &ws.get_ref().written;
        let header = FrameHeader::parse(written, 125).unwrap().unwrap();
        assert_eq!((header.opcode, header.len), (Opcode::Pong, 2));
        let mut payload = written[header.header_len..].to_vec();
        mask_in_place(&mut payload, header.mask.expect("masked"));
        assert_eq!(payload, b"p1");
    }

    #[test]
    fn a_close_ends_the_stream_and_is_answered() {
        let mut ws = stream(vec![frame(Opcode::Close, true, &1000u16.to_be_bytes())]);
        assert_eq!(ws.read(), Incoming::Ended(DisconnectCause::ServerClosed));
        let written = &ws.get_ref().written;
        let header = FrameHeader::parse(written, 125).unwrap().unwrap();
        assert_eq!(header.opcode, Opcode::Close);
    }

    #[test]
    fn masked_server_frames_and_oversized_messages_end_the_stream() {
        let mut masked = Vec::new();
        write_header(&mut masked, Opcode::Text, 2, Some([1, 2, 3, 4]));
        masked.extend_from_slice(b"hi");
        assert!(matches!(
            stream(vec![masked]).read(),
            Incoming::Ended(DisconnectCause::Protocol(_))
        ));
        let big = frame(Opcode::Text, true, &[b'x'; 2000]);
        assert!(matches!(
            stream(vec![big]).read(),
            Incoming::Ended(DisconnectCause::TooLarge(_))
        ));
        let mut parts = frame(Opcode::Text, false, &[b'x'; 800]);
        parts.extend(frame(Opcode::Continuation, true, &[b'x'; 800]));
        assert!(matches!(
            stream(vec![parts]).read(),
            Incoming::Ended(DisconnectCause::TooLarge(_))
        ));
    }

    #[test]
    fn our_text_is_masked_and_nothing_follows_our_close() {
        let mut ws = stream(Vec::new());
        ws.send_text(b"{\"id\":1}").unwrap();
        ws.close().unwrap();
        ws.send_text(b"late").unwrap();
        let written = ws.get_ref().written.clone();
        let first = FrameHeader::parse(&written, 1024).unwrap().unwrap();
        let mut payload = written[first.header_len..first.header_len + first.len].to_vec();
        mask_in_place(&mut payload, first.mask.unwrap());
        assert_eq!(payload, b"{\"id\":1}");
        let rest = &written[first.header_len + first.len..];
        let close = FrameHeader::parse(rest, 1024).unwrap().unwrap();
        assert_eq!(close.opcode, Opcode::Close);
        assert_eq!(rest.len(), close.header_len + close.len);
    }
}
