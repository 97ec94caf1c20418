//! The io thread's side of a rotation: start the helper, poll it between reads, and when the
//! replacement has delivered, close the old socket and go on reading it, step by step, until
//! the server acknowledges the close (everything it sent before is delivered first), then carry
//! on with the new one.

use std::time::{Duration, Instant};

use super::dialer::Socket;
use super::handler::{ConnectionEvent, DisconnectCause, FrameHandler};
use super::live::Live;
use super::rotation::{Buffered, PendingRotation, Replacement, RotationPlan};
use super::stream_connection::StreamConnection;
use super::url::stream_url;
use super::ws_stream::Incoming;

/// The socket a rotation replaced, read until the server answers our close.
pub struct Draining {
    socket: Socket,
    deadline: Instant,
    /// What the replacement brought, handed on once the old socket is done, so frames keep
    /// the server's order.
    replacement: Handed,
}

/// What a replacement brought besides its socket.
struct Handed {
    url: String,
    /// Its subscription replies, for the handler.
    events: Vec<ConnectionEvent>,
    /// Data frames it received before the handover.
    buffered: Vec<Buffered>,
}

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
        match PendingRotation::start(self.dialer.clone(), plan, self.readiness.notify()) {
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
        mut replacement: Replacement,
        handler: &mut impl FrameHandler,
    ) {
        if let Err(e) = self.readiness.adopt(&mut replacement.socket) {
            let error = format!("replacement socket setup: {e}");
            self.rotation_failed(live, Instant::now(), error, handler);
            return;
        }
        let (connected_at, now) = (replacement.connected_at, Instant::now());
        let fresh = Live::new(
            replacement.socket,
            connected_at,
            now,
            &self.options,
            live.polled,
        );
        let mut old = std::mem::replace(live, fresh);
        self.stats.connects += 1;
        self.stats.rotations += 1;
        self.stats.pings_received += replacement.pings_received;
        self.stats.pongs_sent += replacement.pings_received;
        self.stats.subscribe_messages += replacement.subscribe_messages;
        // Changes asked for during the overlap went to the old socket or are still queued:
        // recompute what the new socket lacks from what it carries.
        self.subscriptions.reset_for(&replacement.carried);
        self.limit.clear();
        self.backoff.connected(replacement.connected_at);
        self.rotation_backoff.reset();
        let handed = Handed {
            url: replacement.url,
            events: replacement.events,
            buffered: replacement.buffered,
        };
        let wait = (self.options.tick() * 4).clamp(DRAIN_MIN, DRAIN_MAX);
        if old.socket.close().is_ok() {
            live.draining = Some(Draining {
                socket: old.socket,
                deadline: now + wait,
                replacement: handed,
            });
        } else {
            self.old_socket_done(handed, handler);
        }
    }

    /// One read of the replaced socket: what it still sends is delivered; once it has answered
    /// our close (or the wait is over) it is dropped and the replacement's first frames follow.
    pub(super) fn drain_step(&mut self, live: &mut Live, handler: &mut impl FrameHandler) {
        let Some(draining) = &mut live.draining else {
            return;
        };
        let done = match draining.socket.read() {
            Incoming::Text(text) => {
                self.deliver_text(text, handler);
                false
            }
            Incoming::Binary(bytes) => {
                self.deliver_binary(bytes, handler);
                false
            }
            Incoming::Ping => {
                self.stats.pings_received += 1;
                self.stats.pongs_sent += 1;
                false
            }
            Incoming::Pong(_) | Incoming::Tick => {
                let late = Instant::now() >= draining.deadline;
                if late {
                    log::warn!(
                        "{}: rotation: the old socket did not acknowledge its close in time; \
                         what it still had to send is a gap for the backfill",
                        self.base_url
                    );
                }
                late
            }
            Incoming::Ended(_) => true,
        };
        if done && let Some(draining) = live.draining.take() {
            self.old_socket_done(draining.replacement, handler);
        }
    }

    /// The replaced socket is gone: count it, then hand on what the replacement brought.
    fn old_socket_done(&mut self, replacement: Handed, handler: &mut impl FrameHandler) {
        self.stats.disconnects.record(&DisconnectCause::Rotation);
        handler.on_event(&ConnectionEvent::Disconnected {
            cause: DisconnectCause::Rotation,
        });
        for event in &replacement.events {
            self.count_reply(event);
            handler.on_event(event);
        }
        log::info!("{}: rotated to {}", self.base_url, replacement.url);
        handler.on_event(&ConnectionEvent::Rotated);
        for message in replacement.buffered {
            match message {
                Buffered::Text(text) => self.deliver_text(&text, handler),
                Buffered::Binary(bytes) => self.deliver_binary(&bytes, handler),
            }
        }
    }
}

/// Bounds on waiting for the old socket's close reply during a rotation. A server answers at
/// once unless it is starved of CPU, and every frame it sent before answering is needed: better
/// to hold the new socket's frames half a second than to lose the old one's.
const DRAIN_MIN: Duration = Duration::from_millis(500);
const DRAIN_MAX: Duration = Duration::from_secs(1);
