//! Tail checks, the schedule: which symbol's tail is checked next, and when. A reconnect
//! queues every symbol its connection carries a moment later ([`RECONNECT_DELAY_MS`]), once a
//! symbol that trades on has shown any gap by itself; a slow sweep queues every symbol once per
//! period, spread evenly over it, for losses no reconnect announced (a connection that stayed
//! up but lost frames, a drop the engine did not see as one). A symbol is queued at most once.

use std::time::Duration;

/// How long after a reconnect its symbols' tails are checked.
pub const RECONNECT_DELAY_MS: i64 = 2_500;

/// Looks at one symbol for one reason at most this often (it may have traded just now, or
/// have a gap under way, each time).
pub const MAX_TRIES: u32 = 4;

/// A queued check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// Engine-wide symbol index.
    pub symbol: u32,
    /// Not before this time (ms since the epoch).
    pub at_ms: i64,
    /// Looks taken already.
    pub tries: u32,
}

/// The queued checks and the sweep's place.
#[derive(Debug)]
pub struct TailQueue {
    entries: Vec<Due>,
    sweep_every_ms: Option<i64>,
    next_sweep_ms: Option<i64>,
    cursor: u32,
}

impl TailQueue {
    /// A queue whose sweep checks every symbol once per `sweep_every` (`None`: no sweep).
    pub fn new(sweep_every: Option<Duration>) -> TailQueue {
        TailQueue {
            entries: Vec::new(),
            sweep_every_ms: sweep_every
                .filter(|every| !every.is_zero())
                .map(|every| i64::try_from(every.as_millis()).unwrap_or(i64::MAX)),
            next_sweep_ms: None,
            cursor: 0,
        }
    }

    /// Queues a check of `symbol` at `at_ms`. A symbol queued already keeps its one entry, at
    /// the earlier time: a check finds every loss made before it, whatever asked for it, and
    /// a connection that keeps dropping must not put its symbols' checks off for ever.
    pub fn push(&mut self, symbol: u32, at_ms: i64, tries: u32) {
        match self.entries.iter_mut().find(|due| due.symbol == symbol) {
            Some(due) => {
                due.at_ms = due.at_ms.min(at_ms);
                due.tries = due.tries.min(tries);
            }
            None => self.entries.push(Due {
                symbol,
                at_ms,
                tries,
            }),
        }
    }

    /// Queues the sweep's next symbol of `n_symbols` when its turn has come: one every
    /// `sweep_every / n_symbols`, the first that long after the first call.
    pub fn sweep(&mut self, n_symbols: u32, now_ms: i64) {
        let (Some(every), true) = (self.sweep_every_ms, n_symbols > 0) else {
            return;
        };
        let spacing = (every / i64::from(n_symbols)).max(1);
        let next = *self.next_sweep_ms.get_or_insert(now_ms + spacing);
        if now_ms < next {
            return;
        }
        self.cursor %= n_symbols;
        self.push(self.cursor, now_ms, 0);
        self.cursor += 1;
        // From now, not from when it was due: a backfill busy for a while does not burst.
        self.next_sweep_ms = Some(now_ms + spacing);
    }

    /// Takes the queued check due earliest, if one is due at `now_ms`.
    pub fn pop_due(&mut self, now_ms: i64) -> Option<Due> {
        let index = (0..self.entries.len())
            .filter(|&i| self.entries[i].at_ms <= now_ms)
            .min_by_key(|&i| self.entries[i].at_ms)?;
        Some(self.entries.swap_remove(index))
    }

    /// True if a check is due at `now_ms`.
    pub fn any_due(&self, now_ms: i64) -> bool {
        self.entries.iter().any(|due| due.at_ms <= now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_come_due_earliest_first_once_per_symbol() {
        let mut queue = TailQueue::new(None);
        queue.push(7, 1_000, 0);
        queue.push(3, 500, 0);
        queue.push(7, 2_000, 2);
        queue.push(3, 400, 1);
        assert!(!queue.any_due(399));
        assert_eq!(queue.pop_due(399), None);
        assert_eq!(
            queue.pop_due(5_000),
            Some(Due {
                symbol: 3,
                at_ms: 400,
                tries: 0
            })
        );
        assert_eq!(
            queue.pop_due(5_000),
            Some(Due {
                symbol: 7,
                at_ms: 1_000,
                tries: 0
            })
        );
        assert!(!queue.any_due(i64::MAX), "each symbol was queued once");
    }

    #[test]
    fn the_sweep_spreads_every_symbol_over_its_period() {
        let mut queue = TailQueue::new(Some(Duration::from_secs(10)));
        let mut checked = Vec::new();
        // Four symbols over 10 s: one every 2.5 s, the first 2.5 s after the start.
        for now in (0..=20_000).step_by(100) {
            queue.sweep(4, now);
            while let Some(due) = queue.pop_due(now) {
                checked.push((due.symbol, now));
            }
        }
        assert_eq!(
            checked,
            [
                (0, 2_500),
                (1, 5_000),
                (2, 7_500),
                (3, 10_000),
                (0, 12_500),
                (1, 15_000),
                (2, 17_500),
                (3, 20_000)
            ]
        );
        let mut off = TailQueue::new(Some(Duration::ZERO));
        off.sweep(4, 0);
        off.sweep(4, 1_000_000);
        assert!(!off.any_due(i64::MAX));
    }
}
