//! A trade the fast path did not take: the symbol's first, one in a new second, a late one,
//! or one of a symbol held or out of step. It goes through every node by the full rule of
//! each interval: periods that ended close first, then each open kline the trade falls in
//! counts it once (in the finest piece that reaches that kline), and each interval whose open
//! period began after it takes it as a late trade.

use super::effects::Effects;
use super::late_trade::correct_or_drop;
use super::leaf::{GATE_CLOSED, NOT_SEALED};
use super::rollover::{advance_to, close_leaf};
use super::symbol_klines::{SymbolHead, SymbolKlines};
use crate::trade::AggTradePayload;

/// Applies a trade that follows the symbol's last one in agg-id order. Returns true when the
/// trade only moved an open leaf on to a later second (the common case, which leaves the
/// gate open and the symbol due no earlier): nothing else needs looking at.
pub(crate) fn apply(s: &mut SymbolKlines, trade: &AggTradePayload, fx: &mut Effects) -> bool {
    let time = trade.trade_time_ms;
    if rolls(s.head, trade) {
        roll(s, trade, fx);
        return true;
    }
    if !s.head.state.coherent {
        open_new_nodes(s, time, fx);
    }
    advance_to(s, time, fx);
    if s.head.state.coherent && s.head.root.open_time <= time {
        // The leaf's second: every open kline takes the trade through the leaf.
        s.head.leaf.add(trade, fx.epoch);
        s.head.leaf.sealed_mark = NOT_SEALED;
        return false;
    }
    place(s, trade, fx);
    false
}

/// True when `trade` (following the symbol's last one) falls in a later second than the open
/// leaf's but before any coarse period of the symbol ends, and the leaf is open to trades:
/// [`roll`] then applies it.
#[inline]
pub(crate) fn rolls(head: &SymbolHead, trade: &AggTradePayload) -> bool {
    let time = trade.trade_time_ms;
    head.leaf.gate != GATE_CLOSED && time > head.root.close_time && time <= head.state.coarse_close
}

/// Applies a trade [`rolls`] accepts: the leaf's second (and the empty ones after it) closes
/// and the trade opens its own; nothing else needs looking at.
#[inline]
pub(crate) fn roll(s: &mut SymbolKlines, trade: &AggTradePayload, fx: &mut Effects) {
    close_leaf(s, trade.trade_time_ms, false, fx);
    s.head.leaf.add(trade, fx.epoch);
    s.head.leaf.gate = s.head.root.open_time;
}

/// Opens the period holding `time` for every node that never had one, as a symbol's first
/// trade does; the price carried is 0 until a trade sets one.
fn open_new_nodes(s: &mut SymbolKlines, time: i64, fx: &mut Effects) {
    let mut opened = 0u128;
    for node in 0..s.tree.len() {
        if s.node(node).is_active() {
            continue;
        }
        let rule = s.tree.rule(node);
        let open = rule.open_time(time);
        s.node_mut(node)
            .open(open, rule.close_time(open), 0, fx.epoch);
        s.head.state.stamp = fx.epoch;
        if node == 0 {
            s.head.leaf.clear(0);
        }
        opened |= 1 << node;
    }
    if opened == 0 {
        return;
    }
    for node in 1..s.tree.len() {
        let parent = s.tree.parent(node).unwrap_or(0);
        if opened & (1 << node | 1 << parent) != 0 {
            s.refresh_includes(node);
        }
    }
    s.survey();
}

/// Puts the trade in every piece it belongs to, node by node.
fn place(s: &mut SymbolKlines, trade: &AggTradePayload, fx: &mut Effects) {
    let time = trade.trade_time_ms;
    for node in 1..s.tree.len() {
        if s.node(node).open_time > time {
            correct_or_drop(s, node, trade, fx);
            continue;
        }
        let parent = s.tree.parent(node).unwrap_or(0);
        let through_parent = s.node(node).includes_parent && s.node(parent).open_time <= time;
        if !through_parent {
            s.node_mut(node).folded.add(trade);
        }
    }
    if s.head.root.open_time <= time {
        let leaf = &mut s.head.leaf;
        leaf.add(trade, fx.epoch);
        leaf.sealed_mark = NOT_SEALED;
    } else {
        correct_or_drop(s, 0, trade, fx);
        let leaf = &mut s.head.leaf;
        leaf.seal();
        leaf.last_agg_id = trade.agg_id;
        leaf.stamp = fx.epoch;
    }
}
