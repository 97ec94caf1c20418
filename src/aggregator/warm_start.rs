//! Exact warm start, the shard side: the REST state a symbol's open klines are rebuilt from,
//! and how it becomes a replay. The klines as they stood at a minute boundary, and the REST
//! trades since it joined with the live ones by agg id, give the symbol exactly the klines of
//! the exchange.

use crate::kline::Kline;
use crate::trade::AggTradePayload;

/// A symbol's rebuilt state, from the backfill thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmStart {
    /// Shard-local symbol index.
    pub symbol: u32,
    /// Trades before this time are in `open`; from it on they are in `trades` or live.
    pub from_ms: i64,
    /// Each interval's open kline as it stood at `from_ms`, in the shard's interval order.
    /// Trade ids are not needed: raw trade ids are consecutive, so the first trade from
    /// `from_ms` on gives them.
    pub open: Vec<Kline>,
    /// The exchange's trades from `from_ms` on, in agg-id order.
    pub trades: Vec<AggTradePayload>,
}

impl WarmStart {
    /// The trades to replay on top of `open`: the REST ones, the live ones from `from_ms` on
    /// and `more` (a pending gap's fills), in agg-id order, each once.
    pub(crate) fn replay_trades(
        &self,
        live: &[AggTradePayload],
        more: impl Iterator<Item = AggTradePayload>,
    ) -> Vec<AggTradePayload> {
        let live = live.iter().filter(|t| t.trade_time_ms >= self.from_ms);
        let mut replay: Vec<AggTradePayload> = self
            .trades
            .iter()
            .chain(live)
            .copied()
            .chain(more)
            .collect();
        replay.sort_by_key(|t| t.agg_id);
        replay.dedup_by_key(|t| t.agg_id);
        replay
    }

    /// `open` with the trade ids the first replayed trade implies (raw ids are consecutive:
    /// a kline of `count` trades before it ends right below its first id).
    pub(crate) fn open_with_ids(&self, first: &AggTradePayload) -> Vec<Kline> {
        self.open
            .iter()
            .map(|kline| {
                let mut kline = *kline;
                if kline.count > 0 {
                    kline.first_trade_id = first.first_trade_id - kline.count;
                    kline.last_trade_id = first.first_trade_id - 1;
                }
                kline
            })
            .collect()
    }
}
