//! Klines on NATS: the publisher that `klagg run` starts with `[nats]`, and the bus side that
//! `klagg gateway --nats URL` serves from.
//!
//! * [`subject`]: subjects and the reversible encoding of symbols that are not subject tokens.
//! * [`msg_id`]: the `Nats-Msg-Id` of a closed kline, from its key and content.
//! * [`streams`]: the closed-kline stream and the latest-kline stream.
//! * [`publisher`]: the publisher thread, a delta consumer with its own tokio runtime;
//!   [`wake`]: how a shard wakes it; [`stats`]: its counters.
//! * [`event`]: Binance's kline event read back into a kline; [`bus`]: a stand-in engine fed
//!   from the bus, for the gateway.
//! * `runtime_thread`: the thread each of them runs its tokio runtime on, and nowhere else.
//!
//! docs/nats.md describes the subjects, streams and operations.

pub mod bus;
pub mod bus_gateway;
pub mod event;
pub mod msg_id;
pub mod publisher;
mod runtime_thread;
pub mod stats;
pub mod streams;
pub mod subject;
pub mod wake;

pub use publisher::{NatsHandle, PublisherConfig, spawn_publisher};
pub use stats::NatsStats;
