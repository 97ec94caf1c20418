//! Progress lines on stderr for long replays: about once a second, and never for runs that
//! finish within the first second.

use std::time::{Duration, Instant};

/// Rows between clock reads: reading the clock per row would cost more than parsing it.
const CHECK_EVERY_ROWS: u64 = 1 << 16;

/// Time between two progress lines.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// Throttled progress reporting for one replay.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    start: Instant,
    last_report: Instant,
}

impl Progress {
    /// Starts the clock; `enabled == false` keeps it silent (tests, quiet runs).
    pub fn new(enabled: bool) -> Progress {
        let now = Instant::now();
        Progress {
            enabled,
            start: now,
            last_report: now,
        }
    }

    /// Time since the replay started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Called for every row read: reports `rows` of `input` and the overall trade rate when a
    /// second has passed since the last report.
    #[inline]
    pub fn row(&mut self, input: &str, rows: u64, trades: u64) {
        if self.enabled && rows.is_multiple_of(CHECK_EVERY_ROWS) {
            self.report(input, rows, trades);
        }
    }

    #[cold]
    fn report(&mut self, input: &str, rows: u64, trades: u64) {
        let now = Instant::now();
        if now.duration_since(self.last_report) < REPORT_EVERY {
            return;
        }
        self.last_report = now;
        let elapsed = now.duration_since(self.start);
        eprintln!(
            "replay: {input}: {rows} rows read, {} trades/s",
            per_second(trades, elapsed)
        );
    }
}

/// `count / elapsed`, rounded down, in integer arithmetic; a zero duration counts as 1 µs.
pub fn per_second(count: u64, elapsed: Duration) -> u64 {
    let micros = elapsed.as_micros().max(1);
    u64::try_from(u128::from(count) * 1_000_000 / micros).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_per_second() {
        assert_eq!(per_second(3_000, Duration::from_millis(1_500)), 2_000);
        assert_eq!(per_second(5, Duration::ZERO), 5_000_000);
    }

    #[test]
    fn nothing_is_reported_within_the_first_second() {
        let mut p = Progress::new(true);
        let before = p.last_report;
        p.row("x", CHECK_EVERY_ROWS, 1);
        assert_eq!(p.last_report, before);
    }
}
