//! Every symbol's open klines without its current second, kept as records ready for a pull.
//!
//! An open kline is its symbol's leaf (the current second) merged with everything else it
//! holds: its folded piece, its parents' and the pending seconds. That rest changes only off
//! the fast path (a second closes, a period ends, a late trade, a repair), at most about once a
//! second per symbol, while a pull after a burst reads every interval of every symbol that
//! traded. So the rest is composed once per change into one slot per interval; a pull then
//! finishes each record with one merge of the leaf, held in registers, and writes it out in
//! interval order.
//!
//! Keeping the slots pays only when a symbol is pulled again before it changes: with rare
//! pulls (every symbol closed seconds since the last one) writing them to a row of its own,
//! out of cache by the next pull, cost more than it saved. So the first pull after a change
//! composes the symbol into one shared row, warm in the cache, and only a second pull before
//! the next change keeps the symbol's slots ([`Keep`]).

use super::fold_tree::MAX_NODES;
use super::node::Node;
use super::part::Part;
use super::protocol::KlineRecord;
use super::symbol_klines::SymbolView;
use crate::kline::Kline;

/// One interval of one symbol: its open kline without the leaf's trades, what a pull reads.
#[derive(Debug, Clone, Copy)]
struct OpenSlot {
    /// The kline, the leaf's trades left out. Its price and id fields are those of the trades
    /// it holds, or the neutral values of [`Part::EMPTY`] (high `MIN`, low `MAX`) when it holds
    /// none, so that merging a leaf into it needs no branch.
    kline: Kline,
    /// Agg id (or stand-in) of the trade that set `kline.open`; `MAX` when empty.
    first_mark: i64,
    /// Agg id (or stand-in) of the trade that set `kline.close`; `MIN` when empty.
    last_mark: i64,
}

/// What else a pull may need of one interval of one symbol, apart from the slots so that the
/// usual pull reads only the slots.
#[derive(Debug, Clone, Copy)]
struct SlotState {
    /// Price of the kline while it has no trade.
    carry: i64,
    /// Epoch of the interval's last change other than a trade.
    stamp: u64,
    /// True when the node has an open period.
    active: bool,
    /// True when the leaf's trades are trades of this kline (every node on the way up to the
    /// leaf includes its parent).
    with_leaf: bool,
}

impl OpenSlot {
    /// The slot of a node that never opened a period.
    const NEW: OpenSlot = OpenSlot {
        kline: Node::NEW.last_traded,
        first_mark: i64::MAX,
        last_mark: i64::MIN,
    };

    /// The slot of a node whose open kline, the leaf left out, is `base`.
    fn of(node: &Node, base: &Part) -> OpenSlot {
        OpenSlot {
            kline: Kline {
                open_time: node.open_time,
                close_time: node.close_time,
                open: base.open,
                high: base.high,
                low: base.low,
                close: base.close,
                volume: base.sums.volume,
                quote_volume: base.sums.quote_volume,
                taker_buy_volume: base.sums.taker_buy_volume,
                taker_buy_quote_volume: base.sums.taker_buy_quote_volume,
                count: base.sums.count,
                first_trade_id: base.first_trade_id,
                last_trade_id: base.last_trade_id,
            },
            first_mark: base.first_mark,
            last_mark: base.last_mark,
        }
    }

    /// The kline when the leaf adds nothing to it.
    #[inline]
    fn without_leaf(&self, carry: i64) -> Kline {
        let k = &self.kline;
        if k.count == 0 {
            Kline::empty(k.open_time, k.close_time, carry)
        } else {
            *k
        }
    }

    /// The kline with `leaf`'s trades (a non-empty piece) merged in: what [`Part::merge`]
    /// does, without its branches on emptiness, since an empty slot holds the merge's
    /// neutral values.
    #[inline(always)]
    fn with(&self, leaf: &Part) -> Kline {
        let mut k = self.kline;
        if leaf.first_mark < self.first_mark {
            k.open = leaf.open;
            k.first_trade_id = leaf.first_trade_id;
        }
        if leaf.last_mark > self.last_mark {
            k.close = leaf.close;
            k.last_trade_id = leaf.last_trade_id;
        }
        k.high = k.high.max(leaf.high);
        k.low = k.low.min(leaf.low);
        k.volume += leaf.sums.volume;
        k.quote_volume += leaf.sums.quote_volume;
        k.taker_buy_volume += leaf.sums.taker_buy_volume;
        k.taker_buy_quote_volume += leaf.sums.taker_buy_quote_volume;
        k.count += leaf.sums.count;
        k
    }
}

