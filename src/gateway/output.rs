//! A client's unsent output: bytes the loop appends, written to the socket as fast as it takes
//! them, and the size that decides a client is too slow.
//!
//! Kept apart from the socket so that fan-out (append one encoded frame to many buffers) can be
//! measured and tested without one.

use std::io::{self, Write};

/// Bytes waiting to be written; `buf[sent..]` is still pending.
#[derive(Debug, Default)]
pub struct Output {
    buf: Vec<u8>,
    sent: usize,
}

impl Output {
    /// An empty buffer.
    pub fn new() -> Output {
        Output::default()
    }

    /// Bytes appended and not yet written.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }

    /// The buffer to append to without a bound (replies, responses: their size is checked once
    /// the request is answered).
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Appends `bytes` if the pending output stays within `max`; false (nothing appended)
    /// otherwise.
    #[inline]
    pub fn append_within(&mut self, bytes: &[u8], max: usize) -> bool {
        if self.pending() + bytes.len() > max {
            return false;
        }
        self.buf.extend_from_slice(bytes);
        true
    }

    /// Writes pending bytes to `sink` until all are written or it would block; returns how
    /// many were written.
    ///
    /// # Errors
    ///
    /// Errors of `sink` other than `WouldBlock` and `Interrupted` (bytes written before the
    /// error stay written and are no longer pending).
    pub fn write_to(&mut self, sink: &mut impl Write) -> io::Result<usize> {
        let start = self.sent;
        let mut failure = None;
        while self.sent < self.buf.len() {
            match sink.write(&self.buf[self.sent..]) {
                Ok(0) => {
                    failure = Some(io::ErrorKind::WriteZero.into());
                    break;
                }
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let written = self.sent - start;
        // Reuse the allocation: clear when everything went out, and move the rest to the front
        // once the sent part is the larger half (so a slow reader does not make it grow).
        if self.sent == self.buf.len() {
            self.buf.clear();
            self.sent = 0;
        } else if self.sent > self.buf.len() / 2 {
            self.buf.drain(..self.sent);
            self.sent = 0;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(written),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts at most `room` bytes, then would block.
    struct Tight {
        room: usize,
        got: Vec<u8>,
    }

    impl Write for Tight {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = bytes.len().min(self.room);
            self.room -= n;
            self.got.extend_from_slice(&bytes[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn appends_within_the_bound_and_writes_what_the_sink_takes() {
        let mut out = Output::new();
        assert!(out.append_within(b"hello", 8));
        assert!(!out.append_within(b"world", 8), "5 + 5 > 8");
        assert_eq!(out.pending(), 5);
        let mut sink = Tight {
            room: 3,
            got: Vec::new(),
        };
        assert_eq!(out.write_to(&mut sink).unwrap(), 3);
        assert_eq!(out.pending(), 2);
        assert!(out.append_within(b"world", 8), "2 + 5 <= 8");
        sink.room = 100;
        assert_eq!(out.write_to(&mut sink).unwrap(), 7);
        assert_eq!(sink.got, b"helloworld");
        assert_eq!(out.pending(), 0);
    }
}
