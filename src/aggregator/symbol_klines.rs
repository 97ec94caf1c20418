//! One symbol's klines, borrowed from the book for a change: its leaf, its nodes and its
//! flags, and what can be read from them (the open kline of any interval, composed from its
//! pieces).

use super::fold_tree::{FoldTree, MAX_NODES};
use super::leaf::{GATE_CLOSED, Leaf, NOT_SEALED};
use super::node::Node;
use super::part::Part;
use crate::kline::Kline;

/// Per-symbol state that trades do not touch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SymbolState {
    /// First agg id applied live; [`super::leaf::NO_AGG_ID`] before the first trade.
    pub(crate) first_agg_id: i64,
    /// Epoch of the last change to a node (not by a trade): see [`Node::stamp`].
    pub(crate) stamp: u64,
    /// Earliest close time of an active node other than the leaf (`i64::MAX` if none): no
    /// coarse period needs closing before it.
    pub(crate) coarse_close: i64,
    /// True while a gap in the symbol's agg ids waits for its missing trades.
    pub(crate) gap_pending: bool,
    /// True while the symbol is held for a repair (a gap, a warm start): its live trades are
    /// kept for the replay.
    pub(crate) held: bool,
    /// True when every node is active and includes its parent: a trade of the leaf's second is
    /// then a trade of every open kline, and the leaf alone needs it.
    pub(crate) coherent: bool,
}

impl SymbolState {
    /// A symbol that has not traded.
    pub(crate) const NEW: SymbolState = SymbolState {
        first_agg_id: super::leaf::NO_AGG_ID,
        stamp: 0,
        coarse_close: i64::MAX,
        gap_pending: false,
        held: false,
        coherent: false,
    };
}

/// A symbol's klines, read-only: what can be read from its pieces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SymbolView<'a> {
    pub(crate) leaf: &'a Leaf,
    /// Node 0 is the leaf's cold state (its period, carry and last closed kline).
    pub(crate) nodes: &'a [Node],
    pub(crate) state: &'a SymbolState,
    pub(crate) tree: &'a FoldTree,
}

impl SymbolView<'_> {
    /// The trades of `node`'s open kline, its parents' included.
    pub(crate) fn composed(&self, node: usize) -> Part {
        let mut part = Part::EMPTY;
        let mut at = node;
        loop {
            if at == 0 {
                part.merge(&self.leaf.part());
                return part;
            }
            part.merge(&self.nodes[at].folded);
            if !self.nodes[at].includes_parent {
                return part;
            }
            at = self.tree.parent(at).unwrap_or(0);
        }
    }

    /// True when `node`'s open kline has no trade yet.
    pub(crate) fn composed_is_empty(&self, node: usize) -> bool {
        let mut at = node;
        loop {
            if at == 0 {
                return self.leaf.count == 0;
            }
            if !self.nodes[at].folded.is_empty() {
                return false;
            }
            if !self.nodes[at].includes_parent {
                return true;
            }
            at = self.tree.parent(at).unwrap_or(0);
        }
    }

    /// The open kline of `node` (an active one).
    pub(crate) fn open_kline(&self, node: usize) -> Kline {
        let n = &self.nodes[node];
        self.composed(node)
            .kline(n.open_time, n.close_time, n.carry)
    }

    /// The open kline of every node, fine to coarse, each built on its parent's: `out[node]`.
    pub(crate) fn compose_all(&self, out: &mut [Part; MAX_NODES]) {
        out[0] = self.leaf.part();
        for node in 1..self.tree.len() {
            let mut part = self.nodes[node].folded;
            if self.nodes[node].includes_parent {
                let parent = self.tree.parent(node).unwrap_or(0);
                part.merge(&out[parent]);
            }
            out[node] = part;
        }
    }

    /// The kline of `node` holding the symbol's last trade: the open one if it has trades,
    /// else the last closed one with trades (where a repair of the symbol starts from).
    pub(crate) fn kline_holding_last_trade(&self, node: usize) -> Kline {
        let n = &self.nodes[node];
        if !n.is_active() {
            return Node::NEW.last_closed();
        }
        let open = self.open_kline(node);
        if !open.is_empty() {
            return open;
        }
        let last = n.last_closed();
        if !last.is_empty() {
            last
        } else {
            n.last_traded
        }
    }

    /// The earliest time one of the symbol's periods ends, if it has any.
    pub(crate) fn next_close(&self) -> Option<i64> {
        let leaf = &self.nodes[0];
        let close = if leaf.is_active() {
            leaf.close_time.min(self.state.coarse_close)
        } else {
            self.state.coarse_close
        };
        (close != i64::MAX).then_some(close)
    }
}

/// A symbol's klines, mutably borrowed for a change.
#[derive(Debug)]
pub(crate) struct SymbolKlines<'a> {
    pub(crate) symbol: u32,
    pub(crate) leaf: &'a mut Leaf,
    /// Node 0 is the leaf's cold state (its period, carry and last closed kline).
    pub(crate) nodes: &'a mut [Node],
    pub(crate) state: &'a mut SymbolState,
    pub(crate) tree: &'a FoldTree,
}

impl SymbolKlines<'_> {
    /// The same klines, read-only.
    #[inline]
    pub(crate) fn view(&self) -> SymbolView<'_> {
        SymbolView {
            leaf: self.leaf,
            nodes: self.nodes,
            state: self.state,
            tree: self.tree,
        }
    }

    /// See [`SymbolView::composed`].
    #[inline]
    pub(crate) fn composed(&self, node: usize) -> Part {
        self.view().composed(node)
    }

    /// See [`SymbolView::composed_is_empty`].
    #[inline]
    pub(crate) fn composed_is_empty(&self, node: usize) -> bool {
        self.view().composed_is_empty(node)
    }

    /// Decides whether `node` (not the leaf) includes its parent, after one of them opened a
    /// period: only a parent period inside its own, and only while the parent has no trade
    /// this node did not take in another way (a fresh period, the normal case).
    pub(crate) fn refresh_includes(&mut self, node: usize) {
        let parent = self.tree.parent(node).unwrap_or(0);
        let includes =
            self.nodes[node].contains(&self.nodes[parent]) && self.composed_is_empty(parent);
        self.nodes[node].includes_parent = includes;
    }

    /// Recomputes what a change of the nodes' periods may have changed: whether the symbol is
    /// coherent, and the earliest coarse close.
    pub(crate) fn survey(&mut self) {
        let mut coherent = self.nodes[0].is_active();
        let mut coarse_close = i64::MAX;
        for node in &self.nodes[1..] {
            coherent &= node.is_active() && node.includes_parent;
            if node.is_active() {
                coarse_close = coarse_close.min(node.close_time);
            }
        }
        self.state.coherent = coherent;
        self.state.coarse_close = coarse_close;
    }

    /// Opens or closes the fast path for the symbol's next trade.
    pub(crate) fn update_gate(&mut self, rebuilding: bool) {
        let open = self.state.coherent
            && !self.state.held
            && !rebuilding
            && self.leaf.sealed_mark == NOT_SEALED;
        self.leaf.gate = if open {
            self.nodes[0].open_time
        } else {
            GATE_CLOSED
        };
    }

    /// Stamps `node` as changed (not by a trade) at `epoch`.
    #[inline]
    pub(crate) fn stamp(&mut self, node: usize, epoch: u64) {
        self.nodes[node].stamp = epoch;
        self.state.stamp = epoch;
    }
}
