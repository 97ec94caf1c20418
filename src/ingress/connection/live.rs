//! Driving one live socket: read, hand frames over, and between reads do the periodic work
//! (liveness, our pings, queued subscriptions, rotation) until the socket ends or we stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tungstenite::Message;

use super::dialer::Socket;
use super::handler::{ConnectionEvent, Control, DisconnectCause, FrameHandler, SubscriptionMethod};
use super::incoming::{Incoming, read_one, write_failure};
use super::options::ConnectionOptions;
use super::rotation::PendingRotation;
use super::stream_connection::StreamConnection;

/// While frames flow, the clock is read only every this many reads: liveness, pings and rotation
/// need second-scale precision, and the hot path should not pay for a clock read per frame.
/// Idle ticks, pongs and queued subscriptions read it every time.
const CLOCK_EVERY_READS: u32 = 32;

/// One socket and its timers.
pub struct Live {
    pub(super) socket: Socket,
    /// When a frame was last known to have arrived (at clock-sample precision).
    last_frame: Instant,
    /// A frame arrived since the last clock sample.
    saw_frame: bool,
    last_ping: Instant,
    pub(super) next_rotation: Instant,
    reads_since_clock: u32,
    pub(super) rotation: Option<PendingRotation>,
}

impl Live {
    /// A socket that came up at `connected_at` (its age, for rotation) and is driven from `now`
    /// (liveness and pings; later than `connected_at` for a rotation's replacement, which may
    /// have waited for its first frame and SUBSCRIBE acks).
    pub fn new(
        socket: Socket,
        connected_at: Instant,
        now: Instant,
        options: &ConnectionOptions,
    ) -> Live {
        Live {
            socket,
            last_frame: now,
            saw_frame: false,
            last_ping: now,
            next_rotation: connected_at + options.rotate_after,
            reads_since_clock: 0,
            rotation: None,
        }
    }
}

impl StreamConnection {
    /// Reads `live` until it ends, the handler says stop or `stop` is set; returns why.
    pub(super) fn drive(
        &mut self,
        live: &mut Live,
        handler: &mut impl FrameHandler,
        stop: &AtomicBool,
    ) -> DisconnectCause {
        loop {
            if stop.load(Ordering::Relaxed) {
                return close(live);
            }
            let mut clock_due = false;
            match read_one(&mut live.socket) {
                Incoming::Text(text) => {
                    live.saw_frame = true;
                    self.deliver_text(text.as_bytes(), handler);
                }
                Incoming::Binary(bytes) => {
                    live.saw_frame = true;
                    self.deliver_binary(&bytes, handler);
                }
                Incoming::Ping => {
                    live.saw_frame = true;
                    self.stats.pings_received += 1;
                    self.stats.pongs_sent += 1;
                }
                Incoming::Pong(payload) => {
                    live.saw_frame = true;
                    self.stats.pongs_received += 1;
                    self.record_rtt(&payload);
                    clock_due = true;
                }
                Incoming::Tick => clock_due = true,
                Incoming::Ended(cause) => return cause,
            }
            if handler.on_tick(&mut self.requests) == Control::Stop {
                return close(live);
            }
            if !self.requests.is_empty() {
                self.subscriptions.apply(&mut self.requests);
            }
            if live.rotation.is_some() {
                self.poll_rotation(live, handler);
            }
            live.reads_since_clock += 1;
            if clock_due
                || live.reads_since_clock >= CLOCK_EVERY_READS
                || self.subscriptions.has_pending()
            {
                live.reads_since_clock = 0;
                if let Some(cause) = self.periodic(live, Instant::now(), handler) {
                    return cause;
                }
            }
        }
    }

    /// Liveness, our ping, queued subscriptions within the rate limit, rotation start.
    fn periodic(
        &mut self,
        live: &mut Live,
        now: Instant,
        handler: &mut impl FrameHandler,
    ) -> Option<DisconnectCause> {
        if live.saw_frame {
            live.last_frame = now;
            live.saw_frame = false;
        } else if now.saturating_duration_since(live.last_frame) >= self.options.stale_timeout {
            return Some(DisconnectCause::Stale);
        }
        if now.saturating_duration_since(live.last_ping) >= self.options.ping_interval {
            // The payload is our send time, so the pong gives the round trip.
            let sent = now.saturating_duration_since(self.epoch).as_nanos() as u64;
            let ping = Message::Ping(sent.to_le_bytes().to_vec().into());
            if let Err(e) = live.socket.send(ping) {
                return Some(write_failure(e));
            }
            self.stats.pings_sent += 1;
            live.last_ping = now;
        }
        while self.subscriptions.has_pending() && self.limit.ready(now) {
            let Some(request) = self.subscriptions.next_message() else {
                break;
            };
            if let Err(e) = live.socket.send(Message::text(request.text)) {
                return Some(write_failure(e));
            }
            self.limit.record(now);
            match request.method {
                SubscriptionMethod::Subscribe => self.stats.subscribe_messages += 1,
                SubscriptionMethod::Unsubscribe => self.stats.unsubscribe_messages += 1,
            }
            log::debug!(
                "{}: sent {} {} ({} streams)",
                self.base_url,
                request.method.as_str(),
                request.id,
                request.streams
            );
            handler.on_event(&ConnectionEvent::SubscriptionSent {
                id: request.id,
                method: request.method,
                streams: request.streams,
            });
        }
        if live.rotation.is_none() && now >= live.next_rotation {
            self.start_rotation(live, now, handler);
        }
        None
    }

    fn record_rtt(&mut self, payload: &[u8]) {
        let Ok(bytes) = <[u8; 8]>::try_from(payload) else {
            return;
        };
        let sent = self.epoch + Duration::from_nanos(u64::from_le_bytes(bytes));
        self.stats.last_ping_rtt = Some(Instant::now().saturating_duration_since(sent));
    }
}

/// Sends a close frame and gives up the socket without waiting for the reply: a stop must end
/// within a read tick.
fn close(live: &mut Live) -> DisconnectCause {
    live.rotation = None;
    let _ = live.socket.close(None);
    DisconnectCause::Stopped
}
