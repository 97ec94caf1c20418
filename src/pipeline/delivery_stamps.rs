//! Latency stamps of deliveries: a consumer that receives a kline has received the trade that
//! last updated it (the kline's `L`), and every earlier one of its symbol.

use super::probe::StampWriter;
use crate::aggregator::Delta;
use crate::latency::Stage;

/// Stamps the klines one consumer receives as deliveries, whichever way it pulls.
#[derive(Debug)]
pub struct DeliveryStamps {
    writer: StampWriter,
}

impl DeliveryStamps {
    /// Stamps through `writer`.
    pub(super) fn new(writer: StampWriter) -> DeliveryStamps {
        DeliveryStamps { writer }
    }

    /// Stamps every non-empty kline of `delta` as delivered now; `to_global` maps the delta's
    /// symbol indices to the engine's. One interval's klines suffice: every trade updates
    /// every interval.
    pub fn stamp(&mut self, delta: &Delta, to_global: impl Fn(u32) -> u32) {
        let at = self.writer.now_ns();
        for r in delta.closed.iter().chain(&delta.open) {
            if r.interval == 0 && r.kline.count > 0 {
                let symbol = to_global(r.symbol);
                let trade_id = r.kline.last_trade_id;
                self.writer.stamp(Stage::Delivered, symbol, trade_id, at, 0);
            }
        }
    }
}
