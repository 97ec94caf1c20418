//! How a connection's socket waits for data: blocking reads bounded by the read tick, for a
//! connection with a thread (and a core) of its own that may sleep in its read; or a
//! non-blocking socket registered with the owning thread's mio `Poll`, for a thread that runs
//! several stages (other connections, shards, consumers) and must never wait in one of them.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::dialer::Socket;

/// Called by a helper thread (a dial or a rotation) when its result is ready, so a thread that
/// sleeps in its `Poll` picks the result up at once instead of at its next timeout.
pub type Notify = Arc<dyn Fn() + Send + Sync>;

/// The waiting mode of one connection.
pub enum Readiness {
    /// Blocking reads with the read tick as timeout: the thread sleeps in its read.
    Blocking,
    /// Non-blocking reads; the socket is registered with `registry` under `token`, and the
    /// thread sleeps in the `Poll` that registry belongs to.
    Polled {
        /// The owning thread's registry.
        registry: Registry,
        /// What the thread's `Poll` reports when this connection's socket is readable.
        token: Token,
        /// Wakes the owning thread when a helper thread has finished.
        notify: Notify,
    },
}

impl Readiness {
    /// True for non-blocking sockets.
    pub fn is_polled(&self) -> bool {
        matches!(self, Readiness::Polled { .. })
    }

    /// Puts a freshly opened socket (blocking, read timeout = tick, as dialed) in this mode.
    ///
    /// # Errors
    ///
    /// The socket cannot be made non-blocking or registered.
    pub fn adopt(&self, socket: &mut Socket) -> io::Result<()> {
        let Readiness::Polled {
            registry, token, ..
        } = self
        else {
            return Ok(());
        };
        let tcp = socket.get_ref().tcp();
        tcp.set_nonblocking(true)?;
        let fd = tcp.as_raw_fd();
        socket.end_batches_at_short_reads();
        // Closing the socket removes it from the poll (nothing else holds its descriptor).
        registry.register(&mut SourceFd(&fd), *token, Interest::READABLE)
    }

    /// The helper-thread callback, if any.
    pub fn notify(&self) -> Option<Notify> {
        match self {
            Readiness::Blocking => None,
            Readiness::Polled { notify, .. } => Some(Arc::clone(notify)),
        }
    }
}
