//! One Binance market-stream connection, a state machine its (pinned) OS thread steps.
//!
//! No async runtime: tungstenite over a `TcpStream` we open ourselves, TLS by rustls (ring,
//! webpki roots) for `wss://`. A connection with a thread of its own blocks in its read, with
//! the read tick as timeout; one that shares its thread with other stages has a non-blocking
//! socket registered with the thread's mio `Poll` ([`readiness`]). Either way every step, frames
//! or none, is followed by [`FrameHandler::on_tick`] and the connection's periodic work, so an
//! idle connection still pings, notices staleness, sends queued subscriptions and sees the stop
//! flag within one tick, without ever spinning. Connects happen on short-lived helper threads,
//! so no step waits for a handshake.
//!
//! Layout, one concept per file: `options` (settings) and `handler` (the handler trait and
//! events); `stream_connection` (the life cycle: backoff, dial, live) and `live` (driving one
//! socket); `readiness` (blocking or polled sockets); `dial` (connecting off the thread);
//! `rotation` and `handover` (make-before-break replacement before Binance's 24 h cut);
//! `subscriptions`, `rate_limit`, `reply` and `url` (which streams a socket carries and how
//! changes reach the server); `backoff` (reconnect delays); `dialer`, `transport` and
//! `handshake` (opening a socket: TCP, TLS, the upgrade); `ws_stream` (the client side of the
//! WebSocket protocol: frames read out of one buffer, ours written masked); `stats` (counters).

pub mod backoff;
mod dial;
pub mod dialer;
pub mod handler;
mod handover;
mod handshake;
mod live;
pub mod options;
pub mod rate_limit;
pub mod readiness;
pub mod reply;
pub mod rotation;
pub mod stats;
pub mod stream_connection;
pub mod subscriptions;
pub mod transport;
pub mod url;
pub mod ws_stream;

pub use handler::{ConnectionEvent, Control, DisconnectCause, FrameHandler, SubscriptionMethod};
pub use options::ConnectionOptions;
pub use readiness::Notify;
pub use stats::{ConnectionStats, DisconnectCounts};
pub use stream_connection::{Step, StreamConnection};
pub use subscriptions::SubscriptionRequests;
