//! The sequence of klines a shard has closed, kept until every consumer has received them.

use std::collections::VecDeque;

use super::protocol::KlineRecord;

/// Closed klines numbered by a sequence that only grows; consumers hold cursors into it.
///
/// It is bounded: when full, the oldest record is dropped and a consumer whose cursor pointed
/// at it finds out at its next pull (its cursor is below [`ClosedLog::first_seq`]).
#[derive(Debug)]
pub(crate) struct ClosedLog {
    records: VecDeque<KlineRecord>,
    first_seq: u64,
    capacity: usize,
}

impl ClosedLog {
    /// Holds at most `capacity` records; memory grows with use up to that, then is reused.
    pub(crate) fn new(capacity: usize) -> ClosedLog {
        ClosedLog {
            records: VecDeque::with_capacity(capacity.min(65_536)),
            first_seq: 0,
            capacity: capacity.max(1),
        }
    }

    /// Sequence number of the oldest record still held.
    pub(crate) fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// Sequence number the next record will get.
    pub(crate) fn end_seq(&self) -> u64 {
        self.first_seq + self.records.len() as u64
    }

    /// Appends a record, dropping the oldest when full. Returns true when one was dropped.
    pub(crate) fn push(&mut self, record: KlineRecord) -> bool {
        let dropped = self.records.len() >= self.capacity;
        if dropped {
            self.records.pop_front();
            self.first_seq += 1;
        }
        self.records.push_back(record);
        dropped
    }

    /// Copies every record from `from_seq` (at least [`ClosedLog::first_seq`]) to the end.
    pub(crate) fn copy_from(&self, from_seq: u64, out: &mut Vec<KlineRecord>) {
        let skip = from_seq.saturating_sub(self.first_seq) as usize;
        let (a, b) = self.records.as_slices();
        if skip < a.len() {
            out.extend_from_slice(&a[skip..]);
            out.extend_from_slice(b);
        } else {
            out.extend_from_slice(&b[(skip - a.len()).min(b.len())..]);
        }
    }

    /// Moves every record held into `out` (empty) and forgets them, handing the storage over
    /// instead of copying it: `out`'s buffer becomes the log's. For a consumer that is owed
    /// every record held, the only one, whose reply then carries them without a copy.
    pub(crate) fn take_all(&mut self, out: &mut Vec<KlineRecord>) {
        debug_assert!(out.is_empty());
        let spare = VecDeque::from(std::mem::take(out));
        let records = std::mem::replace(&mut self.records, spare);
        self.first_seq += records.len() as u64;
        // O(1) unless the oldest records were dropped: the buffer then starts mid-way and its
        // records are moved to its start, in place.
        *out = Vec::from(records);
    }

    /// Takes back the records [`ClosedLog::take_all`] moved into `records` (whose reply could
    /// not be delivered), before anything else was pushed; `records` is left empty.
    pub(crate) fn put_back(&mut self, records: &mut Vec<KlineRecord>) {
        debug_assert!(self.records.is_empty());
        let returned = VecDeque::from(std::mem::take(records));
        self.first_seq -= returned.len() as u64;
        let spare = std::mem::replace(&mut self.records, returned);
        *records = Vec::from(spare);
    }

    /// Forgets every record before `seq`: all consumers have received them.
    pub(crate) fn release_before(&mut self, seq: u64) {
        let n = seq
            .saturating_sub(self.first_seq)
            .min(self.records.len() as u64);
        self.records.drain(..n as usize);
        self.first_seq += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kline::Kline;

    fn record(symbol: u32) -> KlineRecord {
        KlineRecord {
            symbol,
            interval: 0,
            correction: false,
            kline: Kline::empty(0, 1, 1),
        }
    }

    fn symbols(log: &ClosedLog, from: u64) -> Vec<u32> {
        let mut out = Vec::new();
        log.copy_from(from, &mut out);
        out.iter().map(|r| r.symbol).collect()
    }

    #[test]
    fn drops_oldest_when_full_and_keeps_numbering() {
        let mut log = ClosedLog::new(3);
        for s in 0..5 {
            log.push(record(s));
        }
        assert_eq!((log.first_seq(), log.end_seq()), (2, 5));
        assert_eq!(symbols(&log, 2), vec![2, 3, 4]);
        assert_eq!(symbols(&log, 4), vec![4]);
        assert_eq!(symbols(&log, 5), Vec::<u32>::new());
    }

    #[test]
    fn take_all_hands_the_records_over_and_put_back_restores_them() {
        let mut log = ClosedLog::new(3);
        for s in 0..5 {
            log.push(record(s));
        }
        let mut out = Vec::with_capacity(8);
        log.take_all(&mut out);
        assert_eq!(
            out.iter().map(|r| r.symbol).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        assert_eq!((log.first_seq(), log.end_seq()), (5, 5));
        log.put_back(&mut out);
        assert!(out.is_empty());
        assert_eq!(symbols(&log, 2), vec![2, 3, 4]);
        log.take_all(&mut out);
        out.clear();
        log.push(record(9));
        assert_eq!((log.first_seq(), log.end_seq()), (5, 6));
        assert_eq!(symbols(&log, 5), vec![9]);
    }

    #[test]
    fn release_forgets_only_delivered_records() {
        let mut log = ClosedLog::new(10);
        for s in 0..4 {
            log.push(record(s));
        }
        log.release_before(3);
        assert_eq!(log.first_seq(), 3);
        assert_eq!(symbols(&log, 3), vec![3]);
        log.release_before(100);
        assert_eq!((log.first_seq(), log.end_seq()), (4, 4));
    }
}
