//! The engine's metrics in Prometheus text format: one registry read from the counters the
//! threads already publish (io threads' [`IoStats`], shards' [`ShardStats`]), so exporting
//! costs the hot path nothing.

mod backfill;
mod gateway;
mod latency;
mod prometheus;

use std::sync::atomic::Ordering::Relaxed;

use crate::aggregator::ShardStats;
use crate::ingress::bad_input::BadInputReason;
use crate::pipeline::{Engine, IoStats};
use crate::store::SinkStats;

pub use backfill::render_backfill;
pub use gateway::render_gateway;
pub use latency::render_latencies;
pub use prometheus::{Family, Kind, family};

/// Appends every engine metric to `out`.
pub fn render_engine(out: &mut String, engine: &Engine) {
    render(out, engine.io_stats(), &engine.shard_stats());
}

/// Appends the metrics of these io threads and shards to `out`.
pub fn render(out: &mut String, io: &[std::sync::Arc<IoStats>], shards: &[ShardStats]) {
    let per_connection =
        |out: &mut String, name: &str, help: &str, read: &dyn Fn(&IoStats) -> u64| {
            let mut f = family(out, name, Kind::Counter, help);
            for (i, s) in io.iter().enumerate() {
                f.sample(&[("connection", &i.to_string())], read(s));
            }
        };
    per_connection(out, "klagg_frames_total", "Data frames received.", &|s| {
        s.frames.load(Relaxed)
    });
    per_connection(
        out,
        "klagg_ring_full_waits_total",
        "Pushes that waited for a full ring (never dropped).",
        &|s| s.ring_full_waits.load(Relaxed),
    );
    per_connection(out, "klagg_connects_total", "Successful connects.", &|s| {
        s.connects.load(Relaxed)
    });
    per_connection(
        out,
        "klagg_connect_failures_total",
        "Failed connect attempts.",
        &|s| s.connect_failures.load(Relaxed),
    );
    per_connection(
        out,
        "klagg_rotations_total",
        "Make-before-break rotations.",
        &|s| s.rotations.load(Relaxed),
    );
    {
        let mut f = family(
            out,
            "klagg_ring_longest_wait_nanoseconds",
            Kind::Gauge,
            "Longest wait for a full ring.",
        );
        for (i, s) in io.iter().enumerate() {
            f.sample(
                &[("connection", &i.to_string())],
                s.longest_ring_wait_ns.load(Relaxed),
            );
        }
    }
    {
        let mut f = family(
            out,
            "klagg_disconnects_total",
            Kind::Counter,
            "Connections lost, by cause.",
        );
        for (i, s) in io.iter().enumerate() {
            let c = i.to_string();
            f.sample(
                &[("connection", &c), ("cause", "closed")],
                s.disconnects_closed.load(Relaxed),
            );
            f.sample(
                &[("connection", &c), ("cause", "stale")],
                s.disconnects_stale.load(Relaxed),
            );
            f.sample(
                &[("connection", &c), ("cause", "error")],
                s.disconnects_error.load(Relaxed),
            );
        }
    }
    {
        let mut f = family(
            out,
            "klagg_bad_frames_total",
            Kind::Counter,
            "Frames counted and dropped, by reason.",
        );
        for (i, s) in io.iter().enumerate() {
            let c = i.to_string();
            for (reason, count) in BadInputReason::ALL.iter().zip(&s.bad_by_reason) {
                f.sample(
                    &[("connection", &c), ("reason", reason.as_str())],
                    count.load(Relaxed),
                );
            }
        }
    }
    let total: ShardStats = shards.iter().sum();
    {
        let mut f = family(
            out,
            "klagg_trades_total",
            Kind::Counter,
            "Trades by outcome in the aggregator shards.",
        );
        f.sample(&[("outcome", "applied")], total.trades);
        f.sample(&[("outcome", "duplicate")], total.duplicates);
        f.sample(&[("outcome", "invalid")], total.invalid);
        let dropped: u64 = io.iter().map(|s| s.dropped_abandoned.load(Relaxed)).sum();
        f.sample(&[("outcome", "dropped_at_shutdown")], dropped);
    }
    family(
        out,
        "klagg_late_trades_total",
        Kind::Counter,
        "Late (trade, interval) pairs by outcome.",
    )
    .sample(&[("outcome", "corrected")], total.corrections)
    .sample(&[("outcome", "dropped")], total.late_dropped);
    family(
        out,
        "klagg_gaps_total",
        Kind::Counter,
        "Jumps in a symbol's agg ids.",
    )
    .sample(&[], total.gaps);
    family(
        out,
        "klagg_missing_agg_ids_total",
        Kind::Counter,
        "Agg ids missing across all gaps.",
    )
    .sample(&[], total.missing_agg_ids);
    family(
        out,
        "klagg_gaps_closed_total",
        Kind::Counter,
        "Gaps ended, by outcome: every missing trade merged, or given up with some lost.",
    )
    .sample(&[("outcome", "filled")], total.gaps_filled)
    .sample(&[("outcome", "unfilled")], total.gaps_unfilled);
    family(
        out,
        "klagg_gap_trades_total",
        Kind::Counter,
        "Missing trades of gaps, by outcome: merged into the klines, or lost for good.",
    )
    .sample(&[("outcome", "filled")], total.gap_trades_filled)
    .sample(&[("outcome", "lost")], total.gap_ids_unfilled);
    family(
        out,
        "klagg_tail_gaps_total",
        Kind::Counter,
        "Trades lost at a quiet symbol's tail that a tail check found and claimed as a gap \
         (one per REST page of up to 1,000 trades).",
    )
    .sample(&[], total.tail_gaps);
    family(
        out,
        "klagg_tail_trades_filled_total",
        Kind::Counter,
        "Trades of tail gaps merged into the klines.",
    )
    .sample(&[], total.tail_trades_filled);
    family(
        out,
        "klagg_gaps_pending",
        Kind::Gauge,
        "Symbols waiting for the missing trades of a gap (their klines are held meanwhile).",
    )
    .sample(&[], total.gaps_pending);
    family(
        out,
        "klagg_warm_starts_pending",
        Kind::Gauge,
        "Symbols waiting for their open klines to be rebuilt from REST.",
    )
    .sample(&[], total.warm_pending);
    family(
        out,
        "klagg_warm_starts_total",
        Kind::Counter,
        "Warm starts, by outcome: open klines rebuilt exactly, or given up (live trades only).",
    )
    .sample(&[("outcome", "done")], total.warm_starts)
    .sample(&[("outcome", "failed")], total.warm_starts_failed);
    family(
        out,
        "klagg_gap_corrections_total",
        Kind::Counter,
        "Closed klines emitted again after a gap's missing trades were merged.",
    )
    .sample(&[], total.gap_corrections);
    family(
        out,
        "klagg_klines_closed_total",
        Kind::Counter,
        "Klines closed, empty ones included.",
    )
    .sample(
        &[("kind", "traded")],
        total.klines_closed - total.empty_klines,
    )
    .sample(&[("kind", "empty")], total.empty_klines);
    family(
        out,
        "klagg_consumer_missed_klines_total",
        Kind::Counter,
        "Closed klines consumers lost to the backlog bound.",
    )
    .sample(&[], total.closed_missed);
    family(
        out,
        "klagg_replies_undelivered_total",
        Kind::Counter,
        "Pull answers not delivered (owed to the next pull).",
    )
    .sample(&[], total.replies_undelivered);
}

