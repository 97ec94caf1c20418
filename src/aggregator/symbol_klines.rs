//! One symbol's klines, borrowed from the book for a change: its leaf, its nodes and its
//! flags, and what can be read from them (the open kline of any interval, composed from its
//! pieces).

use super::fold_tree::FoldTree;
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
    /// The epoch the symbol was last put on the book's list of changed symbols for.
    pub(crate) listed: u64,
    /// Earliest close time of an active node other than the leaf (`i64::MAX` if none): no
    /// coarse period needs closing before it.
    pub(crate) coarse_close: i64,
    /// When the clock is due to look at the symbol, as last queued (`i64::MAX`: not queued).
    pub(crate) due_at: i64,
    /// True while a gap in the symbol's agg ids waits for its missing trades.
    pub(crate) gap_pending: bool,
    /// True while the symbol is held for a repair (a gap, a warm start): its live trades are
    /// kept for the replay.
    pub(crate) held: bool,
    /// True when every node is active and includes its parent: a trade of the leaf's second is
    /// then a trade of every open kline, and the leaf alone needs it.
    pub(crate) coherent: bool,
    /// Where the book's open-kline cache stands for the symbol: every change other than a
    /// trade of the leaf makes it [`CacheState::Stale`].
    pub(crate) cache: CacheState,
}

/// How the book's open-kline cache holds a symbol's pieces (its open klines without the leaf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheState {
    /// Changed since they were last composed, and not pulled since.
    Stale,
    /// Changed, and pulled once since (composed for that pull only).
    PulledOnce,
    /// The cache holds them as they are.
    Fresh,
}

impl SymbolState {
    /// A symbol that has not traded.
    pub(crate) const NEW: SymbolState = SymbolState {
        first_agg_id: super::leaf::NO_AGG_ID,
        stamp: 0,
        listed: 0,
        coarse_close: i64::MAX,
        due_at: i64::MAX,
        gap_pending: false,
        held: false,
        coherent: false,
        cache: CacheState::Stale,
    };
}

/// What a symbol keeps next to its leaf, in one block, so that closing a second touches only
/// memory near the lines its trades wrote: the leaf, the symbol's flags, the closed seconds
/// not yet folded into the coarser nodes, and the leaf's own node (node 0).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct SymbolHead {
    pub(crate) leaf: Leaf,
    pub(crate) state: SymbolState,
    /// Seconds closed since the leaf's children last took them: part of every child's open
    /// kline. Kept only while the symbol is coherent (every child includes the leaf), and
    /// folded into the children when a coarse period ends, so a second that closes touches
    /// no other node.
    pub(crate) pending: Part,
    /// The leaf's period, carry and last closed second.
    pub(crate) root: Node,
    /// Makes the head an odd number of cache lines long, so that the leaves of consecutive
    /// symbols fall in every set of the L1 cache rather than in a quarter of them.
    spread: [u8; HEAD_SPREAD],
}

/// Padding of [`SymbolHead`] up to 13 cache lines (its fields take 11.5).
const HEAD_SPREAD: usize = 96;

impl SymbolHead {
    /// A symbol that has not traded.
    pub(crate) const NEW: SymbolHead = SymbolHead {
        leaf: Leaf::NEW,
        state: SymbolState::NEW,
        pending: Part::EMPTY,
        root: Node::NEW,
        spread: [0; HEAD_SPREAD],
    };
}

/// A symbol's klines, read-only: what can be read from its pieces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SymbolView<'a> {
    pub(crate) head: &'a SymbolHead,
    /// Nodes 1.. (the coarse ones): `coarse[node - 1]`.
    pub(crate) coarse: &'a [Node],
    pub(crate) tree: &'a FoldTree,
}

