//! Setting a symbol's open klines from whole klines (a repair's starting point, a warm start's
//! REST klines, a restored kline), splitting each into the pieces the nodes keep.
//!
//! A node whose parent's kline lies inside its own keeps only what its kline holds beyond the
//! parent's ([`Part::beyond`]); the trades themselves are gone, so the pieces get stand-in
//! marks that order them as their klines do: coarser pieces hold earlier first trades and
//! later last trades than the finer ones inside them, and all come before the agg id the
//! klines stand at. A kline that cannot hold its parent's (saved at another moment) is kept
//! whole, apart from the parent.

use super::fold_tree::MAX_NODES;
use super::node::INACTIVE;
use super::part::{Marks, Part};
use super::symbol_klines::SymbolKlines;
use crate::kline::Kline;

/// Makes `klines[node]` the open kline of each node (one whose open time is [`INACTIVE`]
/// leaves the node without a period, to be opened by the next trade), as they stood after agg
/// id `after`. The kline each node closed last is kept.
pub(crate) fn set_klines(s: &mut SymbolKlines, klines: &[Kline], after: i64, epoch: u64) {
    let base = mark_base(after);
    // Whatever the pending seconds held is in the klines now.
    s.head.pending = Part::EMPTY;
    for (node, kline) in klines.iter().enumerate().take(s.tree.len()) {
        let level = i64::from(s.tree.level(node));
        let marks = Marks {
            first: base - level,
            last: base + level,
        };
        s.stamp(node, epoch);
        if kline.open_time == INACTIVE {
            let n = s.node_mut(node);
            n.open_time = INACTIVE;
            n.close_time = INACTIVE;
            n.folded = Part::EMPTY;
            n.includes_parent = false;
            if node == 0 {
                s.head.leaf.clear(0);
            }
            continue;
        }
        s.node_mut(node)
            .open(kline.open_time, kline.close_time, kline.close, epoch);
        if node == 0 {
            s.head
                .leaf
                .set_part(&Part::of_kline(kline, marks), kline.close);
            continue;
        }
        let parent = s.tree.parent(node).unwrap_or(0);
        let inside = s.node(node).contains(s.node(parent));
        let beyond = inside
            .then(|| Part::beyond(kline, &klines[parent], marks))
            .flatten();
        let n = s.node_mut(node);
        n.includes_parent = beyond.is_some();
        n.folded = beyond.unwrap_or_else(|| Part::of_kline(kline, marks));
    }
    s.head.leaf.last_agg_id = after;
    s.survey();
}

/// Where the stand-in marks of a symbol standing after agg id `after` are centred: below it
/// by more than any depth, so later trades come after every piece; far below every agg id for
/// a symbol that has not traded.
fn mark_base(after: i64) -> i64 {
    if after == super::leaf::NO_AGG_ID {
        i64::MIN / 2
    } else {
        after.saturating_sub(2 * MAX_NODES as i64)
    }
}
