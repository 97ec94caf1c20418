//! Counting and rate-limited logging of frames the io thread cannot use.
//!
//! A misbehaving peer can send thousands of bad frames a second; each must be counted (so
//! metrics show it) but logging each would flood the log and cost more than the parse. So every
//! reason logs at most once per interval (one second by default), with a truncated copy of the
//! offending payload and how many more were suppressed since. The clock is a parameter so tests
//! drive it by hand and the io thread reuses the `Instant` it already took for the frame.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

/// How many payload bytes a log line shows.
pub const PREVIEW_BYTES: usize = 200;

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BadInputReason {
    /// Not JSON, or JSON of a shape no stream sends.
    BrokenJson,
    /// An event without a field it must have.
    MissingField,
    /// A price or quantity that is not an exact decimal within range.
    BadNumber,
    /// A trade of a symbol not in the symbol table.
    UnknownSymbol,
    /// A binary WebSocket frame (Binance market streams send text only).
    BinaryFrame,
    /// Bytes that are not UTF-8.
    NonUtf8,
    /// A frame longer than the configured maximum.
    Oversized,
    /// Well-formed, but an event of a kind the frame's stream should not carry (e.g. a
    /// non-miniTicker element in a miniTicker array).
    UnexpectedEvent,
}

impl BadInputReason {
    /// Every reason, in counter order.
    pub const ALL: [BadInputReason; 8] = [
        BadInputReason::BrokenJson,
        BadInputReason::MissingField,
        BadInputReason::BadNumber,
        BadInputReason::UnknownSymbol,
        BadInputReason::BinaryFrame,
        BadInputReason::NonUtf8,
        BadInputReason::Oversized,
        BadInputReason::UnexpectedEvent,
    ];

    /// A stable snake_case name, for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            BadInputReason::BrokenJson => "broken_json",
            BadInputReason::MissingField => "missing_field",
            BadInputReason::BadNumber => "bad_number",
            BadInputReason::UnknownSymbol => "unknown_symbol",
            BadInputReason::BinaryFrame => "binary_frame",
            BadInputReason::NonUtf8 => "non_utf8",
            BadInputReason::Oversized => "oversized",
            BadInputReason::UnexpectedEvent => "unexpected_event",
        }
    }

    /// Position in [`BadInputReason::ALL`]; the enum is fieldless so this is its discriminant.
    fn slot(self) -> usize {
        self as usize
    }
}

impl fmt::Display for BadInputReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-reason counts and log throttling, owned by one io thread.
#[derive(Debug, Clone)]
pub struct BadInputCounters {
    counts: [u64; BadInputReason::ALL.len()],
    /// Frames counted but not logged since the last log line of that reason.
    suppressed: [u64; BadInputReason::ALL.len()],
    last_logged: [Option<Instant>; BadInputReason::ALL.len()],
    log_interval: Duration,
    /// Shown in log lines so operators can tell connections apart.
    label: Cow<'static, str>,
}

impl Default for BadInputCounters {
    fn default() -> Self {
        Self::new()
    }
}

impl BadInputCounters {
    /// Zero counts, logging each reason at most once per second.
    pub fn new() -> Self {
        Self::with_log_interval(Duration::from_secs(1))
    }

    /// Zero counts, logging each reason at most once per `log_interval`.
    pub fn with_log_interval(log_interval: Duration) -> Self {
        BadInputCounters {
            counts: [0; BadInputReason::ALL.len()],
            suppressed: [0; BadInputReason::ALL.len()],
            last_logged: [None; BadInputReason::ALL.len()],
            log_interval,
            label: Cow::Borrowed("ingress"),
        }
    }

    /// Names the owner (e.g. `io-0`) in log lines.
    pub fn set_label(&mut self, label: impl Into<Cow<'static, str>>) {
        self.label = label.into();
    }

