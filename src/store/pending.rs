//! What the sink has pulled but not yet committed.

use std::collections::{HashMap, VecDeque};

use super::names::SymbolNames;
use crate::aggregator::{Delta, KlineRecord};
use crate::interval::Interval;
use crate::kline::Kline;

/// The sink's backlog: every closed kline not yet committed, in the order pulled, and the
/// newest state of each open kline not yet written.
///
/// Closed klines are never dropped here (the sink stops pulling instead, so the engine's own
/// bound applies). Open klines are only the latest state per slot: older states are useless.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    closed: VecDeque<KlineRecord>,
    open: HashMap<(u32, u16), Kline>,
    /// False when open klines are not stored at all: then they are not even kept.
    keep_open: bool,
}

/// One batch ready to write, and what committing it will take off the backlog.
#[derive(Debug)]
pub(crate) struct Batch<'n> {
    /// Rows in write order: open snapshots first, so that a closed kline of the same period
    /// in the same transaction has the last word.
    pub(crate) rows: Vec<(&'n str, Interval, Kline)>,
    /// Closed records taken from the front of the backlog (written or dropped).
    pub(crate) closed_taken: usize,
    /// Closed klines among `rows`.
    pub(crate) closed_rows: usize,
    /// Open snapshots among `rows`; all pending ones were taken when `with_open` was asked.
    pub(crate) open_rows: usize,
    /// Whether the open snapshots were included (and are cleared on commit).
    pub(crate) with_open: bool,
    /// Records whose symbol or interval index has no name: they can never be written.
    pub(crate) dropped: usize,
    /// Latest close time among the closed rows.
    pub(crate) newest_close: Option<i64>,
}

impl Pending {
    /// An empty backlog; open klines are kept only with `keep_open`.
    pub(crate) fn new(keep_open: bool) -> Pending {
        Pending {
            keep_open,
            ..Pending::default()
        }
    }

    /// Adds a pulled delta. A closed kline makes any pending open state of the same slot and
    /// an earlier or equal period obsolete: the closed version must win.
    pub(crate) fn absorb(&mut self, delta: &Delta) {
        for record in &delta.closed {
            let slot = (record.symbol, record.interval);
            if self
                .open
                .get(&slot)
                .is_some_and(|open| open.open_time <= record.kline.open_time)
            {
                self.open.remove(&slot);
            }
            self.closed.push_back(*record);
        }
        let open = if self.keep_open { &delta.open[..] } else { &[] };
        for record in open {
            self.open
                .insert((record.symbol, record.interval), record.kline);
        }
    }

    /// Closed klines waiting to be committed.
    pub(crate) fn closed_len(&self) -> usize {
        self.closed.len()
    }

    /// True when some open kline changed since the last write of open snapshots.
    pub(crate) fn has_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// The next batch: every open snapshot when `with_open`, then up to `max_closed` closed
    /// klines from the front of the backlog. Names are refreshed through `names` first.
    pub(crate) fn batch<'n>(
        &self,
        names: &'n mut SymbolNames,
        intervals: &[Interval],
        max_closed: usize,
        with_open: bool,
    ) -> Batch<'n> {
        let closed_taken = self.closed.len().min(max_closed);
        let closed = self.closed.iter().take(closed_taken);
        let open = self.open.iter().filter(|_| with_open);
        let max_symbol = closed
            .clone()
            .map(|r| r.symbol)
            .chain(open.clone().map(|(&(symbol, _), _)| symbol))
            .max();
        if let Some(max_symbol) = max_symbol {
            names.refresh_for(max_symbol);
        }
        let names: &'n SymbolNames = names;
        let resolve = |symbol: u32, interval: u16, kline: Kline| {
            let name = names.get(symbol)?;
            let interval = *intervals.get(usize::from(interval))?;
            Some((name, interval, kline))
        };

        let mut rows =
            Vec::with_capacity(closed_taken + if with_open { self.open.len() } else { 0 });
        let mut dropped = 0;
        for (&(symbol, interval), &kline) in open {
            match resolve(symbol, interval, kline) {
                Some(row) => rows.push(row),
                None => dropped += 1,
            }
        }
        let open_rows = rows.len();
        let mut newest_close: Option<i64> = None;
        for r in closed {
            match resolve(r.symbol, r.interval, r.kline) {
                Some(row) => {
                    newest_close = newest_close.max(Some(r.kline.close_time));
                    rows.push(row);
                }
                None => dropped += 1,
            }
        }
        let closed_rows = rows.len() - open_rows;
        Batch {
            rows,
            closed_taken,
            closed_rows,
            open_rows,
            with_open,
            dropped,
            newest_close,
        }
    }

    /// Takes a committed batch off the backlog.
    pub(crate) fn commit(&mut self, closed_taken: usize, with_open: bool) {
        self.closed.drain(..closed_taken.min(self.closed.len()));
        if with_open {
            self.open.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, RwLock};

    use super::*;

    fn record(symbol: u32, interval: u16, open_time: i64) -> KlineRecord {
        KlineRecord {
            symbol,
            interval,
            correction: false,
            kline: Kline::empty(open_time, open_time + 59_999, 100),
        }
    }

    #[test]
    fn closed_kline_supersedes_pending_open_state_of_its_period() {
        let mut p = Pending::new(true);
        let mut delta = Delta::default();
        delta.open.push(record(0, 0, 60_000));
        p.absorb(&delta);
        assert!(p.has_open());
        let mut delta = Delta::default();
        delta.closed.push(record(0, 0, 60_000));
        p.absorb(&delta);
        assert!(!p.has_open());
        assert_eq!(p.closed_len(), 1);
    }

    #[test]
    fn open_klines_are_ignored_unless_kept() {
        let mut p = Pending::new(false);
        let mut delta = Delta::default();
        delta.open.push(record(0, 0, 60_000));
        p.absorb(&delta);
        assert!(!p.has_open());
    }

    #[test]
    fn batch_orders_open_first_and_drops_unnamed() {
        let mut p = Pending::new(true);
        let mut delta = Delta::default();
        delta
            .closed
            .extend([record(0, 0, 0), record(5, 0, 0), record(1, 0, 60_000)]);
        delta.open.push(record(1, 0, 120_000));
        p.absorb(&delta);
        let shared = Arc::new(RwLock::new(vec!["AAA".to_owned(), "BBB".to_owned()]));
        let mut names = SymbolNames::new(shared);
        let intervals = [Interval::parse("1m").unwrap()];
        let b = p.batch(&mut names, &intervals, 10, true);
        let keys: Vec<(&str, i64)> = b.rows.iter().map(|(s, _, k)| (*s, k.open_time)).collect();
        assert_eq!(keys, [("BBB", 120_000), ("AAA", 0), ("BBB", 60_000)]);
        assert_eq!((b.closed_taken, b.closed_rows, b.open_rows), (3, 2, 1));
        assert_eq!(b.dropped, 1);
        assert_eq!(b.newest_close, Some(119_999));
        p.commit(b.closed_taken, b.with_open);
        assert_eq!(p.closed_len(), 0);
        assert!(!p.has_open());
    }
}
