//! One connection's writer: fill a batch, write it whole, repeat, paced by the socket.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rustix::time::{ClockId, clock_gettime};

use super::frames::FrameBatch;
use super::market::BlastMarket;
use super::record::Segment;
use crate::latency::monotonic_ns;
use crate::pipeline::now_ms;

/// What a writer measured of itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Frames sent whole.
    pub frames: u64,
    /// `CLOCK_MONOTONIC` ns when the first write began (0: nothing written).
    pub first_write_ns: u64,
    /// `CLOCK_MONOTONIC` ns when the last write returned.
    pub last_write_ns: u64,
    /// CPU time the writing thread used while writing, ns.
    pub cpu_ns: u64,
}

/// Takes up to `want` trades from the run's budget; 0 when it is spent.
fn claim(budget: &AtomicU64, want: u64) -> u64 {
    let mut left = budget.load(Ordering::Acquire);
    loop {
        let take = left.min(want);
        if take == 0 {
            return 0;
        }
        match budget.compare_exchange_weak(left, left - take, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return take,
            Err(now) => left = now,
        }
    }
}

fn thread_cpu_ns() -> u64 {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

/// Writes `batch` after batch of the connection's symbols to `out` until `stop`, the budget
/// is spent or a write fails. `next_ids` holds each position's next agg id and is advanced by
/// the trades sent whole; trades claimed but not sent go back to `budget`.
pub fn write_trades(
    out: &mut impl Write,
    market: &BlastMarket,
    batch: &mut FrameBatch,
    next_ids: &mut [i64],
    budget: &AtomicU64,
    stop: &AtomicBool,
) -> (Segment, WriterStats) {
    let positions = batch.positions();
    let slots = batch.slots();
    let mut segment = Segment {
        symbols: (0..positions).map(|p| batch.symbol(p)).collect(),
        first_ids: next_ids.to_vec(),
        per_symbol: (slots / positions.max(1)) as u64,
        frames: 0,
        times: Vec::with_capacity(4096),
    };
    let mut stats = WriterStats::default();
    if positions == 0 || slots == 0 {
        return (segment, stats);
    }
    let cpu_start = thread_cpu_ns();
    let mut last_ms = i64::MIN;
    let mut batches = 0u64;
    let mut ids = next_ids.to_vec();
    while !stop.load(Ordering::Relaxed) {
        let take = claim(budget, slots as u64) as usize;
        if take == 0 {
            break;
        }
        let now = now_ms();
        if now != last_ms {
            batch.set_time(now);
            segment.times.push((batches, now));
            last_ms = now;
        }
        let mut position = 0;
        for slot in 0..take {
            let id = ids[position];
            ids[position] = id + 1;
            batch.set_trade(
                slot,
                position,
                id,
                market.draw(segment.symbols[position], id),
            );
            position += 1;
            if position == positions {
                position = 0;
            }
        }
        if stats.first_write_ns == 0 {
            stats.first_write_ns = monotonic_ns();
        }
        let bytes = batch.bytes(take);
        let written = write_whole(out, bytes, stop);
        stats.last_write_ns = monotonic_ns();
        let whole = (written / batch.frame_len()) as u64;
        segment.frames += whole;
        batches += 1;
        if whole < take as u64 {
            budget.fetch_add(take as u64 - whole, Ordering::AcqRel);
            break;
        }
    }
    stats.cpu_ns = thread_cpu_ns().saturating_sub(cpu_start);
    stats.frames = segment.frames;
    for (position, id) in next_ids.iter_mut().enumerate() {
        *id = segment.first_ids[position] + segment.count_of(position, segment.frames) as i64;
    }
    (segment, stats)
}

/// Writes as much of `bytes` as the socket takes; returns how much that was. A write that
/// times out is tried again unless `stop` is set.
fn write_whole(out: &mut impl Write, bytes: &[u8], stop: &AtomicBool) -> usize {
    let mut written = 0;
    while written < bytes.len() {
        match out.write(&bytes[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e)
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                    && !stop.load(Ordering::Relaxed) => {}
            Err(_) => break,
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::blast::FIRST_AGG_ID;

    /// A socket that takes `room` bytes and then fails.
    struct Limited {
        taken: Vec<u8>,
        room: usize,
    }

    impl Write for Limited {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.room - self.taken.len()).min(1000);
            if n == 0 {
                return Err(std::io::Error::from(ErrorKind::BrokenPipe));
            }
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_budget_bounds_a_run_and_a_cut_frame_is_not_sent() {
        let market = BlastMarket::new(3, 1).unwrap();
        let mut batch = FrameBatch::new(&market, &[0, 2], 4);
        let mut ids = vec![FIRST_AGG_ID, FIRST_AGG_ID + 5];
        let budget = AtomicU64::new(19);
        let mut out = Limited {
            taken: Vec::new(),
            room: usize::MAX,
        };
        let stop = AtomicBool::new(false);
        let (segment, stats) =
            write_trades(&mut out, &market, &mut batch, &mut ids, &budget, &stop);
        assert_eq!(segment.frames, 19);
        assert_eq!(stats.frames, 19);
        assert_eq!(out.taken.len(), 19 * batch.frame_len());
        assert_eq!(ids, vec![FIRST_AGG_ID + 10, FIRST_AGG_ID + 5 + 9]);
        assert_eq!(budget.load(Ordering::Acquire), 0);

        let budget = AtomicU64::new(100);
        let room = 5 * batch.frame_len() + 7;
        let mut out = Limited {
            taken: Vec::new(),
            room,
        };
        let (segment, _) = write_trades(&mut out, &market, &mut batch, &mut ids, &budget, &stop);
        assert_eq!(segment.frames, 5);
        assert_eq!(
            segment.first_ids,
            vec![FIRST_AGG_ID + 10, FIRST_AGG_ID + 14]
        );
        assert_eq!(ids, vec![FIRST_AGG_ID + 13, FIRST_AGG_ID + 16]);
        assert_eq!(budget.load(Ordering::Acquire), 95, "unsent trades go back");
    }
}
