//! A trade the fast path did not take: the symbol's first, one in a new second, a late one,
//! or one of a symbol held or out of step. It goes through every node by the full rule of
//! each interval: periods that ended close first, then each open kline the trade falls in
//! counts it once (in the finest piece that reaches that kline), and each interval whose open
//! period began after it takes it as a late trade.

use super::effects::Effects;
use super::late_trade::correct_or_drop;
use super::leaf::NOT_SEALED;
use super::rollover::advance_to;
use super::symbol_klines::SymbolKlines;
use crate::trade::AggTradePayload;

/// Applies a trade that follows the symbol's last one in agg-id order.
pub(crate) fn apply(s: &mut SymbolKlines, trade: &AggTradePayload, fx: &mut Effects) {
    let time = trade.trade_time_ms;
    if !s.state.coherent {
        open_new_nodes(s, time, fx);
    }
    advance_to(s, time, fx);
    if s.state.coherent && s.nodes[0].open_time <= time {
        // The leaf's second: every open kline takes the trade through the leaf.
        s.leaf.add(trade, fx.epoch);
        s.leaf.sealed_mark = NOT_SEALED;
        return;
    }
    place(s, trade, fx);
}

/// Opens the period holding `time` for every node that never had one, as a symbol's first
/// trade does; the price carried is 0 until a trade sets one.
fn open_new_nodes(s: &mut SymbolKlines, time: i64, fx: &mut Effects) {
    let mut opened = 0u128;
    for node in 0..s.tree.len() {
        if s.nodes[node].is_active() {
            continue;
        }
        let rule = s.tree.rule(node);
        let open = rule.open_time(time);
        s.nodes[node].open(open, rule.close_time(open), 0, fx.epoch);
        s.state.stamp = fx.epoch;
        if node == 0 {
            s.leaf.clear(0);
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
        if s.nodes[node].open_time > time {
            correct_or_drop(s, node, trade, fx);
            continue;
        }
        let parent = s.tree.parent(node).unwrap_or(0);
        let through_parent = s.nodes[node].includes_parent && s.nodes[parent].open_time <= time;
        if !through_parent {
            s.nodes[node].folded.add(trade);
        }
    }
    if s.nodes[0].open_time <= time {
        s.leaf.add(trade, fx.epoch);
        s.leaf.sealed_mark = NOT_SEALED;
    } else {
        correct_or_drop(s, 0, trade, fx);
        s.leaf.seal();
        s.leaf.last_agg_id = trade.agg_id;
        s.leaf.stamp = fx.epoch;
    }
}
