//! Who receives what: one subscriber list per symbol and one for the ticker stream, so
//! publishing a trade locks one short list and never looks up a name.
//!
//! Each connection has an [`Outbox`], a bounded queue its own thread drains. Publishing only
//! ever `try_send`s into it: a full queue marks the connection too slow (its thread then drops
//! it) and the publisher moves on, so one slow client can never hold up the market.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Sender, TrySendError};
use tungstenite::{Message, Utf8Bytes};

use super::written::WriteKey;

use super::encode::Form;
use super::lock::lock;
use super::symbols::StreamId;

/// The publishing side of one connection's send queue.
/// A frame queued to a connection, with the trade to stamp once it is written, if any.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) message: Message,
    pub(crate) stamp: Option<WriteKey>,
}

#[derive(Debug)]
pub(crate) struct Outbox {
    /// Connection number, to find its entries again on unsubscribe.
    pub(crate) connection: u64,
    /// How the connection wants its frames.
    pub(crate) form: Form,
    queue: Sender<Outgoing>,
    too_slow: AtomicBool,
    drop_requested: AtomicBool,
}

impl Outbox {
    /// An outbox feeding `queue`.
    pub(crate) fn new(connection: u64, form: Form, queue: Sender<Outgoing>) -> Outbox {
        Outbox {
            connection,
            form,
            queue,
            too_slow: AtomicBool::new(false),
            drop_requested: AtomicBool::new(false),
        }
    }

    /// True once [`Routes::drop_oldest`] picked this connection: its thread drops it.
    pub(crate) fn drop_requested(&self) -> bool {
        self.drop_requested.load(Ordering::Relaxed)
    }

    /// True once a frame could not be queued: the connection must be dropped.
    pub(crate) fn is_too_slow(&self) -> bool {
        self.too_slow.load(Ordering::Relaxed)
    }

    /// Marks the connection too slow (also used when its socket buffer overflows).
    pub(crate) fn mark_too_slow(&self) {
        self.too_slow.store(true, Ordering::Relaxed);
    }

