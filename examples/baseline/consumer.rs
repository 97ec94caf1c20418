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

/// Receives the klines each trade updated until the aggregator drops its sender, stamping the
/// trade's delivery on receipt.
pub async fn run(mut klines: mpsc::Receiver<Vec<Kline>>, mut stamps: Recorder) -> ConsumerReport {
    let mut received = 0;
    while let Some(updated) = klines.recv().await {
        if let Some(kline) = updated.first() {
            stamps.record(
                Stage::Delivered,
                kline.symbol_index,
                kline.last_trade_id,
                kline.event_time,
            );
        }
        received += updated.len() as u64;
    }
    ConsumerReport {
        stamps,
        klines: received,
    }
}
