//! The contract between a connection and the io thread that drives it: what arrives goes to a
//! [`FrameHandler`], lifecycle news goes out as [`ConnectionEvent`]s.

use std::fmt;
use std::time::Duration;

use super::subscriptions::SubscriptionRequests;

/// What the io thread does with what arrives; called on the connection's thread.
pub trait FrameHandler {
    /// A text frame's payload bytes (binary frames go to `on_binary`). Subscription replies are
    /// consumed by the connection and never arrive here.
    fn on_text(&mut self, payload: &[u8]);
    /// A binary frame's payload bytes (Binance sends none; counted and dropped by the caller).
    fn on_binary(&mut self, payload: &[u8]);
    /// Lifecycle events (connected, disconnected with cause, reconnect scheduled, rotated,
    /// subscribe reply/error matched to its request, ...), for metrics and logs.
    fn on_event(&mut self, event: &ConnectionEvent);
    /// Called after every read (frame or tick) so the thread can do periodic work and ask for
    /// subscription changes; returning `Control::Stop` ends `run`.
    fn on_tick(&mut self, subscriptions: &mut SubscriptionRequests) -> Control;
}

/// The handler's verdict after a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep running.
    Continue,
    /// Close the connection and return from `run`.
    Stop,
}

/// Which kind of subscription request a message carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionMethod {
    /// `SUBSCRIBE`: add streams.
    Subscribe,
    /// `UNSUBSCRIBE`: remove streams.
    Unsubscribe,
}

impl SubscriptionMethod {
    /// The method name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionMethod::Subscribe => "SUBSCRIBE",
            SubscriptionMethod::Unsubscribe => "UNSUBSCRIBE",
        }
    }
}

/// Something that happened to the connection, reported to [`FrameHandler::on_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// A socket is up and streaming. `attempt` counts tries since the last stable connection
    /// (1 = first try).
    Connected {
        /// The full URL, with the streams that fit in it.
        url: String,
        /// Consecutive attempt number, from 1.
        attempt: u32,
    },
    /// A connect attempt failed (DNS, TCP, TLS or WebSocket handshake).
    ConnectFailed {
        /// Consecutive attempt number, from 1.
        attempt: u32,
        /// Why, for the log.
        error: String,
    },
    /// The live socket is gone (a rotation reports `DisconnectCause::Rotation` for the old one).
    Disconnected {
        /// Why it ended.
        cause: DisconnectCause,
    },
    /// The next connect attempt waits this long (exponential backoff with jitter).
    ReconnectScheduled {
        /// Delay before the next attempt.
        delay: Duration,
    },
    /// The connection reached `rotate_after`: a replacement is being opened beside it.
    RotationStarted,
    /// The replacement could not be opened or delivered nothing; the old connection stays and
    /// rotation is retried later.
    RotationFailed {
        /// Why, for the log.
        error: String,
    },
    /// The replacement delivered and the old connection was closed: frames now come from the
    /// new one.
    Rotated,
    /// A SUBSCRIBE or UNSUBSCRIBE message went out.
    SubscriptionSent {
        /// Request id, echoed by the reply.
        id: u64,
        /// Which request.
        method: SubscriptionMethod,
        /// How many streams it named.
        streams: usize,
    },
    /// The server accepted a SUBSCRIBE (`{"result":null,"id":N}`).
    SubscribeAcked {
        /// Request id.
        id: u64,
        /// How many streams the request named.
        streams: usize,
    },
    /// The server accepted an UNSUBSCRIBE.
    UnsubscribeAcked {
        /// Request id.
        id: u64,
        /// How many streams the request named.
        streams: usize,
    },
    /// The server rejected a request (`{"code":2,"msg":"Invalid request","id":N}`). Streams of a
    /// rejected SUBSCRIBE are dropped from the subscribed set.
    SubscribeFailed {
        /// Request id (0 if the server did not echo one).
        id: u64,
        /// Binance error code.
        code: i64,
        /// Binance error text.
        msg: String,
    },
    /// A reply whose id matches no request in flight (consumed, not passed to `on_text`).
    UnmatchedReply {
        /// The id the reply carried, if any.
        id: Option<u64>,
    },
}

/// Why a socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectCause {
    /// The server sent a close frame.
    ServerClosed,
    /// The TCP stream ended without a close frame.
    Eof,
    /// No frame at all within `stale_timeout`.
    Stale,
    /// A socket error (reset, write timeout, TLS failure...).
    Io(String),
    /// The peer broke the WebSocket protocol (bad opcode, invalid UTF-8 text, ...).
    Protocol(String),
    /// A message or frame beyond `max_message_bytes`.
    TooLarge(String),
    /// Replaced by a newer connection (make-before-break rotation).
    Rotation,
    /// The stop flag was set or the handler returned `Control::Stop`.
    Stopped,
}

impl fmt::Display for DisconnectCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectCause::ServerClosed => f.write_str("server sent close frame"),
            DisconnectCause::Eof => f.write_str("socket ended without close frame"),
            DisconnectCause::Stale => f.write_str("no frame within the stale timeout"),
            DisconnectCause::Io(e) => write!(f, "io error: {e}"),
            DisconnectCause::Protocol(e) => write!(f, "protocol error: {e}"),
            DisconnectCause::TooLarge(e) => write!(f, "message too large: {e}"),
            DisconnectCause::Rotation => f.write_str("rotated to a new connection"),
            DisconnectCause::Stopped => f.write_str("stopped"),
        }
    }
}