impl SymbolView<'_> {
    /// Node `node` (0 is the leaf's).
    #[inline]
    pub(crate) fn node(&self, node: usize) -> &Node {
        if node == 0 {
            &self.head.root
        } else {
            &self.coarse[node - 1]
        }
    }

    /// The trades of `node`'s open kline, its parents' included.
    pub(crate) fn composed(&self, node: usize) -> Part {
        if node == 0 {
            return self.head.leaf.part();
        }
        let mut part = Part::EMPTY;
        let mut at = node;
        loop {
            if at == 0 {
                part.merge(&self.head.pending);
                part.merge(&self.head.leaf.part());
                return part;
            }
            let n = self.node(at);
            part.merge(&n.folded);
            if !n.includes_parent {
                return part;
            }
            at = self.tree.parent(at).unwrap_or(0);
        }
    }

    /// True when `node`'s open kline has no trade yet.
    pub(crate) fn composed_is_empty(&self, node: usize) -> bool {
        if node == 0 {
            return self.head.leaf.count == 0;
        }
        let mut at = node;
        loop {
            if at == 0 {
                return self.head.pending.is_empty() && self.head.leaf.count == 0;
            }
            let n = self.node(at);
            if !n.folded.is_empty() {
                return false;
            }
            if !n.includes_parent {
                return true;
            }
            at = self.tree.parent(at).unwrap_or(0);
        }
    }

    /// The open kline of `node` (an active one).
    pub(crate) fn open_kline(&self, node: usize) -> Kline {
        let n = self.node(node);
        self.composed(node)
            .kline(n.open_time, n.close_time, n.carry)
    }

    /// The kline of `node` holding the symbol's last trade: the open one if it has trades,
    /// else the last closed one with trades (where a repair of the symbol starts from).
    pub(crate) fn kline_holding_last_trade(&self, node: usize) -> Kline {
        let n = self.node(node);
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
        let root = &self.head.root;
        let coarse = self.head.state.coarse_close;
        let close = if root.is_active() {
            root.close_time.min(coarse)
        } else {
            coarse
        };
        (close != i64::MAX).then_some(close)
    }
}

/// A symbol's klines, mutably borrowed for a change.
#[derive(Debug)]
pub(crate) struct SymbolKlines<'a> {
    pub(crate) symbol: u32,
    pub(crate) head: &'a mut SymbolHead,
    /// Nodes 1.. (the coarse ones): `coarse[node - 1]`.
    pub(crate) coarse: &'a mut [Node],
    pub(crate) tree: &'a FoldTree,
}

impl SymbolKlines<'_> {
    /// The same klines, read-only.
    #[inline]
    pub(crate) fn view(&self) -> SymbolView<'_> {
        SymbolView {
            head: self.head,
            coarse: self.coarse,
            tree: self.tree,
        }
    }

    /// Node `node` (0 is the leaf's).
    #[inline]
    pub(crate) fn node(&self, node: usize) -> &Node {
        if node == 0 {
            &self.head.root
        } else {
            &self.coarse[node - 1]
        }
    }

    /// Node `node` (0 is the leaf's), to change.
    #[inline]
    pub(crate) fn node_mut(&mut self, node: usize) -> &mut Node {
        if node == 0 {
            &mut self.head.root
        } else {
            &mut self.coarse[node - 1]
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

    /// Folds the pending seconds into the leaf's children, before any of them closes or
    /// changes how it is composed.
    pub(crate) fn flush_pending(&mut self) {
        if self.head.pending.is_empty() {
            return;
        }
        let pending = self.head.pending;
        for &child in self.tree.children(0) {
            let child = &mut self.coarse[child - 1];
            if child.includes_parent {
                child.folded.merge(&pending);
            }
        }
        self.head.pending = Part::EMPTY;
    }

    /// Decides whether `node` (not the leaf) includes its parent, after one of them opened a
    /// period: only a parent period inside its own, and only while the parent has no trade
    /// this node did not take in another way (a fresh period, the normal case).
    pub(crate) fn refresh_includes(&mut self, node: usize) {
        let parent = self.tree.parent(node).unwrap_or(0);
        let includes =
            self.node(node).contains(self.node(parent)) && self.composed_is_empty(parent);
        self.node_mut(node).includes_parent = includes;
    }

    /// Recomputes what a change of the nodes' periods may have changed: whether the symbol is
    /// coherent, and the earliest coarse close.
    pub(crate) fn survey(&mut self) {
        let mut coherent = self.head.root.is_active();
        let mut coarse_close = i64::MAX;
        for node in self.coarse.iter() {
            coherent &= node.is_active() && node.includes_parent;
            if node.is_active() {
                coarse_close = coarse_close.min(node.close_time);
            }
        }
        self.head.state.coherent = coherent;
        self.head.state.coarse_close = coarse_close;
        if !coherent {
            self.flush_pending();
        }
    }

    /// Opens or closes the fast path for the symbol's next trade.
    pub(crate) fn update_gate(&mut self, rebuilding: bool) {
        let head = &mut *self.head;
        let open = head.state.coherent
            && !head.state.held
            && !rebuilding
            && head.leaf.sealed_mark == NOT_SEALED;
        head.leaf.gate = if open {
            head.root.open_time
        } else {
            GATE_CLOSED
        };
    }

    /// Stamps `node` as changed (not by a trade) at `epoch`.
    #[inline]
    pub(crate) fn stamp(&mut self, node: usize, epoch: u64) {
        self.node_mut(node).stamp = epoch;
        self.head.state.stamp = epoch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_an_odd_number_of_cache_lines() {
        let size = std::mem::size_of::<SymbolHead>();
        assert_eq!(size % 64, 0);
        assert_eq!(size / 64 % 2, 1, "{size} bytes");
    }
}
