//! The backfill thread's counters: REST weight spent, and its tail checks.

use super::prometheus::{Kind, family};
use crate::backfill::BackfillStats;

/// Appends the backfill's metrics to `out`.
pub fn render_backfill(out: &mut String, stats: &BackfillStats) {
    let get = BackfillStats::get;
    family(
        out,
        "klagg_backfill_rest_weight_total",
        Kind::Counter,
        "REST request weight the backfill spent (gaps, warm starts and tail checks).",
    )
    .sample(&[], get(&stats.rest_weight));
    let checks = get(&stats.tail_checks);
    let suspected = get(&stats.tail_suspected);
    family(
        out,
        "klagg_tail_checks_total",
        Kind::Counter,
        "Tail checks of quiet symbols after reconnects and by the sweep, by outcome: REST \
         klines matched the shard, showed trades it lacked, or the symbol needed no REST call.",
    )
    .sample(&[("outcome", "clean")], checks.saturating_sub(suspected))
    .sample(&[("outcome", "suspected")], suspected)
    .sample(&[("outcome", "skipped")], get(&stats.tail_skipped));
    family(
        out,
        "klagg_tail_rest_weight_total",
        Kind::Counter,
        "REST request weight the tail checks spent (klines calls and aggTrades pages).",
    )
    .sample(&[], get(&stats.tail_rest_weight));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_checks_are_exported_by_outcome() {
        let stats = BackfillStats::default();
        BackfillStats::add(&stats.tail_checks, 5);
        BackfillStats::add(&stats.tail_suspected, 2);
        BackfillStats::add(&stats.tail_skipped, 7);
        BackfillStats::add(&stats.tail_rest_weight, 45);
        let mut out = String::new();
        render_backfill(&mut out, &stats);
        for line in [
            "klagg_tail_checks_total{outcome=\"clean\"} 3",
            "klagg_tail_checks_total{outcome=\"suspected\"} 2",
            "klagg_tail_checks_total{outcome=\"skipped\"} 7",
            "klagg_tail_rest_weight_total 45",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }
}
