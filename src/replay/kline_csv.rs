//! Writing one interval's klines as a Data Vision kline CSV, exactly.
//!
//! Rows have the 12 Data Vision columns and no header:
//! `open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore`.
//! Prices and volumes always print 8 fractional digits, as spot Data Vision does; quote
//! volumes print at least 8 and as many of their 16 as needed to stay exact.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::decimal::write_scaled;
use crate::kline::Kline;

use super::error::ReplayError;

/// Fractional digits of prices and volumes (units of 1e-8).
const SCALE: u32 = 8;
/// Fractional digits of quote volumes (price·quantity, units of 1e-16).
const QUOTE_SCALE: u32 = 16;

/// One interval's output file.
///
/// The most recently closed kline is held back rather than written: the aggregator may still
/// send a correction of it (a late trade), and the file must end up with the corrected row
/// only. It is written when the next kline closes, or at the end.
#[derive(Debug)]
pub struct KlineCsvWriter {
    path: PathBuf,
    out: BufWriter<File>,
    pending: Option<Kline>,
    row: Vec<u8>,
    rows: u64,
}

impl KlineCsvWriter {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: &Path) -> Result<KlineCsvWriter, ReplayError> {
        let file = File::create(path).map_err(|source| ReplayError::Output {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(KlineCsvWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, file),
            pending: None,
            row: Vec::with_capacity(256),
            rows: 0,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes a kline the aggregator closed. A correction replaces the kline closed just
    /// before it, which is the only one the aggregator can still correct.
    pub fn closed(&mut self, kline: &Kline, correction: bool) -> Result<(), ReplayError> {
        match self.pending {
            Some(pending) if correction && pending.open_time != kline.open_time => {
                return Err(self.out_of_order("correction of", kline.open_time, pending.open_time));
            }
            Some(pending) if !correction && kline.open_time <= pending.open_time => {
                return Err(self.out_of_order("closed", kline.open_time, pending.open_time));
            }
            Some(pending) if !correction => self.write(&pending)?,
            None if correction => {
                return Err(ReplayError::Internal(format!(
                    "{}: correction of kline {} that was never closed",
                    self.path.display(),
                    kline.open_time
                )));
            }
            _ => {}
        }
        self.pending = Some(*kline);
        Ok(())
    }

    /// Writes the held-back kline, then `open` (the period still open when the input ended),
    /// and flushes. Returns the number of rows in the file.
    pub fn finish(mut self, open: Option<&Kline>) -> Result<u64, ReplayError> {
        if let Some(pending) = self.pending.take() {
            if let Some(open) = open
                && open.open_time <= pending.open_time
            {
                return Err(self.out_of_order("open", open.open_time, pending.open_time));
            }
            self.write(&pending)?;
        }
        if let Some(open) = open {
            self.write(open)?;
        }
        self.out.flush().map_err(|source| ReplayError::Output {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.rows)
    }

    fn write(&mut self, kline: &Kline) -> Result<(), ReplayError> {
        self.row.clear();
        write_row(kline, &mut self.row);
        self.rows += 1;
        self.out
            .write_all(&self.row)
            .map_err(|source| ReplayError::Output {
                path: self.path.clone(),
                source,
            })
    }

    fn out_of_order(&self, what: &str, open_time: i64, pending: i64) -> ReplayError {
        ReplayError::Internal(format!(
            "{}: {what} kline {open_time} does not follow closed kline {pending}",
            self.path.display()
        ))
    }
}

/// Appends one kline as a CSV row, newline included.
pub fn write_row(k: &Kline, out: &mut Vec<u8>) {
    push_int(k.open_time, out);
    for price in [k.open, k.high, k.low, k.close] {
        out.push(b',');
        write_scaled(i128::from(price), SCALE, SCALE, out);
    }
    out.push(b',');
    write_scaled(k.volume, SCALE, SCALE, out);
    out.push(b',');
    push_int(k.close_time, out);
    out.push(b',');
    write_scaled(k.quote_volume, QUOTE_SCALE, SCALE, out);
    out.push(b',');
    push_int(k.count, out);
    out.push(b',');
    write_scaled(k.taker_buy_volume, SCALE, SCALE, out);
    out.push(b',');
    write_scaled(k.taker_buy_quote_volume, QUOTE_SCALE, SCALE, out);
    out.extend_from_slice(b",0\n");
}

/// Appends the decimal digits of `value`, without going through `fmt`.
fn push_int(value: i64, out: &mut Vec<u8>) {
    write_scaled(i128::from(value), 0, 0, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(k: &Kline) -> String {
        let mut out = Vec::new();
        write_row(k, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn traded(open_time: i64, close: i64) -> Kline {
        Kline {
            count: 1,
            volume: 1,
            close,
            ..Kline::empty(open_time, open_time + 59_999, 5)
        }
    }

    #[test]
    fn empty_kline_row() {
        let k = Kline::empty(1_570_752_180_000, 1_570_752_239_999, 141_580);
        assert_eq!(
            row(&k),
            "1570752180000,0.00141580,0.00141580,0.00141580,0.00141580,0.00000000,1570752239999,\
             0.00000000,0,0.00000000,0.00000000,0\n"
        );
    }

    #[test]
    fn full_kline_row_is_exact() {
        let k = Kline {
            open_time: 1_577_977_860_000,
            close_time: 1_577_977_919_999,
            open: 714_175_000_000,
            high: 714_403_000_000,
            low: 714_137_000_000,
            close: 714_269_000_000,
            volume: 523_808_800,
            quote_volume: 374_141_960_364_100_000_000,
            taker_buy_volume: 363_660_400,
            // 25976.1033483912345678: more than 8 digits are kept, exactly.
            taker_buy_quote_volume: 259_761_033_483_912_345_678,
            count: 73,
            first_trade_id: 1,
            last_trade_id: 73,
        };
        assert_eq!(
            row(&k),
            "1577977860000,7141.75000000,7144.03000000,7141.37000000,7142.69000000,5.23808800,\
             1577977919999,37414.19603641,73,3.63660400,25976.1033483912345678,0\n"
        );
    }

    #[test]
    fn integers_are_written_in_full() {
        let mut out = Vec::new();
        for v in [0, 7, -42, i64::MAX, i64::MIN] {
            out.clear();
            push_int(v, &mut out);
            assert_eq!(String::from_utf8(out.clone()).unwrap(), v.to_string());
        }
    }

    #[test]
    fn corrections_replace_the_held_back_kline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("X-1m.csv");
        let mut w = KlineCsvWriter::create(&path).unwrap();
        w.closed(&traded(0, 100), false).unwrap();
        w.closed(&traded(60_000, 200), false).unwrap();
        w.closed(&traded(60_000, 250), true).unwrap();
        assert_eq!(w.finish(Some(&traded(120_000, 300))).unwrap(), 3);
        let text = std::fs::read_to_string(&path).unwrap();
        let closes: Vec<&str> = text.lines().map(|l| l.split(',').nth(4).unwrap()).collect();
        assert_eq!(closes, ["0.00000100", "0.00000250", "0.00000300"]);
    }

    #[test]
    fn out_of_order_records_are_internal_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = KlineCsvWriter::create(&dir.path().join("a.csv")).unwrap();
        assert!(matches!(
            w.closed(&traded(0, 1), true),
            Err(ReplayError::Internal(_))
        ));
        w.closed(&traded(60_000, 1), false).unwrap();
        assert!(matches!(
            w.closed(&traded(0, 1), true),
            Err(ReplayError::Internal(_))
        ));
        assert!(matches!(
            w.closed(&traded(60_000, 1), false),
            Err(ReplayError::Internal(_))
        ));
        assert!(matches!(
            w.finish(Some(&traded(0, 1))),
            Err(ReplayError::Internal(_))
        ));
    }
}
