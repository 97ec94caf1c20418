//! Opening a socket off the io thread: a short-lived helper thread dials (DNS, TCP, TLS and
//! the WebSocket handshake, blocking and several round trips) and hands the socket over, so a
//! thread that also serves other connections or a shard never stalls in a connect.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError, bounded};

use super::dialer::{Dialer, Socket};
use super::readiness::Notify;

/// A dial under way; dropping it cancels the helper (it ends within a read tick of the
/// handshake, or a connect timeout if it is inside a TCP connect).
pub struct PendingDial {
    receiver: Receiver<Result<Socket, String>>,
    cancel: Arc<AtomicBool>,
    /// The URL being dialed.
    pub url: String,
    /// How many of the connection's streams the URL names.
    pub in_url: usize,
}

impl PendingDial {
    /// Starts dialing `url` on a helper thread, which calls `notify` when it is done.
    pub fn start(
        dialer: Dialer,
        url: String,
        in_url: usize,
        notify: Option<Notify>,
    ) -> Result<PendingDial, String> {
        let (sender, receiver) = bounded(1);
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        let target = url.clone();
        thread::Builder::new()
            .name("klagg-dial".to_string())
            .spawn(move || {
                // The connection may have given up on us; then the socket just drops.
                let _ = sender.send(dialer.dial(&target, &flag));
                if let Some(notify) = notify {
                    notify();
                }
            })
            .map_err(|e| format!("spawn dial helper: {e}"))?;
        Ok(PendingDial {
            receiver,
            cancel,
            url,
            in_url,
        })
    }

    /// The helper's result once it has one, waiting up to `wait` for it.
    pub fn poll(&self, wait: Duration) -> Option<Result<Socket, String>> {
        let result = if wait.is_zero() {
            self.receiver.try_recv().map_err(|e| match e {
                TryRecvError::Empty => None,
                TryRecvError::Disconnected => Some(()),
            })
        } else {
            self.receiver.recv_timeout(wait).map_err(|e| match e {
                RecvTimeoutError::Timeout => None,
                RecvTimeoutError::Disconnected => Some(()),
            })
        };
        match result {
            Ok(outcome) => Some(outcome),
            Err(None) => None,
            Err(Some(())) => Some(Err("dial helper ended".to_string())),
        }
    }
}

impl Drop for PendingDial {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}