    /// Counts one bad frame and logs it unless this reason was logged less than the log
    /// interval before `now`. Returns whether it logged.
    pub fn record(&mut self, reason: BadInputReason, payload: &[u8], now: Instant) -> bool {
        let at = reason.slot();
        self.counts[at] += 1;
        let due = match self.last_logged[at] {
            None => true,
            Some(last) => now.saturating_duration_since(last) >= self.log_interval,
        };
        if !due {
            self.suppressed[at] += 1;
            return false;
        }
        self.log(reason, payload);
        self.last_logged[at] = Some(now);
        self.suppressed[at] = 0;
        true
    }

    /// How many frames were dropped for `reason`.
    pub fn count(&self, reason: BadInputReason) -> u64 {
        self.counts[reason.slot()]
    }

    /// How many frames were dropped for any reason.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Every reason with its count, in [`BadInputReason::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (BadInputReason, u64)> + '_ {
        BadInputReason::ALL.iter().map(|&r| (r, self.count(r)))
    }

    /// Kept out of line: the formatting is the only costly part and runs at most once a
    /// second per reason.
    #[cold]
    #[inline(never)]
    fn log(&self, reason: BadInputReason, payload: &[u8]) {
        let at = reason.slot();
        log::warn!(
            "{}: dropped a frame ({reason}; {} so far, {} not logged since the last report): {}",
            self.label,
            self.counts[at],
            self.suppressed[at],
            preview(payload),
        );
    }
}

/// The first [`PREVIEW_BYTES`] of `payload` as text (invalid UTF-8 replaced), with the full
/// length noted when cut.
pub fn preview(payload: &[u8]) -> String {
    let shown = &payload[..payload.len().min(PREVIEW_BYTES)];
    let text = String::from_utf8_lossy(shown);
    if shown.len() < payload.len() {
        format!("{text}... ({} bytes)", payload.len())
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_frame_but_logs_once_per_interval_per_reason() {
        let mut c = BadInputCounters::new();
        let t0 = Instant::now();
        assert!(c.record(BadInputReason::BrokenJson, b"x", t0));
        assert!(!c.record(BadInputReason::BrokenJson, b"x", t0));
        assert!(!c.record(
            BadInputReason::BrokenJson,
            b"x",
            t0 + Duration::from_millis(999)
        ));
        assert!(
            c.record(BadInputReason::UnknownSymbol, b"y", t0),
            "own limit"
        );
        assert_eq!(c.suppressed[BadInputReason::BrokenJson.slot()], 2);
        assert!(c.record(
            BadInputReason::BrokenJson,
            b"x",
            t0 + Duration::from_secs(1)
        ));
        assert_eq!(c.suppressed[BadInputReason::BrokenJson.slot()], 0);
        assert_eq!(c.count(BadInputReason::BrokenJson), 4);
        assert_eq!(c.count(BadInputReason::UnknownSymbol), 1);
        assert_eq!(c.count(BadInputReason::Oversized), 0);
        assert_eq!(c.total(), 5);
        assert_eq!(c.iter().count(), BadInputReason::ALL.len());
    }

    #[test]
    fn a_clock_going_backwards_does_not_unthrottle() {
        let mut c = BadInputCounters::new();
        let t0 = Instant::now() + Duration::from_secs(10);
        assert!(c.record(BadInputReason::NonUtf8, b"", t0));
        assert!(!c.record(BadInputReason::NonUtf8, b"", t0 - Duration::from_secs(5)));
    }

    #[test]
    fn preview_truncates_and_replaces_invalid_utf8() {
        assert_eq!(preview(b"ab\xffc"), "ab\u{fffd}c");
        let long = vec![b'a'; 500];
        let p = preview(&long);
        assert!(p.starts_with(&"a".repeat(PREVIEW_BYTES)));
        assert!(p.ends_with("... (500 bytes)"));
        // A cut through a multi-byte character is replaced, not a panic.
        let mut split = vec![b'a'; PREVIEW_BYTES - 1];
        split.extend_from_slice("é".as_bytes());
        assert!(preview(&split).contains('\u{fffd}'));
    }

    #[test]
    fn slots_match_the_all_order() {
        for (i, r) in BadInputReason::ALL.iter().enumerate() {
            assert_eq!(r.slot(), i);
        }
    }
}
