//! The status line of a running engine and the summary at its end.

use std::time::Instant;

use crate::aggregator::{Delta, ShardStats};
use crate::pipeline::{Engine, EngineReport};

/// What the engine has done so far, as seen by the status consumer.
#[derive(Debug, Clone)]
pub struct Status {
    started: Instant,
    /// Closed klines received by the status consumer (empty ones and corrections included).
    pub klines_closed: u64,
    /// Closed klines the status consumer missed by falling behind (should stay 0).
    pub klines_missed: u64,
    /// Frames, trades pushed, bad frames, reconnects and ring waits over all io threads.
    pub io: IoTotals,
    /// Sums of the shards' counters.
    pub shards: ShardStats,
    last_frames: u64,
    last_at: Instant,
    /// Frames per second over the last status interval.
    pub frames_per_s: f64,
    /// Closed klines written to the database, once the sink has finished.
    pub klines_stored: Option<u64>,
    /// Listed symbols klagg cannot follow (their names break [`crate::symbol_name`]'s rule).
    pub symbols_refused: usize,
}

/// Sums of the io threads' counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct IoTotals {
    /// Data frames received.
    pub frames: u64,
    /// Trades pushed to the shards.
    pub trades: u64,
    /// Bad frames counted (and logged, rate-limited).
    pub bad_frames: u64,
    /// Reconnects of any cause.
    pub reconnects: u64,
    /// Connect attempts that failed.
    pub connect_failures: u64,
    /// Pushes that waited for a full ring.
    pub ring_full_waits: u64,
}

impl Default for Status {
    fn default() -> Self {
        Status::new()
    }
}

impl Status {
    /// A status starting now.
    pub fn new() -> Status {
        Status {
            started: Instant::now(),
            klines_closed: 0,
            klines_missed: 0,
            io: IoTotals::default(),
            shards: ShardStats::default(),
            last_frames: 0,
            last_at: Instant::now(),
            frames_per_s: 0.0,
            klines_stored: None,
            symbols_refused: 0,
        }
    }

    /// Counts a delta pulled by the status consumer.
    pub fn absorb(&mut self, delta: &Delta) {
        self.klines_closed += delta.closed.len() as u64;
        self.klines_missed += delta.missed_closed;
    }

    /// Reads the engine's counters.
    pub fn observe(&mut self, engine: &Engine) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut io = IoTotals::default();
        for s in engine.io_stats() {
            io.frames += s.frames.load(Relaxed);
            io.trades += s.trades.load(Relaxed);
            io.bad_frames += s.bad_frames.load(Relaxed);
            io.reconnects += s.reconnects();
            io.connect_failures += s.connect_failures.load(Relaxed);
            io.ring_full_waits += s.ring_full_waits.load(Relaxed);
        }
        let now = Instant::now();
        let seconds = now.duration_since(self.last_at).as_secs_f64();
        if seconds > 0.0 {
            self.frames_per_s = io.frames.saturating_sub(self.last_frames) as f64 / seconds;
        }
        self.last_frames = io.frames;
        self.last_at = now;
        self.io = io;
        self.shards = engine.shard_stats().iter().sum();
    }

    /// Takes the shards' final counters.
    pub fn finish(&mut self, report: &EngineReport) {
        self.shards = report.shards.iter().sum();
    }

    /// One line: rate, totals, and everything dropped or repaired (refused symbols only when
    /// there are any).
    pub fn line(&self) -> String {
        format!(
            "{:>6.0}s  {:>8.0} msgs/s  trades {}  klines closed {}  dup {}  gaps {} ({} ids, {} pending, {} lost, {} at a tail)  late {}  bad frames {}  reconnects {}  failed connects {}  ring waits {}  missed {}",
            self.started.elapsed().as_secs_f64(),
            self.frames_per_s,
            self.shards.trades,
            self.klines_closed,
            self.shards.duplicates,
            self.shards.gaps,
            self.shards.missing_agg_ids,
            self.shards.gaps_pending,
            self.shards.gap_ids_unfilled,
            self.shards.tail_gaps,
            self.shards.late_dropped,
            self.io.bad_frames,
            self.io.reconnects,
            self.io.connect_failures,
            self.io.ring_full_waits,
            self.klines_missed,
        ) + &self
            .klines_stored
            .map(|n| format!("  stored {n}"))
            .unwrap_or_default()
            + &(if self.symbols_refused > 0 {
                format!("  refused symbols {}", self.symbols_refused)
            } else {
                String::new()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_symbols_show_only_when_there_are_some() {
        let mut status = Status::new();
        assert!(!status.line().contains("refused"), "{}", status.line());
        status.symbols_refused = 2;
        assert!(
            status.line().ends_with("  refused symbols 2"),
            "{}",
            status.line()
        );
    }
}