/// Whose slots a pull composes: a symbol's own, kept for the pulls after it, or one row
/// reused by every symbol composed for this pull only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// The symbol's own row.
    Cached,
    /// The shared row, for a symbol that will likely change again before its next pull.
    ThisPull,
}

/// The slots of every symbol, `symbol * intervals + interval`, and after them one shared row.
#[derive(Debug)]
pub(crate) struct OpenCache {
    slots: Vec<OpenSlot>,
    states: Vec<SlotState>,
    intervals: usize,
    /// Per row, true when every slot is active and takes the leaf (the usual state).
    whole: Vec<bool>,
}

impl OpenCache {
    /// Slots for `n_symbols` symbols of `intervals` intervals each.
    pub(crate) fn new(n_symbols: usize, intervals: usize) -> OpenCache {
        let state = SlotState {
            carry: 0,
            stamp: 0,
            active: false,
            with_leaf: false,
        };
        let rows = n_symbols + 1;
        OpenCache {
            slots: vec![OpenSlot::NEW; rows * intervals],
            states: vec![state; rows * intervals],
            intervals,
            whole: vec![false; rows],
        }
    }

    /// The row of `symbol`'s slots kept as `keep` says.
    #[inline]
    fn row(&self, symbol: usize, keep: Keep) -> usize {
        match keep {
            Keep::Cached => symbol,
            Keep::ThisPull => self.whole.len() - 1,
        }
    }

    /// Composes `symbol`'s slots from its pieces (the leaf left out) into the row `keep`
    /// says.
    pub(crate) fn compose(&mut self, symbol: usize, s: &SymbolView, keep: Keep) {
        let mut bases = [Part::EMPTY; MAX_NODES];
        let mut with_leaf = [false; MAX_NODES];
        with_leaf[0] = true;
        for node in 1..s.tree.len() {
            let n = s.node(node);
            let mut base = n.folded;
            if n.includes_parent {
                let parent = s.tree.parent(node).unwrap_or(0);
                match parent {
                    0 => base.merge(&s.head.pending),
                    _ => base.merge(&bases[parent]),
                }
                with_leaf[node] = with_leaf[parent];
            }
            bases[node] = base;
        }
        let row = self.row(symbol, keep);
        let range = row * self.intervals..(row + 1) * self.intervals;
        let mut whole = true;
        for (interval, (slot, state)) in self.slots[range.clone()]
            .iter_mut()
            .zip(&mut self.states[range])
            .enumerate()
        {
            let node = s.tree.node_of(interval);
            let n = s.node(node);
            *slot = OpenSlot::of(n, &bases[node]);
            *state = SlotState {
                carry: n.carry,
                stamp: n.stamp,
                active: n.is_active(),
                with_leaf: with_leaf[node],
            };
            whole &= state.active && state.with_leaf;
        }
        self.whole[row] = whole;
    }

    /// Appends `symbol`'s open klines changed after `since`, in interval order, from the row
    /// `keep` says (composed from the symbol as it is); `leaf` is the symbol's current second
    /// and `traded` whether a trade changed it after `since` (a trade changes every open
    /// kline of its symbol).
    #[inline]
    pub(crate) fn collect(
        &self,
        symbol: usize,
        keep: Keep,
        leaf: &Part,
        traded: bool,
        since: u64,
        out: &mut Vec<KlineRecord>,
    ) {
        let row = self.row(symbol, keep);
        let range = row * self.intervals..(row + 1) * self.intervals;
        let slots = &self.slots[range.clone()];
        let record = |interval: usize, kline: Kline| KlineRecord {
            symbol: symbol as u32,
            interval: interval as u16,
            correction: false,
            kline,
        };
        let leaf_counts = !leaf.is_empty();
        if traded && leaf_counts && self.whole[row] {
            // The usual pull: every interval, each its slot and the leaf. A sized iterator,
            // so the records are written in place.
            out.extend(
                slots
                    .iter()
                    .enumerate()
                    .map(|(interval, slot)| record(interval, slot.with(leaf))),
            );
            return;
        }
        for (interval, (slot, state)) in slots.iter().zip(&self.states[range]).enumerate() {
            if state.active && (traded || state.stamp > since) {
                let kline = if state.with_leaf && leaf_counts {
                    slot.with(leaf)
                } else {
                    slot.without_leaf(state.carry)
                };
                out.push(record(interval, kline));
            }
        }
    }
}