/// Appends the SQLite sink's metrics to `out`.
pub fn render_sink(out: &mut String, sink: &SinkStats) {
    family(
        out,
        "klagg_sqlite_batches_total",
        Kind::Counter,
        "Transactions written to the kline database.",
    )
    .sample(&[], sink.batches());
    family(
        out,
        "klagg_sqlite_klines_written_total",
        Kind::Counter,
        "Klines written to the kline database.",
    )
    .sample(&[], sink.klines_written());
    family(
        out,
        "klagg_sqlite_unwritten_klines",
        Kind::Gauge,
        "Closed klines waiting to be written (held while the database fails).",
    )
    .sample(&[], sink.unwritten_backlog());
    family(
        out,
        "klagg_sqlite_errors_total",
        Kind::Counter,
        "Failed database writes (retried).",
    )
    .sample(&[], sink.errors());
    if let Some(lag) = sink.lag_ms() {
        family(
            out,
            "klagg_sqlite_lag_milliseconds",
            Kind::Gauge,
            "Now minus the end of the newest kline written.",
        )
        .sample(&[], lag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn engine_counters_become_labelled_samples() {
        let io = Arc::new(IoStats::default());
        io.frames.store(10, Relaxed);
        io.bad_by_reason[2].store(4, Relaxed);
        io.disconnects_stale.store(1, Relaxed);
        let shard = ShardStats {
            trades: 7,
            duplicates: 2,
            klines_closed: 5,
            empty_klines: 1,
            ..ShardStats::default()
        };
        let mut out = String::new();
        render(&mut out, &[io], &[shard, shard]);
        for line in [
            "klagg_frames_total{connection=\"0\"} 10",
            "klagg_bad_frames_total{connection=\"0\",reason=\"bad_number\"} 4",
            "klagg_disconnects_total{connection=\"0\",cause=\"stale\"} 1",
            "klagg_trades_total{outcome=\"applied\"} 14",
            "klagg_trades_total{outcome=\"duplicate\"} 4",
            "klagg_klines_closed_total{kind=\"traded\"} 8",
            "klagg_klines_closed_total{kind=\"empty\"} 2",
            "# TYPE klagg_gaps_total counter",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }

    #[test]
    fn sink_counters_are_exported() {
        let sink = SinkStats::default();
        sink.record_batch(3, 1, Some(1_000));
        sink.set_backlog(7);
        let mut out = String::new();
        render_sink(&mut out, &sink);
        for line in [
            "klagg_sqlite_batches_total 1",
            "klagg_sqlite_klines_written_total 3",
            "klagg_sqlite_unwritten_klines 7",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
        assert!(out.contains("# TYPE klagg_sqlite_lag_milliseconds gauge"));
    }
}
