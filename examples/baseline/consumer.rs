//! The consumer task: where updated klines are delivered.

use klagg::latency::Stage;
use tokio::sync::mpsc;

use crate::aggregator::Kline;
use crate::stamps::Recorder;

/// What the consumer received, returned when the aggregator is done.
pub struct ConsumerReport {
    /// Its Delivered stamps.
    pub stamps: Recorder,
    /// Klines received.
    pub klines: u64,
}

/// Receives klines until the aggregator drops its sender, stamping each on receipt by the
/// trade that last updated it.
pub async fn run(mut klines: mpsc::Receiver<Kline>, mut stamps: Recorder) -> ConsumerReport {
    let mut received = 0;
    while let Some(kline) = klines.recv().await {
        stamps.record(
            Stage::Delivered,
            kline.symbol_index,
            kline.last_trade_id,
            kline.event_time,
        );
        received += 1;
    }
    ConsumerReport {
        stamps,
        klines: received,
    }
}
