//! Latency histograms as Prometheus summaries: one per span of a trade's path, in seconds.

use super::prometheus::{Kind, family};
use crate::latency::{Latencies, Span};

/// The spans exported, with their help lines.
const EXPORTED: [(Span, &str); 5] = [
    (
        Span::ExchangeToFrame,
        "Exchange event time (E, ms resolution) to frame read, on the wall clock.",
    ),
    (
        Span::FrameToPush,
        "Frame read to trade pushed into its shard's ring.",
    ),
    (
        Span::PushToKline,
        "Trade pushed to kline updated by its shard.",
    ),
    (
        Span::KlineToConsumer,
        "Kline updated to delivered to a consumer.",
    ),
    (
        Span::FrameToKline,
        "Frame read to kline updated: socket to kline.",
    ),
];

/// Appends one summary per span (quantiles 0.5 to 0.9999, sum and count, since start) to `out`.
/// Only sampled trades are measured (`[latency] sample_every`).
pub fn render_latencies(out: &mut String, latencies: &Latencies) {
    for (span, help) in EXPORTED {
        let name = format!("klagg_latency_{}_seconds", span.name());
        let s = latencies.summary(span);
        let mut f = family(out, &name, Kind::Summary, help);
        for (q, ns) in [
            ("0.5", s.p50),
            ("0.9", s.p90),
            ("0.99", s.p99),
            ("0.999", s.p999),
            ("0.9999", s.p9999),
        ] {
            f.sample(&[("quantile", q)], seconds(ns));
        }
        f.suffixed("_sum", seconds(s.sum));
        f.suffixed("_count", s.count);
    }
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::{Stage, Stamp};

    #[test]
    fn spans_become_summaries_in_seconds() {
        let mut l = Latencies::new(&[Stage::FrameRead, Stage::Pushed]);
        for (stage, at_ns) in [(Stage::FrameRead, 1_000), (Stage::Pushed, 3_000)] {
            l.add(&Stamp {
                stage,
                symbol: 0,
                trade_id: 5,
                at_ns,
                event_ms: 0,
            });
        }
        let mut out = String::new();
        render_latencies(&mut out, &l);
        assert!(out.contains("# TYPE klagg_latency_frame_to_push_seconds summary\n"));
        assert!(out.contains("klagg_latency_frame_to_push_seconds{quantile=\"0.99\"} 0.000002"));
        assert!(out.contains("klagg_latency_frame_to_push_seconds_count 1\n"));
        assert!(out.contains("klagg_latency_push_to_kline_seconds_count 0\n"));
    }
}
