//! The symbols in the order the clock comes to close one of their periods, so that a tick
//! looks only at the symbols that are due instead of at every symbol and interval.
//!
//! Each symbol is queued at most once under the time it was last scheduled for. Trades only
//! move a symbol's due time later; its entry then comes up early, and the tick finds nothing
//! to close and queues it again at its real time. Only an earlier time (a symbol's first
//! trade, a rebuild) adds an entry; the one it replaces is skipped when it comes up.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// `queued` of a symbol with no entry.
const NOT_QUEUED: i64 = i64::MAX;

/// Symbols keyed by due time, earliest first.
#[derive(Debug)]
pub(crate) struct DueQueue {
    heap: BinaryHeap<Reverse<(i64, u32)>>,
    /// Per symbol, the due time of its live entry.
    queued: Vec<i64>,
}

impl DueQueue {
    /// An empty queue for `n_symbols` symbols, with room for an entry each and as many
    /// replaced ones.
    pub(crate) fn new(n_symbols: usize) -> DueQueue {
        DueQueue {
            heap: BinaryHeap::with_capacity(2 * n_symbols),
            queued: vec![NOT_QUEUED; n_symbols],
        }
    }

    /// Makes sure `symbol` comes up by `due`.
    #[inline]
    pub(crate) fn schedule(&mut self, symbol: usize, due: i64) {
        if due < self.queued[symbol] {
            self.queued[symbol] = due;
            self.heap.push(Reverse((due, symbol as u32)));
        }
    }

    /// The next symbol due by `now`, taken off the queue.
    #[inline]
    pub(crate) fn pop_due(&mut self, now: i64) -> Option<usize> {
        while let Some(&Reverse((due, symbol))) = self.heap.peek() {
            if due > now {
                return None;
            }
            self.heap.pop();
            let symbol = symbol as usize;
            if self.queued[symbol] == due {
                self.queued[symbol] = NOT_QUEUED;
                return Some(symbol);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_come_up_once_in_due_order() {
        let mut queue = DueQueue::new(4);
        queue.schedule(2, 300);
        queue.schedule(0, 100);
        queue.schedule(1, 200);
        queue.schedule(1, 250);
        assert_eq!(queue.pop_due(99), None);
        assert_eq!(queue.pop_due(1_000), Some(0));
        assert_eq!(queue.pop_due(1_000), Some(1));
        assert_eq!(queue.pop_due(1_000), Some(2));
        assert_eq!(queue.pop_due(1_000), None);
    }

    #[test]
    fn an_earlier_time_replaces_the_entry() {
        let mut queue = DueQueue::new(1);
        queue.schedule(0, 500);
        queue.schedule(0, 100);
        assert_eq!(queue.pop_due(100), Some(0));
        assert_eq!(queue.pop_due(1_000), None, "the replaced entry is skipped");
        queue.schedule(0, 700);
        assert_eq!(queue.pop_due(700), Some(0));
    }
}
