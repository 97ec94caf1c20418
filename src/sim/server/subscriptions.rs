//! One connection's subscriptions, kept in step with the server's subscriber lists: adding a
//! stream here puts the connection's outbox on that stream's list, and dropping the set takes
//! it off every list.

use std::sync::Arc;

use super::hub::Hub;
use super::routes::Outbox;
use super::symbols::StreamId;

/// The streams a connection receives, in subscription order.
#[derive(Debug)]
pub(crate) struct Subscriptions {
    hub: Arc<Hub>,
    outbox: Arc<Outbox>,
    streams: Vec<StreamId>,
}

impl Subscriptions {
    /// No subscriptions yet for the connection behind `outbox`.
    pub(crate) fn new(hub: Arc<Hub>, outbox: Arc<Outbox>) -> Subscriptions {
        Subscriptions {
            hub,
            outbox,
            streams: Vec::new(),
        }
    }

    /// Adds every stream not subscribed yet, or none of them if that would pass the
    /// per-connection limit (the error text says so).
    pub(crate) fn subscribe(&mut self, streams: &[StreamId]) -> Result<(), String> {
        let mut new: Vec<StreamId> = Vec::new();
        for &stream in streams {
            if !self.streams.contains(&stream) && !new.contains(&stream) {
                new.push(stream);
            }
        }
        let max = self.hub.config.max_streams_per_connection;
        if self.streams.len() + new.len() > max {
            return Err(format!(
                "Invalid request: too many streams, at most {max} per connection"
            ));
        }
        for stream in new {
            self.hub.routes.add(stream, &self.outbox);
            self.streams.push(stream);
        }
        Ok(())
    }

    /// Removes the given streams (those not subscribed are ignored).
    pub(crate) fn unsubscribe(&mut self, streams: &[StreamId]) {
        for stream in streams {
            if let Some(at) = self.streams.iter().position(|s| s == stream) {
                self.streams.remove(at);
                self.hub.routes.remove(*stream, self.outbox.connection);
            }
        }
    }

    /// The subscribed streams, in subscription order.
    pub(crate) fn streams(&self) -> &[StreamId] {
        &self.streams
    }
}

impl Drop for Subscriptions {
    fn drop(&mut self) {
        for &stream in &self.streams {
            self.hub.routes.remove(stream, self.outbox.connection);
        }
    }
}
