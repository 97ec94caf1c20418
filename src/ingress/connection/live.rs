//! Driving one live socket: read what has arrived, hand frames over, and between reads do the
//! periodic work (liveness, our pings, queued subscriptions, rotation).

use std::time::{Duration, Instant};

use super::dialer::Socket;
use super::handler::{ConnectionEvent, Control, DisconnectCause, FrameHandler, SubscriptionMethod};
use super::handover::Draining;
use super::options::ConnectionOptions;
use super::rotation::PendingRotation;
use super::stream_connection::StreamConnection;
use super::ws_stream::{Incoming, write_outcome};

/// While frames flow, the clock is read only every this many reads: liveness, pings and rotation
/// need second-scale precision, and the hot path should not pay for a clock read per frame.
/// Idle steps, pongs and queued subscriptions read it every time.
const CLOCK_EVERY_READS: u32 = 32;

/// Most messages a non-blocking socket is read in one step, so the thread's other stages (a
/// shard draining what was just pushed, other connections) get their turn in between.
pub const READS_PER_STEP: usize = 64;

/// One socket and its timers.
pub struct Live {
    pub(super) socket: Socket,
    /// Non-blocking, registered with the owning thread's poll.
    pub(super) polled: bool,
    /// When a frame was last known to have arrived (at clock-sample precision).
    last_frame: Instant,
    /// A frame arrived since the last clock sample.
    saw_frame: bool,
    last_ping: Instant,
    pub(super) next_rotation: Instant,
    reads_since_clock: u32,
    pub(super) rotation: Option<PendingRotation>,
    /// The socket a rotation replaced, still delivering what it had sent before our close.
    pub(super) draining: Option<Draining>,
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
        polled: bool,
    ) -> Live {
        Live {
            socket,
            polled,
            last_frame: now,
            saw_frame: false,
            last_ping: now,
            next_rotation: connected_at + options.rotate_after,
            reads_since_clock: 0,
            rotation: None,
            draining: None,
        }
    }

    /// Sends a close frame and gives the socket up without waiting for the reply: a stop must
    /// end within a step.
    pub(super) fn close(&mut self) -> DisconnectCause {
        self.rotation = None;
        self.draining = None;
        let _ = self.socket.close();
        DisconnectCause::Stopped
    }
}

impl StreamConnection {
    /// Reads what has arrived on `live` (a blocking socket: one message or a read tick), hands
    /// it over and does the periodic work; returns how many messages were read, or why the
    /// socket ended (`Stopped` when the handler said stop).
    pub(super) fn drive(
        &mut self,
        live: &mut Live,
        handler: &mut impl FrameHandler,
    ) -> Result<usize, DisconnectCause> {
        let mut reads = 0;
        let mut clock_due = false;
        if live.draining.is_some() {
            // The old socket's last frames come before any of the new one's.
            self.drain_step(live, handler);
        } else {
            let batch = if live.polled { READS_PER_STEP } else { 1 };
            while reads < batch {
                match live.socket.read() {
                    Incoming::Text(text) => self.deliver_text(text, handler),
                    Incoming::Binary(bytes) => self.deliver_binary(bytes, handler),
                    Incoming::Ping => {
                        self.stats.pings_received += 1;
                        self.stats.pongs_sent += 1;
                    }
                    Incoming::Pong(payload) => {
                        self.stats.pongs_received += 1;
                        self.record_rtt(payload);
                        clock_due = true;
                    }
                    Incoming::Tick => {
                        clock_due = true;
                        break;
                    }
                    Incoming::Ended(cause) => return Err(cause),
                }
                reads += 1;
                live.saw_frame = true;
            }
        }
        if handler.on_tick(&mut self.requests) == Control::Stop {
            return Err(live.close());
        }
        if !self.requests.is_empty() {
            self.subscriptions.apply(&mut self.requests);
        }
        if live.rotation.is_some() {
            self.poll_rotation(live, handler);
        }
        live.reads_since_clock += reads.max(1) as u32;
        if clock_due
            || live.reads_since_clock >= CLOCK_EVERY_READS
            || self.subscriptions.has_pending()
        {
            live.reads_since_clock = 0;
            if let Some(cause) = self.periodic(live, Instant::now(), handler) {
                return Err(cause);
            }
        }
        Ok(reads)
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
            let result = live.socket.send_ping(&sent.to_le_bytes());
            if let Err(cause) = write_outcome(result, live.polled) {
                return Some(cause);
            }
            self.stats.pings_sent += 1;
            live.last_ping = now;
        }
        while self.subscriptions.has_pending() && self.limit.ready(now) {
            let Some(request) = self.subscriptions.next_message() else {
                break;
            };
            let result = live.socket.send_text(request.text.as_bytes());
            if let Err(cause) = write_outcome(result, live.polled) {
                return Some(cause);
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
        if live.polled
            && live.socket.has_pending()
            && let Err(cause) = write_outcome(live.socket.flush(), true)
        {
            // Bytes a full socket buffer held back (a ping, a SUBSCRIBE) go out now.
            return Some(cause);
        }
        if live.rotation.is_none() && live.draining.is_none() && now >= live.next_rotation {
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
