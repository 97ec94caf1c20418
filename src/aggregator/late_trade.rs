//! A trade older than a node's open period: it corrects the kline the node closed last, if it
//! belongs there and that kline's correction window (one more close grace) is still open, or
//! it is dropped for that interval and counted. Either way the open kline does not count it.

use super::effects::Effects;
use super::symbol_klines::SymbolKlines;
use crate::trade::AggTradePayload;

/// Applies `trade`, older than `node`'s open period, to the node's last closed kline, or
/// drops it for this node.
pub(crate) fn correct_or_drop(
    s: &mut SymbolKlines,
    node: usize,
    trade: &AggTradePayload,
    fx: &mut Effects,
) {
    let mut last = s.node(node).last_closed();
    let time = trade.trade_time_ms;
    let belongs = last.open_time <= time && time <= last.close_time;
    let deadline = fx.due_time(last.close_time).saturating_add(fx.grace_ms);
    let output = s.tree.output(node);
    if !belongs || fx.now_ms >= deadline {
        if output.is_some() {
            fx.stats.late_dropped += 1;
        }
        return;
    }
    last.apply(trade);
    if let Some(interval) = output {
        fx.corrected(s.symbol, interval, &last);
    }
    s.node_mut(node).set_last_closed(&last);
    if s.composed_is_empty(node) {
        // The empty period after it carried the old close forward; it now carries this one.
        s.node_mut(node).carry = last.close;
        if node == 0 {
            s.head.leaf.close = last.close;
        }
        s.stamp(node, fx.epoch);
    }
}
