//! Closing a symbol's periods as its time passes: each node whose period ended is closed,
//! its kline folded into the nodes that fold from it, the periods skipped meanwhile closed as
//! empty klines at the previous close, and the period of the new time opened empty.
//!
//! Nodes are walked fine to coarse, so a coarse node takes its last fine period before it
//! closes itself. A second that closes goes to the symbol's pending piece, next to its leaf;
//! the coarse nodes take the pending seconds only when one of their periods ends.

use super::effects::Effects;
use super::part::Part;
use super::symbol_klines::SymbolKlines;
use crate::kline::Kline;

/// Length of the leaf's periods.
const SECOND_MS: i64 = 1_000;

/// Closes every period of the symbol that ended before `time`. Returns whether any did.
#[inline]
pub(crate) fn advance_to(s: &mut SymbolKlines, time: i64, fx: &mut Effects) -> bool {
    let held_empty = s.head.state.gap_pending && !fx.rebuilding;
    let mut closed = false;
    let root = &s.head.root;
    if root.is_active() && root.close_time < time {
        close_leaf(s, time, held_empty, fx);
        closed = true;
    }
    if s.head.state.coarse_close < time {
        s.flush_pending();
        for node in 1..s.tree.len() {
            let n = s.node(node);
            if n.is_active() && n.close_time < time {
                close_node(s, node, time, held_empty, fx);
            }
        }
        s.survey();
        closed = true;
    } else if closed && !s.head.state.coherent {
        s.survey();
    }
    closed
}

/// Closes the periods of each node that ended before its own `targets[node]` (the end of a
/// replay puts every node back in the period it was in before).
pub(crate) fn advance_each(s: &mut SymbolKlines, targets: &[i64], fx: &mut Effects) {
    let held_empty = s.head.state.gap_pending && !fx.rebuilding;
    s.flush_pending();
    let root = &s.head.root;
    if root.is_active() && root.close_time < targets[0] {
        close_leaf(s, targets[0], held_empty, fx);
        s.flush_pending();
    }
    for (node, &target) in targets.iter().enumerate().take(s.tree.len()).skip(1) {
        let n = s.node(node);
        if n.is_active() && n.close_time < target {
            close_node(s, node, target, held_empty, fx);
        }
    }
    s.survey();
}

/// Closes the leaf's second and moves it to the second holding `time`. Every leaf period is
/// a whole second: the arithmetic is done here rather than by the interval's rules.
pub(crate) fn close_leaf(s: &mut SymbolKlines, time: i64, held_empty: bool, fx: &mut Effects) {
    let part = s.head.leaf.part();
    let root = &s.head.root;
    let open_time = root.open_time;
    let kline = part.kline(open_time, open_time + SECOND_MS - 1, root.carry);
    let output = s.tree.output(0);
    fx.closed(s.symbol, output, &kline, held_empty);
    let coherent = s.head.state.coherent;
    if coherent {
        s.head.pending.merge(&part);
    } else {
        fold_into_children(s, 0, &part);
    }
    // A coarse period ends: its node is about to close and must hold every second first.
    let boundary = time > s.head.state.coarse_close;
    if boundary {
        s.flush_pending();
    }
    let price = kline.close;
    let next = open_time + SECOND_MS;
    let root = &mut s.head.root;
    if time < next + SECOND_MS {
        root.set_last_closed(&kline);
        root.open_second(next, next + SECOND_MS - 1, price, fx.epoch);
    } else {
        let open = time - time.rem_euclid(SECOND_MS);
        if output.is_some() && !held_empty {
            for empty in (next..open).step_by(SECOND_MS as usize) {
                fx.closed(
                    s.symbol,
                    output,
                    &Kline::empty(empty, empty + SECOND_MS - 1, price),
                    false,
                );
            }
        }
        let root = &mut s.head.root;
        if !kline.is_empty() {
            root.last_traded = kline;
        }
        root.set_last_closed(&Kline::empty(open - SECOND_MS, open - 1, price));
        root.open_second(open, open + SECOND_MS - 1, price, fx.epoch);
    }
    s.head.state.stamp = fx.epoch;
    s.head.leaf.clear(price);
    if boundary || !coherent {
        for &child in s.tree.children(0) {
            s.refresh_includes(child);
        }
    }
}

/// Closes a coarse node's period and moves it to the period holding `time`.
fn close_node(s: &mut SymbolKlines, node: usize, time: i64, held_empty: bool, fx: &mut Effects) {
    let part = s.composed(node);
    let n = s.node(node);
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
        let child = s.node_mut(child);
        if child.includes_parent {
            child.folded.merge(part);
        }
    }
}

/// After `closed` (the node's kline just closed): closes the periods before the one holding
/// `time` as empty klines, records the last closed kline and opens the period of `time`.
fn skip_to(
    s: &mut SymbolKlines,
    node: usize,
    closed: &Kline,
    time: i64,
    held_empty: bool,
    fx: &mut Effects,
) {
    let rule = s.tree.rule(node);
    let output = s.tree.output(node);
    let price = closed.close;
    let mut last_empty = None;
    let mut open = rule.next_open(closed.open_time);
    if rule.close_time(open) < time {
        if output.is_none() || held_empty {
            // Nobody is told of these empty periods: jump over them.
            open = rule.open_time(time);
            last_empty = Some(rule.open_time(open - 1));
        } else {
            while rule.close_time(open) < time {
                let empty = Kline::empty(open, rule.close_time(open), price);
                fx.closed(s.symbol, output, &empty, false);
                last_empty = Some(open);
                open = rule.next_open(open);
            }
        }
    }
    let n = s.node_mut(node);
    match last_empty {
        Some(empty_open) => {
            if !closed.is_empty() {
                n.last_traded = *closed;
            }
            n.set_last_closed(&Kline::empty(
                empty_open,
                rule.close_time(empty_open),
                price,
            ));
        }
        None => n.set_last_closed(closed),
    }
    n.open(open, rule.close_time(open), price, fx.epoch);
    s.head.state.stamp = fx.epoch;
}