    /// Frames waiting in the queue.
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Queues a frame without waiting; a full queue marks the connection too slow.
    fn offer(&self, frame: Utf8Bytes, stamp: Option<WriteKey>) {
        let outgoing = Outgoing {
            message: Message::Text(frame),
            stamp,
        };
        match self.queue.try_send(outgoing) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.mark_too_slow(),
            // The connection is ending and will remove itself from the lists.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// Every subscriber list.
#[derive(Debug)]
pub(crate) struct Routes {
    by_symbol: Vec<Mutex<Vec<Arc<Outbox>>>>,
    tickers: Mutex<Vec<Arc<Outbox>>>,
    /// Every open connection, subscribed or not, for the backlog.
    connections: Mutex<Vec<Arc<Outbox>>>,
}

impl Routes {
    /// Empty lists for `n_symbols` symbols.
    pub(crate) fn new(n_symbols: usize) -> Routes {
        Routes {
            by_symbol: (0..n_symbols).map(|_| Mutex::new(Vec::new())).collect(),
            tickers: Mutex::new(Vec::new()),
            connections: Mutex::new(Vec::new()),
        }
    }

    /// Registers an open connection.
    pub(crate) fn open(&self, outbox: &Arc<Outbox>) {
        lock(&self.connections).push(Arc::clone(outbox));
    }

    /// Forgets a connection that ended.
    /// Has the longest-open connection dropped (as the `drop_every` fault would); false if
    /// none is open.
    pub(crate) fn drop_oldest(&self) -> bool {
        let connections = lock(&self.connections);
        let oldest = connections
            .iter()
            .filter(|outbox| !outbox.drop_requested())
            .min_by_key(|outbox| outbox.connection);
        oldest.is_some_and(|outbox| {
            outbox.drop_requested.store(true, Ordering::Relaxed);
            true
        })
    }

    pub(crate) fn close(&self, connection: u64) {
        lock(&self.connections).retain(|outbox| outbox.connection != connection);
    }

    /// The longest send queue of any open connection.
    pub(crate) fn backlog(&self) -> usize {
        lock(&self.connections)
            .iter()
            .map(|outbox| outbox.queued())
            .max()
            .unwrap_or(0)
    }

    fn list(&self, stream: StreamId) -> Option<&Mutex<Vec<Arc<Outbox>>>> {
        match stream {
            StreamId::AggTrade(index) => self.by_symbol.get(index as usize),
            StreamId::MiniTickers => Some(&self.tickers),
        }
    }

    /// Adds a connection to a stream's subscribers (the caller keeps it from adding twice).
    pub(crate) fn add(&self, stream: StreamId, outbox: &Arc<Outbox>) {
        if let Some(list) = self.list(stream) {
            lock(list).push(Arc::clone(outbox));
        }
    }

    /// Removes a connection from a stream's subscribers.
    pub(crate) fn remove(&self, stream: StreamId, connection: u64) {
        if let Some(list) = self.list(stream) {
            lock(list).retain(|outbox| outbox.connection != connection);
        }
    }

    /// True when the stream has at least one subscriber, so work for it can be skipped.
    pub(crate) fn has_subscribers(&self, stream: StreamId) -> bool {
        self.list(stream).is_some_and(|list| !lock(list).is_empty())
    }

    /// Queues a frame to every subscriber of `stream`. `encode` builds the frame of a form;
    /// it runs at most once per form, and the frame is shared (refcounted) between subscribers.
    /// Returns whether any subscriber was offered it.
    pub(crate) fn deliver(
        &self,
        stream: StreamId,
        stamp: Option<WriteKey>,
        mut encode: impl FnMut(Form) -> Utf8Bytes,
    ) -> bool {
        let Some(list) = self.list(stream) else {
            return false;
        };
        let mut frames: [Option<Utf8Bytes>; 2] = [None, None];
        let mut offered = false;
        for outbox in lock(list).iter() {
            if outbox.is_too_slow() {
                continue;
            }
            let frame = frames[outbox.form.index()].get_or_insert_with(|| encode(outbox.form));
            outbox.offer(frame.clone(), stamp);
            offered = true;
        }
        offered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_is_encoded_once_and_full_queues_mark_slow() {
        let routes = Routes::new(1);
        let (raw_tx, raw_rx) = crossbeam_channel::bounded(1);
        let (combined_tx, combined_rx) = crossbeam_channel::bounded(8);
        let raw = Arc::new(Outbox::new(1, Form::Raw, raw_tx));
        let combined = Arc::new(Outbox::new(2, Form::Combined, combined_tx.clone()));
        let combined_too = Arc::new(Outbox::new(3, Form::Combined, combined_tx));
        for outbox in [&raw, &combined, &combined_too] {
            routes.add(StreamId::AggTrade(0), outbox);
        }
        let mut encodes = 0;
        routes.open(&raw);
        routes.deliver(StreamId::AggTrade(0), None, |form| {
            encodes += 1;
            Utf8Bytes::from(format!("{form:?}"))
        });
        assert_eq!(encodes, 2);
        assert_eq!(raw_rx.len(), 1);
        assert_eq!(combined_rx.len(), 2);
        assert_eq!(routes.backlog(), 1);
        routes.close(1);
        assert_eq!(routes.backlog(), 0);
        routes.deliver(StreamId::AggTrade(0), None, |_| Utf8Bytes::from("x"));
        assert!(raw.is_too_slow());
        assert!(!combined.is_too_slow());
        routes.remove(StreamId::AggTrade(0), 2);
        routes.remove(StreamId::AggTrade(0), 3);
        routes.remove(StreamId::AggTrade(0), 1);
        assert!(!routes.has_subscribers(StreamId::AggTrade(0)));
    }
}
