//! One Binance market-stream connection, driven on its own (pinned, blocking) OS thread.
//!
//! No async runtime: tungstenite over a `TcpStream` we open ourselves, TLS by rustls (ring,
//! webpki roots) for `wss://`. The socket's read timeout is the heartbeat tick: every read, frame
//! or timeout, is followed by [`FrameHandler::on_tick`] and the connection's periodic work, so an
//! idle connection still pings, notices staleness, sends queued subscriptions and sees the stop
//! flag within one tick, without ever spinning.
//!
//! Layout, one concept per file: `options` (settings) and `handler` (the handler trait and
//! events); `stream_connection` (the reconnect loop) and `live` (driving one socket); `rotation`
//! and `handover` (make-before-break replacement before Binance's 24 h cut); `subscriptions`,
//! `rate_limit`, `reply` and `url` (which streams a socket carries and how changes reach the
//! server); `backoff` (reconnect delays); `dialer` and `incoming` (opening a socket, classifying
//! what one read returns); `stats` (counters).

pub mod backoff;
pub mod dialer;
pub mod handler;
mod handover;
pub mod incoming;
mod live;
pub mod options;
pub mod rate_limit;
pub mod reply;
pub mod rotation;
pub mod stats;
pub mod stream_connection;
pub mod subscriptions;
pub mod url;

pub use handler::{ConnectionEvent, Control, DisconnectCause, FrameHandler, SubscriptionMethod};
pub use options::ConnectionOptions;
pub use stats::{ConnectionStats, DisconnectCounts};
pub use stream_connection::StreamConnection;
pub use subscriptions::SubscriptionRequests;
