//! What a blast run sent, in a few numbers per connection, and every trade regenerated from it.
//!
//! A connection's writer fills batches of `per_symbol × n` frames, slot `r` carrying the
//! connection's symbol at position `r % n`, ids consecutive per symbol from where the symbol
//! left off, every frame of a batch stamped with the batch's millisecond. So its trades are
//! known from its symbols and their first ids, `per_symbol`, how many frames it sent, and the
//! batches at which the millisecond changed. `klagg check-store` reads this record
//! ([`RECORD_FILE`] in the `--trades` directory) instead of CSV files.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::market::BlastMarket;
use crate::sim::SimTrade;

/// The record's file name inside the record directory.
pub const RECORD_FILE: &str = "blast-record.json";

/// What one connection sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Market symbol indexes by connection position.
    pub symbols: Vec<u32>,
    /// The first agg id each position sent.
    pub first_ids: Vec<i64>,
    /// Frames of each position per batch.
    pub per_symbol: u64,
    /// Frames sent whole (a frame cut by a failed write is not counted).
    pub frames: u64,
    /// `(batch, time_ms)`: from this batch on, frames carry this time; ascending batches.
    pub times: Vec<(u64, i64)>,
}

impl Segment {
    /// Frames in a whole batch.
    pub fn batch_frames(&self) -> u64 {
        self.per_symbol * self.symbols.len() as u64
    }

    /// Trades position `position` sent among the first `frames` frames.
    pub fn count_of(&self, position: usize, frames: u64) -> u64 {
        let n = self.symbols.len() as u64;
        let batch = self.batch_frames();
        if n == 0 || batch == 0 {
            return 0;
        }
        let rest = frames % batch;
        frames / batch * self.per_symbol + rest / n + u64::from((position as u64) < rest % n)
    }

    /// Appends the trades of position `position` to `out`, in id order.
    fn trades_of(&self, market: &BlastMarket, position: usize, out: &mut Vec<SimTrade>) {
        let n = self.symbols.len() as u64;
        let symbol = self.symbols[position];
        let first = self.first_ids[position];
        let mut time = 0usize;
        for i in 0..self.count_of(position, self.frames) {
            let frame = i / self.per_symbol * self.batch_frames() + i % self.per_symbol * n;
            let batch = (frame + position as u64) / self.batch_frames();
            while time + 1 < self.times.len() && self.times[time + 1].0 <= batch {
                time += 1;
            }
            let time_ms = self.times.get(time).map_or(0, |t| t.1);
            out.push(market.trade(symbol, first + i as i64, time_ms));
        }
    }
}

/// Everything a blast run sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The market's seed.
    pub seed: u64,
    /// The market's symbol count.
    pub symbols: usize,
    /// One per connection that sent, in the order they ended.
    pub segments: Vec<Segment>,
}

impl Record {
    /// The market the record's trades come from.
    ///
    /// # Errors
    ///
    /// The symbol count is out of range (a damaged record).
    pub fn market(&self) -> Result<BlastMarket, String> {
        BlastMarket::new(self.symbols, self.seed)
    }

    /// Trades sent over all connections.
    pub fn trades_sent(&self) -> u64 {
        self.segments.iter().map(|s| s.frames).sum()
    }

    /// Every trade sent of market symbol `symbol`, in id order.
    pub fn trades_of(&self, market: &BlastMarket, symbol: u32) -> Vec<SimTrade> {
        let mut out = Vec::new();
        for segment in &self.segments {
            for position in 0..segment.symbols.len() {
                if segment.symbols[position] == symbol {
                    segment.trades_of(market, position, &mut out);
                }
            }
        }
        out.sort_by_key(|t| t.agg_id);
        out
    }

    /// Writes the record into `dir` (created if missing) as [`RECORD_FILE`].
    ///
    /// # Errors
    ///
    /// The directory or file cannot be written.
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        let text = serde_json::to_vec(self).map_err(io::Error::other)?;
        fs::write(dir.join(RECORD_FILE), text)
    }

    /// The record in `dir`, if there is one.
    ///
    /// # Errors
    ///
    /// The file is there but cannot be read or is not a record; the message names it.
    pub fn load(dir: &Path) -> Result<Option<Record>, String> {
        let path = dir.join(RECORD_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let record: Record = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not a blast record: {e}", path.display()))?;
        record.market()?;
        if let Some(bad) = record.segments.iter().find(|s| {
            s.first_ids.len() != s.symbols.len()
                || s.per_symbol == 0
                || s.symbols.iter().any(|&i| i as usize >= record.symbols)
        }) {
            return Err(format!("{}: a damaged segment {bad:?}", path.display()));
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::blast::{FIRST_AGG_ID, FrameBatch};

    #[test]
    fn counts_cover_partial_batches() {
        let segment = Segment {
            symbols: vec![0, 1, 2],
            first_ids: vec![FIRST_AGG_ID; 3],
            per_symbol: 2,
            frames: 0,
            times: vec![],
        };
        // Batches of 6: 0 1 2 0 1 2 | 0 1 ...
        assert_eq!(segment.count_of(0, 8), 3);
        assert_eq!(segment.count_of(1, 8), 3);
        assert_eq!(segment.count_of(2, 8), 2);
        assert_eq!((0..3).map(|p| segment.count_of(p, 17)).sum::<u64>(), 17);
    }

    /// The record's regenerated trades equal what a batch of the same shape writes.
    #[test]
    fn regenerated_trades_are_the_frames_written() {
        let market = BlastMarket::new(4, 9).unwrap();
        let segment = Segment {
            symbols: vec![3, 1],
            first_ids: vec![FIRST_AGG_ID + 10, FIRST_AGG_ID],
            per_symbol: 3,
            frames: 15,
            times: vec![(0, 1_000), (2, 1_005)],
        };
        let mut batch = FrameBatch::new(&market, &segment.symbols, 3);
        let mut next = segment.first_ids.clone();
        let mut sent: Vec<Vec<(i64, i64)>> = vec![Vec::new(); 2];
        for frame in 0..segment.frames {
            let batch_index = frame / 6;
            let slot = (frame % 6) as usize;
            let time = if batch_index >= 2 { 1_005 } else { 1_000 };
            let position = slot % 2;
            let id = next[position];
            batch.set_trade(
                slot,
                position,
                id,
                market.draw(segment.symbols[position], id),
            );
            sent[position].push((next[position], time));
            next[position] += 1;
        }
        let record = Record {
            seed: 9,
            symbols: 4,
            segments: vec![segment],
        };
        for (position, symbol) in [(0, 3), (1, 1)] {
            let trades = record.trades_of(&market, symbol);
            let got: Vec<(i64, i64)> = trades.iter().map(|t| (t.agg_id, t.time_ms)).collect();
            assert_eq!(got, sent[position]);
            assert_eq!(trades[0], market.trade(symbol, trades[0].agg_id, 1_000));
        }
        assert!(record.trades_of(&market, 0).is_empty());
    }
}
