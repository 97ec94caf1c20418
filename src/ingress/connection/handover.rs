//! The io thread's side of a rotation: start the helper, poll it between reads, and when the
//! replacement has delivered, close the old socket (reading what it still sends until the
//! server acknowledges the close) and carry on with the new one.

use std::time::{Duration, Instant};

use tungstenite::Message;

use super::handler::{ConnectionEvent, DisconnectCause, FrameHandler};
use super::incoming::{Incoming, read_one};
use super::live::Live;
use super::rotation::{PendingRotation, Replacement, RotationPlan};
use super::stream_connection::StreamConnection;
use super::url::stream_url;

impl StreamConnection {
    /// Opens a replacement beside `live` (same streams) on a helper thread.
    pub(super) fn start_rotation(
        &mut self,
        live: &mut Live,
        now: Instant,
        handler: &mut impl FrameHandler,
    ) {
        let streams = self.subscriptions.streams();
        let (url, in_url) = stream_url(&self.base_url, streams);
        let url_streams = streams[..in_url].to_vec();
        let extra = streams[in_url..].to_vec();
        let first_id = self
            .subscriptions
            .reserve_ids(RotationPlan::messages(&extra));
        let plan = RotationPlan {
            url,
            url_streams,
            extra,
            first_id,
            subscribe_per_s: self.options.subscribe_per_s,
            wait: self.options.stale_timeout,
        };
        match PendingRotation::start(self.dialer.clone(), plan) {
            Ok(pending) => {
                log::info!("{}: rotating, replacement opening", self.base_url);
                live.rotation = Some(pending);
                handler.on_event(&ConnectionEvent::RotationStarted);
            }
            Err(error) => self.rotation_failed(live, now, error, handler),
        }
    }

    /// Takes the replacement if the helper has finished.
    pub(super) fn poll_rotation(&mut self, live: &mut Live, handler: &mut impl FrameHandler) {
        let Some(result) = live.rotation.as_ref().and_then(PendingRotation::poll) else {
            return;
        };
        live.rotation = None;
        match result {
            Ok(replacement) => self.switch(live, replacement, handler),
            Err(error) => self.rotation_failed(live, Instant::now(), error, handler),
        }
    }

    fn rotation_failed(
        &mut self,
        live: &mut Live,
        now: Instant,
        error: String,
        handler: &mut impl FrameHandler,
    ) {
        self.stats.rotation_failures += 1;
        let delay = self.rotation_backoff.next_delay(now);
        log::warn!(
            "{}: rotation failed ({error}), old connection carries on, retry in {delay:?}",
            self.base_url
        );
        live.next_rotation = now + delay;
        handler.on_event(&ConnectionEvent::RotationFailed { error });
    }

    fn switch(
        &mut self,
        live: &mut Live,
        replacement: Replacement,
        handler: &mut impl FrameHandler,
    ) {
        let (connected_at, now) = (replacement.connected_at, Instant::now());
        let fresh = Live::new(replacement.socket, connected_at, now, &self.options);
        let mut old = std::mem::replace(live, fresh);
        self.drain(&mut old, handler);
        drop(old);
        self.stats.disconnects.record(&DisconnectCause::Rotation);
        handler.on_event(&ConnectionEvent::Disconnected {
            cause: DisconnectCause::Rotation,
        });

        self.stats.connects += 1;
        self.stats.rotations += 1;
        self.stats.pings_received += replacement.pings_received;
        self.stats.pongs_sent += replacement.pings_received;
        self.stats.subscribe_messages += replacement.subscribe_messages;
        for event in &replacement.events {
            self.count_reply(event);
            handler.on_event(event);
        }
        // Changes asked for during the overlap went to the old socket or are still queued:
        // recompute what the new socket lacks from what it carries.
        self.subscriptions.reset_for(&replacement.carried);
        self.limit.clear();
        self.backoff.connected(replacement.connected_at);
        self.rotation_backoff.reset();
        log::info!("{}: rotated to {}", self.base_url, replacement.url);
        handler.on_event(&ConnectionEvent::Rotated);

        for message in replacement.buffered {
            match message {
                Message::Text(text) => self.deliver_text(text.as_bytes(), handler),
                Message::Binary(bytes) => self.deliver_binary(&bytes, handler),
                _ => {}
            }
        }
    }

    /// Sends the old socket a close frame and delivers what it still sends until the server's
    /// close reply (everything the server wrote before it saw our close), bounded in time: the
    /// new socket's frames wait in its kernel buffer meanwhile.
    fn drain(&mut self, old: &mut Live, handler: &mut impl FrameHandler) {
        if old.socket.close(None).is_err() {
            return;
        }
        let deadline = Instant::now() + (self.options.tick() * 4).clamp(DRAIN_MIN, DRAIN_MAX);
        while Instant::now() < deadline {
            match read_one(&mut old.socket) {
                Incoming::Text(text) => self.deliver_text(text.as_bytes(), handler),
                Incoming::Binary(bytes) => self.deliver_binary(&bytes, handler),
                Incoming::Ping => {
                    self.stats.pings_received += 1;
                    self.stats.pongs_sent += 1;
                }
                Incoming::Pong(_) | Incoming::Tick => {}
                Incoming::Ended(_) => return,
            }
        }
        log::warn!(
            "{}: rotation: the old socket did not acknowledge its close in time; what it still \
             had to send is a gap for the backfill",
            self.base_url
        );
    }
}

/// Bounds on waiting for the old socket's close reply during a rotation. A server answers at
/// once unless it is starved of CPU, and every frame it sent before answering is needed: better
/// to hold the new socket's frames half a second than to lose the old one's.
const DRAIN_MIN: Duration = Duration::from_millis(500);
const DRAIN_MAX: Duration = Duration::from_secs(1);
