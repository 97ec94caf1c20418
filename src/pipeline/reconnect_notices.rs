//! Which symbols a connection carries, told to the backfill each time the connection comes
//! back after a drop: trades the exchange sent meanwhile are lost, and for a symbol that does
//! not trade again no later agg id will show it, so the backfill checks their tails.

use crossbeam_channel::{Sender, TrySendError};

use crate::ingress::connection::ConnectionEvent;

/// Reconnect notices kept by one io thread (its cold path only: connects, symbol changes).
#[derive(Debug)]
pub struct ReconnectNotices {
    sender: Sender<Vec<u32>>,
    /// Engine-wide indices of the symbols the connection carries.
    carried: Vec<u32>,
    /// Whether the connection was up before: the first connect loses nothing.
    connected_before: bool,
}

impl ReconnectNotices {
    /// Notices of a connection carrying `carried`, sent to `sender`.
    pub fn new(sender: Sender<Vec<u32>>, carried: Vec<u32>) -> ReconnectNotices {
        ReconnectNotices {
            sender,
            carried,
            connected_before: false,
        }
    }

    /// The connection carries `symbol` from now on.
    pub fn add(&mut self, symbol: u32) {
        if !self.carried.contains(&symbol) {
            self.carried.push(symbol);
        }
    }

    /// The connection no longer carries `symbol`.
    pub fn remove(&mut self, symbol: u32) {
        self.carried.retain(|&s| s != symbol);
    }

    /// Sends the carried symbols when `event` is a reconnect. A full channel (nobody reads
    /// it: no backfill) drops the notice.
    pub fn on_event(&mut self, event: &ConnectionEvent) {
        if !matches!(event, ConnectionEvent::Connected { .. }) {
            return;
        }
        if self.connected_before && !self.carried.is_empty() {
            match self.sender.try_send(self.carried.clone()) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                Err(TrySendError::Full(_)) => {
                    log::debug!("reconnect notice dropped: nobody checks tails");
                }
            }
        }
        self.connected_before = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected() -> ConnectionEvent {
        ConnectionEvent::Connected {
            url: "ws://x".to_owned(),
            attempt: 1,
        }
    }

    #[test]
    fn reconnects_name_the_symbols_carried_then() {
        let (sender, notices) = crossbeam_channel::bounded(4);
        let mut io = ReconnectNotices::new(sender, vec![3, 5]);
        io.on_event(&connected());
        assert!(notices.is_empty(), "the first connect lost nothing");
        io.add(8);
        io.add(8);
        io.remove(3);
        io.on_event(&ConnectionEvent::RotationStarted);
        io.on_event(&connected());
        assert_eq!(notices.try_recv(), Ok(vec![5, 8]));
        for _ in 0..6 {
            io.on_event(&connected());
        }
        assert_eq!(notices.len(), 4, "bounded, never blocking");
    }
}
