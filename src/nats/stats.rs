//! The publisher's counters, shared with `/metrics` and the status line.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// What the NATS publisher did so far; every field only grows but `pending` and `connected`.
#[derive(Debug, Default)]
pub struct NatsStats {
    /// Open-kline events published on core NATS.
    pub open_published: AtomicU64,
    /// Open-kline updates not published because the server was away (the next change of that
    /// kline, or its close, is published).
    pub open_dropped: AtomicU64,
    /// Closed klines JetStream acknowledged.
    pub closed_acked: AtomicU64,
    /// Of those, how many JetStream found already stored (another host or an earlier try).
    pub closed_duplicates: AtomicU64,
    /// Publish attempts of closed klines that failed and were retried.
    pub closed_retries: AtomicU64,
    /// Closed klines pulled and not yet acknowledged.
    pub pending: AtomicU64,
    /// Closed klines the engine dropped for this consumer (it fell past the backlog bound).
    pub missed: AtomicU64,
    /// Closed klines still unacknowledged when the publisher stopped.
    pub lost_at_stop: AtomicU64,
    /// True while connected to a server.
    pub connected: AtomicBool,
}

impl NatsStats {
    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// The counters as `klagg_nats_*` Prometheus lines.
    pub fn render(&self, out: &mut String) {
        let line = |out: &mut String, name: &str, help: &str, kind: &str, value: u64| {
            out.push_str(&format!(
                "# HELP klagg_nats_{name} {help}\n# TYPE klagg_nats_{name} {kind}\nklagg_nats_{name} {value}\n"
            ));
        };
        let get = |c: &AtomicU64| c.load(Relaxed);
        line(
            out,
            "open_published_total",
            "Open-kline events published on core NATS.",
            "counter",
            get(&self.open_published),
        );
        line(
            out,
            "open_dropped_total",
            "Open-kline updates skipped while the server was away.",
            "counter",
            get(&self.open_dropped),
        );
        line(
            out,
            "closed_acked_total",
            "Closed klines acknowledged by JetStream.",
            "counter",
            get(&self.closed_acked),
        );
        line(
            out,
            "closed_duplicates_total",
            "Closed klines JetStream had already stored.",
            "counter",
            get(&self.closed_duplicates),
        );
        line(
            out,
            "closed_retries_total",
            "Closed-kline publishes that failed and were retried.",
            "counter",
            get(&self.closed_retries),
        );
        line(
            out,
            "closed_pending",
            "Closed klines pulled and not yet acknowledged.",
            "gauge",
            get(&self.pending),
        );
        line(
            out,
            "closed_missed_total",
            "Closed klines the engine dropped for the publisher.",
            "counter",
            get(&self.missed),
        );
        line(
            out,
            "connected",
            "1 while connected to a NATS server.",
            "gauge",
            u64::from(self.connected.load(Relaxed)),
        );
    }
}
