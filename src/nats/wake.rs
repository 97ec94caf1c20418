//! How a shard wakes the publisher's runtime when it answered a held pull: a datagram on a
//! Unix socket pair the runtime awaits. The shard side is one non-blocking `send(2)`: no lock,
//! no allocation, no tokio call on an aggregator thread.

use std::io;
use std::os::unix::net::UnixDatagram as StdDatagram;
use std::sync::Arc;

use tokio::net::UnixDatagram;

use crate::aggregator::Wake;

/// The publisher's end: awaits wakes inside its runtime.
pub struct WakeFd {
    socket: UnixDatagram,
}

impl WakeFd {
    /// A new socket pair, its reading end registered with the current tokio runtime, and the
    /// [`Wake`] that signals it from any thread.
    ///
    /// # Errors
    ///
    /// The sockets cannot be made or registered.
    pub fn new() -> io::Result<(WakeFd, Wake)> {
        let (writer, reader) = StdDatagram::pair()?;
        writer.set_nonblocking(true)?;
        reader.set_nonblocking(true)?;
        let writer = Arc::new(writer);
        let wake = Wake(Arc::new(move || {
            // A full buffer means wakes are already waiting to be read: this one can go.
            let _ = writer.send(&[1]);
        }));
        let socket = UnixDatagram::from_std(reader)?;
        Ok((WakeFd { socket }, wake))
    }

    /// Waits until woken (at once if a wake came since the last wait), and reads every wake
    /// that is waiting.
    pub async fn wait(&self) {
        let mut buf = [0u8; 16];
        if self.socket.recv(&mut buf).await.is_err() {
            return;
        }
        while self.socket.try_recv(&mut buf).is_ok() {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::WakeFd;

    #[test]
    fn a_wake_from_another_thread_ends_the_wait() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (fd, wake) = WakeFd::new().unwrap();
            let started = Instant::now();
            let waker = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                (wake.0)();
                (wake.0)();
            });
            tokio::time::timeout(Duration::from_secs(2), fd.wait())
                .await
                .expect("woken");
            assert!(started.elapsed() >= Duration::from_millis(20));
            waker.join().unwrap();
        });
    }
}
