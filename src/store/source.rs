//! Where the sink gets its klines: anything that answers "what changed since my last pull?".

use std::time::Duration;

use crate::aggregator::{Delta, PullError};
use crate::pipeline::EngineConsumer;

/// A delta consumer as the sink sees it.
///
/// The engine's [`EngineConsumer`] is the real one; the trait exists so the sink's retry and
/// backlog logic can be driven by a scripted source in tests.
pub trait DeltaSource {
    /// Everything closed (each closed kline exactly once, in close order per shard) and every
    /// open kline changed since the last pull, waiting up to `timeout`. The delta is only valid
    /// until the next call.
    ///
    /// # Errors
    ///
    /// [`PullError::Disconnected`] once the engine is gone; other errors are transient and lose
    /// nothing.
    fn pull(&mut self, timeout: Duration) -> Result<&Delta, PullError>;
}

impl DeltaSource for EngineConsumer {
    fn pull(&mut self, timeout: Duration) -> Result<&Delta, PullError> {
        EngineConsumer::pull(self, timeout)
    }
}
