//! A reader that takes a blast server's frames and throws them away, to measure the
//! generator alone: a WebSocket handshake, then reads of 1 MiB until the server closes or the
//! reader is stopped.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::pipeline::pin_current_thread;

/// Streams per connection, as klagg and the baseline open them.
const STREAMS_PER_CONNECTION: usize = 200;

/// How often a reader waiting on a quiet socket looks at its stop flag.
const POLL: Duration = Duration::from_millis(100);

/// Discarding readers, one thread per connection.
pub struct DiscardReader {
    stop: Arc<AtomicBool>,
    bytes: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

/// The stream names of `names`' aggTrade streams, as clients ask for them.
pub fn discard_streams(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| format!("{}@aggTrade", crate::symbol_name::stream_case(n)))
        .collect()
}

impl DiscardReader {
    /// Connects to `addr` for `streams` (200 a connection), each connection read by a thread
    /// pinned to `core`.
    ///
    /// # Errors
    ///
    /// A connection or handshake failed.
    pub fn start(
        addr: SocketAddr,
        streams: &[String],
        core: Option<usize>,
    ) -> io::Result<DiscardReader> {
        let stop = Arc::new(AtomicBool::new(false));
        let bytes = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        for group in streams.chunks(STREAMS_PER_CONNECTION) {
            let mut socket = TcpStream::connect(addr)?;
            handshake(&mut socket, addr, group)?;
            let (stop, bytes) = (Arc::clone(&stop), Arc::clone(&bytes));
            threads.push(
                std::thread::Builder::new()
                    .name("blast-discard".to_owned())
                    .spawn(move || {
                        pin_current_thread("blast discard", core);
                        discard(&mut socket, &stop, &bytes);
                    })?,
            );
        }
        Ok(DiscardReader {
            stop,
            bytes,
            threads,
        })
    }

    /// Bytes of frames read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Acquire)
    }

    /// Waits up to `timeout` for the server to close every connection (each reader then has
    /// read all that was sent), then stops the readers; returns the bytes of frames read.
    pub fn finish(self, timeout: Duration) -> u64 {
        let deadline = std::time::Instant::now() + timeout;
        while !self.threads.iter().all(JoinHandle::is_finished)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.stop()
    }

    /// Stops the readers; returns the bytes of frames they read.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads {
            let _ = thread.join();
        }
        self.bytes.load(Ordering::Acquire)
    }
}

/// Sends the upgrade request and reads the answer head, byte by byte so no frame is taken.
fn handshake(socket: &mut TcpStream, addr: SocketAddr, streams: &[String]) -> io::Result<()> {
    let request = format!(
        "GET /market/stream?streams={} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        streams.join("/")
    );
    socket.write_all(request.as_bytes())?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        socket.read_exact(&mut byte)?;
        head.push(byte[0]);
        if head.len() > 4096 {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                "handshake answer too long",
            ));
        }
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            format!("handshake refused: {}", String::from_utf8_lossy(&head)),
        ));
    }
    socket.set_read_timeout(Some(POLL))
}

fn discard(socket: &mut TcpStream, stop: &AtomicBool, bytes: &AtomicU64) {
    let mut buf = vec![0u8; 1 << 20];
    while !stop.load(Ordering::Relaxed) {
        match socket.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}
