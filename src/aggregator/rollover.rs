//! Closing a symbol's periods as its time passes: each node whose period ended is closed,
//! its kline folded into the nodes that fold from it, the periods skipped meanwhile closed as
//! empty klines at the previous close, and the period of the new time opened empty.
//!
//! Nodes are walked fine to coarse, so a coarse node takes its last fine period before it
//! closes itself. A second that closes is folded once (into `1m` for the standard intervals);
//! that, not the trades, is where the coarse klines are built.

use super::effects::Effects;
use super::part::Part;
use super::symbol_klines::SymbolKlines;
use crate::kline::Kline;

/// Closes every period of the symbol that ended before `time`. Returns whether any did.
#[inline]
pub(crate) fn advance_to(s: &mut SymbolKlines, time: i64, fx: &mut Effects) -> bool {
    let held_empty = s.state.gap_pending && !fx.rebuilding;
    let mut closed = false;
    if s.nodes[0].is_active() && s.nodes[0].close_time < time {
        close_leaf(s, time, held_empty, fx);
        closed = true;
    }
    if s.state.coarse_close < time {
        for node in 1..s.tree.len() {
            if s.nodes[node].is_active() && s.nodes[node].close_time < time {
                close_node(s, node, time, held_empty, fx);
            }
        }
        s.survey();
        closed = true;
    } else if closed && !s.state.coherent {
        s.survey();
    }
    closed
}

/// Closes the periods of each node that ended before its own `targets[node]` (the end of a
/// replay puts every node back in the period it was in before).
pub(crate) fn advance_each(s: &mut SymbolKlines, targets: &[i64], fx: &mut Effects) {
    let held_empty = s.state.gap_pending && !fx.rebuilding;
    if s.nodes[0].is_active() && s.nodes[0].close_time < targets[0] {
        close_leaf(s, targets[0], held_empty, fx);
    }
    for node in 1..s.tree.len() {
        if s.nodes[node].is_active() && s.nodes[node].close_time < targets[node] {
            close_node(s, node, targets[node], held_empty, fx);
        }
    }
    s.survey();
}

/// Closes the leaf's second and moves it to the second holding `time`.
fn close_leaf(s: &mut SymbolKlines, time: i64, held_empty: bool, fx: &mut Effects) {
    let part = s.leaf.part();
    let node = &s.nodes[0];
    let kline = part.kline(node.open_time, node.close_time, node.carry);
    fx.closed(s.symbol, s.tree.output(0), &kline, held_empty);
    fold_into_children(s, 0, &part);
    let open = skip_to(s, 0, &kline, time, held_empty, fx);
    s.leaf.clear(kline.close);
    for &child in s.tree.children(0) {
        s.refresh_includes(child);
    }
    debug_assert!(s.nodes[0].open_time == open);
}

/// Closes a coarse node's period and moves it to the period holding `time`.
fn close_node(s: &mut SymbolKlines, node: usize, time: i64, held_empty: bool, fx: &mut Effects) {
    let part = s.composed(node);
    let n = &s.nodes[node];
    let kline = part.kline(n.open_time, n.close_time, n.carry);
    fx.closed(s.symbol, s.tree.output(node), &kline, held_empty);
    fold_into_children(s, node, &part);
    skip_to(s, node, &kline, time, held_empty, fx);
    s.refresh_includes(node);
    for &child in s.tree.children(node) {
        s.refresh_includes(child);
    }
}

/// Folds a closed period into the nodes that include it.
#[inline]
fn fold_into_children(s: &mut SymbolKlines, node: usize, part: &Part) {
    if part.is_empty() {
        return;
    }
    for &child in s.tree.children(node) {
        let child = &mut s.nodes[child];
        if child.includes_parent {
            child.folded.merge(part);
        }
    }
}

/// After `closed` (the node's kline just closed): closes the periods before the one holding
/// `time` as empty klines, records the last closed kline and opens the period of `time`.
/// Returns its open time.
fn skip_to(
    s: &mut SymbolKlines,
    node: usize,
    closed: &Kline,
    time: i64,
    held_empty: bool,
    fx: &mut Effects,
) -> i64 {
    let rule = s.tree.rule(node);
    let output = s.tree.output(node);
    let price = closed.close;
    let mut last = *closed;
    let mut open = rule.next_open(closed.open_time);
    if rule.close_time(open) < time {
        if output.is_none() || held_empty {
            // Nobody is told of these empty periods: jump over them.
            open = rule.open_time(time);
            let before = rule.open_time(open - 1);
            last = Kline::empty(before, rule.close_time(before), price);
        } else {
            while rule.close_time(open) < time {
                last = Kline::empty(open, rule.close_time(open), price);
                fx.closed(s.symbol, output, &last, false);
                open = rule.next_open(open);
            }
        }
    }
    let n = &mut s.nodes[node];
    if !closed.is_empty() {
        n.last_traded = *closed;
    }
    n.set_last_closed(&last);
    n.open(open, rule.close_time(open), price, fx.epoch);
    s.state.stamp = fx.epoch;
    open
}
