//! Trailing gaps, the shard side. A symbol whose last trades were lost with a dropped
//! connection, and which then went quiet, shows no jump in its agg ids: no later trade comes to
//! reveal the loss. So the backfill asks how the symbol's tail stands ([`super::Shard::tail_view`]),
//! compares it with the exchange's REST klines, and when the exchange has more trades, fetches
//! them and first tells the shard how far they go ([`super::Shard::claim_tail`]). The claim opens a
//! pending gap for them, as if a trade after them had shown the jump, and the trades that
//! follow it fill the gap the ordinary way ([`super::Shard::fill_trade`]): the replay corrects every
//! kline they belong to.
//!
//! Nothing here touches the per-trade path: a view is read from the state gaps keep anyway
//! (the kline holding the symbol's last trade, for every interval), and the claim moves the
//! symbol's last agg id up to the claimed one, so a live trade that brings one of the claimed
//! ids meanwhile is a fill like any trade below the last id.

use crate::kline::Kline;

/// How a symbol's tail stands in a shard, for the backfill's tail check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailView {
    /// Shard-local symbol index (engine-wide once the pipeline hands it over).
    pub symbol: u32,
    /// What the shard holds.
    pub tail: Tail,
}

/// What a shard holds of a symbol's last trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    /// No trade applied yet (or the index is outside the shard): no tail to lose.
    NeverTraded,
    /// A gap or a warm start is pending: its replay is about to rebuild the klines anyway.
    Busy,
    /// The symbol's last applied trade, and for each interval (in the shard's order) the kline
    /// that holds it.
    Traded {
        /// Agg id of the last trade applied.
        last_agg_id: i64,
        /// The kline holding that trade, per interval.
        klines: Vec<Kline>,
    },
}
