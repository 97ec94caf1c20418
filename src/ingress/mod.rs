//! Everything between the exchange's bytes and the aggregator's payloads.

pub mod wire;
