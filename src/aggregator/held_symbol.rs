//! A symbol held while its history is repaired: by a gap's missing trades (from the backfill,
//! another connection, or a tail claim's REST page), by a warm start's REST state, or both.
//!
//! The symbol's klines go on from its live trades meanwhile; the hold keeps those trades (one
//! buffer, whatever the repair), since the repair ends by setting the klines back to where the
//! repaired history begins and replaying everything after it in agg-id order. A hold expires
//! a timeout after it began.

use std::collections::BTreeMap;

use super::warm_start::WarmStart;
use crate::kline::Kline;
use crate::trade::AggTradePayload;

/// One held symbol.
#[derive(Debug)]
pub(crate) struct HeldSymbol {
    pub(crate) symbol: usize,
    /// Live trades applied since the hold began, in agg-id order.
    pub(crate) live: Vec<AggTradePayload>,
    /// Shard clock when the hold began (`i64::MIN` if before the clock first ran: the wait
    /// then starts at the first tick).
    pub(crate) since_ms: i64,
    /// The gap waiting for its missing trades, if any.
    pub(crate) gap: Option<GapRepair>,
    /// The warm start under way, if any.
    pub(crate) warm: WarmWait,
}

/// Where a warm start stands.
#[derive(Debug)]
pub(crate) enum WarmWait {
    /// No warm start.
    None,
    /// Waiting for the REST state.
    Waiting,
    /// The REST state came; it is replayed with the first trade that gives the trade ids.
    Ready(WarmStart),
}

/// A gap in the symbol's agg ids (or several, if another jump came before the first was
/// filled), waiting for its missing trades.
#[derive(Debug)]
pub(crate) struct GapRepair {
    /// Last agg id applied before the first jump: the replay starts right after it.
    pub(crate) after: i64,
    /// Missing agg ids as inclusive ranges, in the order found.
    pub(crate) missing: Vec<(i64, i64)>,
    /// How many ids `missing` covers.
    pub(crate) missing_ids: u64,
    /// Each node's kline holding the trade `after`: where the replay starts.
    pub(crate) start: Vec<Kline>,
    /// Missing trades received so far, by agg id.
    pub(crate) fill: BTreeMap<i64, AggTradePayload>,
    /// Shard clock when the gap was found.
    pub(crate) found_ms: i64,
    /// Whether its missing ranges went to the backfill; later ones then go at once.
    pub(crate) reported: bool,
    /// Last agg id a tail claim added, or `i64::MIN`: the ids up to it that come are counted
    /// as the tail's.
    pub(crate) tail_to: i64,
}

impl GapRepair {
    /// True when `agg_id` is one of the missing ids.
    pub(crate) fn is_missing(&self, agg_id: i64) -> bool {
        self.missing
            .iter()
            .any(|&(from, to)| from <= agg_id && agg_id <= to)
    }

    /// True once every missing trade came.
    pub(crate) fn is_filled(&self) -> bool {
        self.fill.len() as u64 == self.missing_ids
    }

    /// The highest missing id.
    pub(crate) fn highest_missing(&self) -> i64 {
        self.missing
            .iter()
            .map(|&(_, to)| to)
            .max()
            .unwrap_or(i64::MIN)
    }

    /// The missing ranges no trade of which came (those another connection filled meanwhile
    /// are not asked for).
    pub(crate) fn unfilled_ranges(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.missing
            .iter()
            .copied()
            .filter(|&(from, to)| (self.fill.range(from..=to).count() as i64) <= to - from)
    }

    /// The filled trades and the live ones after `after`, merged in agg-id order: what the
    /// replay applies.
    pub(crate) fn replay<'a>(
        &'a self,
        live: &'a [AggTradePayload],
    ) -> impl Iterator<Item = AggTradePayload> + 'a {
        let after = self.after;
        let mut fill = self.fill.values().copied().peekable();
        let mut live = live
            .iter()
            .copied()
            .filter(move |t| t.agg_id > after)
            .peekable();
        std::iter::from_fn(move || match (fill.peek(), live.peek()) {
            (Some(f), Some(l)) if f.agg_id < l.agg_id => fill.next(),
            (Some(_), None) => fill.next(),
            _ => live.next(),
        })
    }
}

impl HeldSymbol {
    /// A hold of `symbol` beginning at `now_ms`, for nothing yet.
    pub(crate) fn new(symbol: usize, now_ms: i64) -> HeldSymbol {
        HeldSymbol {
            symbol,
            live: Vec::new(),
            since_ms: now_ms,
            gap: None,
            warm: WarmWait::None,
        }
    }

    /// True while the hold still waits for something.
    pub(crate) fn is_waiting(&self) -> bool {
        self.gap.is_some() || !matches!(self.warm, WarmWait::None)
    }

    /// True while a warm start is under way.
    pub(crate) fn is_warming(&self) -> bool {
        !matches!(self.warm, WarmWait::None)
    }
}
