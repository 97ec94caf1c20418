//! One interval of one symbol, apart from its current second: the open period, the trades of
//! it folded in so far, and the kline it closed last (for late trades and gap repairs).
//!
//! A node's open kline is its folded piece merged with its parent's open kline (the finer
//! interval it folds from, down to the symbol's leaf) while the parent's period lies inside
//! its own ([`Node::includes_parent`]); see [`super::fold_tree`].

use super::part::Part;
use crate::kline::Kline;

/// `open_time` of a node that has never opened a period.
pub(crate) const INACTIVE: i64 = i64::MIN;

/// The cold state of one (symbol, interval). What composing its open kline reads (times,
/// carry, whether it includes its parent, the folded piece) comes first and together, so a
/// pull walks a few consecutive cache lines per node; the last closed period's times and price
/// share the first line, so that closing a second (whose node has no folded piece) writes that
/// line and the last closed kline only.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Node {
    /// First millisecond of the open period; [`INACTIVE`] before the symbol's first trade.
    pub(crate) open_time: i64,
    /// Last millisecond of the open period.
    pub(crate) close_time: i64,
    /// Price of the open kline while it has no trade: the previous kline's close.
    pub(crate) carry: i64,
    /// Epoch of the last change other than a trade (a rollover, a correction, a rebuild).
    pub(crate) stamp: u64,
    /// The last closed period's times and, when empty, its price.
    pub(crate) closed_open: i64,
    pub(crate) closed_close: i64,
    pub(crate) closed_price: i64,
    /// True while the open kline includes the parent's open kline: the parent's period lies
    /// inside this one and its trades are this kline's trades too. A closed parent period is
    /// then folded into `folded`.
    pub(crate) includes_parent: bool,
    /// Whether the last closed period had trades (then it is `last_traded`; else it was
    /// empty at `closed_price`).
    pub(crate) closed_traded: bool,
    /// Trades of the open period that do not reach it through the parent (always none for the
    /// leaf's node: its trades are in the leaf).
    pub(crate) folded: Part,
    /// The last closed kline that had trades (corrections included).
    pub(crate) last_traded: Kline,
}

impl Node {
    /// A node of a symbol that has not traded.
    pub(crate) const NEW: Node = Node {
        open_time: INACTIVE,
        close_time: INACTIVE,
        carry: 0,
        stamp: 0,
        includes_parent: false,
        closed_open: INACTIVE,
        closed_close: INACTIVE,
        closed_price: 0,
        closed_traded: false,
        last_traded: Kline {
            open_time: INACTIVE,
            close_time: INACTIVE,
            open: 0,
            high: 0,
            low: 0,
            close: 0,
            volume: 0,
            quote_volume: 0,
            taker_buy_volume: 0,
            taker_buy_quote_volume: 0,
            count: 0,
            first_trade_id: -1,
            last_trade_id: -1,
        },
        folded: Part::EMPTY,
    };

    /// True once the node has opened a period.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.open_time != INACTIVE
    }

    /// True when the open period of `inner` lies inside this node's.
    #[inline]
    pub(crate) fn contains(&self, inner: &Node) -> bool {
        inner.is_active()
            && self.is_active()
            && self.open_time <= inner.open_time
            && inner.close_time <= self.close_time
    }

    /// The kline this node closed last (before any: an empty one at [`INACTIVE`]).
    pub(crate) fn last_closed(&self) -> Kline {
        if self.closed_traded {
            self.last_traded
        } else {
            Kline::empty(self.closed_open, self.closed_close, self.closed_price)
        }
    }

    /// Records `kline` as the last one closed.
    pub(crate) fn set_last_closed(&mut self, kline: &Kline) {
        self.closed_open = kline.open_time;
        self.closed_close = kline.close_time;
        self.closed_price = kline.close;
        self.closed_traded = !kline.is_empty();
        if self.closed_traded {
            self.last_traded = *kline;
        }
    }

    /// Opens the period `open_time..=close_time` without trades, at `carry`.
    pub(crate) fn open(&mut self, open_time: i64, close_time: i64, carry: i64, epoch: u64) {
        self.open_time = open_time;
        self.close_time = close_time;
        self.carry = carry;
        self.stamp = epoch;
        if !self.folded.is_empty() {
            self.folded = Part::EMPTY;
        }
    }

    /// [`Node::open`] for the leaf's node, whose folded piece is always empty (its trades are
    /// in the leaf): only the first cache line is written.
    #[inline]
    pub(crate) fn open_second(&mut self, open_time: i64, close_time: i64, carry: i64, epoch: u64) {
        debug_assert!(self.folded.is_empty());
        self.open_time = open_time;
        self.close_time = close_time;
        self.carry = carry;
        self.stamp = epoch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_a_second_writes_the_first_line_and_the_last_kline() {
        assert!(std::mem::offset_of!(Node, closed_traded) < 64);
        assert_eq!(std::mem::offset_of!(Node, folded), 64);
    }
}
