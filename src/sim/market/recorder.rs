//! Every trade the simulator sends, written as Data Vision futures aggTrades CSVs, so any run
//! can be checked again offline with `klagg replay`.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::sim::{SimTrade, SymbolSpec};
use crate::symbol_name;

use super::decimal_text::write_fixed;

/// The header of Data Vision's USD-M futures aggTrades files.
pub const HEADER: &str =
    "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker";

/// Write buffer per file: a syscall per few thousand rows.
const BUFFER: usize = 256 * 1024;

/// Writes trades to `DIR/<SYMBOL>-aggTrades.csv`, one file per symbol that traded.
///
/// Files are created on a symbol's first trade (replacing any file of that name) and written
/// through a buffer; [`Recorder::finish`] flushes them. Dropping a recorder also flushes, but
/// silently: call `finish` to learn about write errors.
#[derive(Debug)]
pub struct Recorder {
    dir: PathBuf,
    symbols: Vec<SymbolSpec>,
    /// Open files by symbol index.
    files: Vec<Option<BufWriter<File>>>,
    /// Reused row buffer.
    row: Vec<u8>,
}

impl Recorder {
    /// A recorder for `symbols` (indexed as [`SimTrade::symbol`]) writing into `dir`, which is
    /// created if missing.
    ///
    /// # Errors
    ///
    /// `dir` cannot be created, or a symbol name could not be a file name: names must pass
    /// [`symbol_name::check`], which keeps `/`, control characters and over-long names out
    /// and lets every Binance symbol in (`币安人生USDT-aggTrades.csv`).
    pub fn create(dir: &Path, symbols: &[SymbolSpec]) -> io::Result<Recorder> {
        for spec in symbols {
            symbol_name::check(&spec.name).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("symbol {:?} cannot name a file: {e}", spec.name),
                )
            })?;
        }
        fs::create_dir_all(dir)?;
        Ok(Recorder {
            dir: dir.to_path_buf(),
            symbols: symbols.to_vec(),
            files: symbols.iter().map(|_| None).collect(),
            row: Vec::with_capacity(128),
        })
    }

    /// The file the trades of `spec` go to.
    pub fn path_of(dir: &Path, spec: &SymbolSpec) -> PathBuf {
        dir.join(format!("{}-aggTrades.csv", spec.name))
    }

    /// Appends one trade to its symbol's file.
    ///
    /// # Errors
    ///
    /// The trade's symbol index is not one of the recorder's symbols, or writing failed.
    pub fn record(&mut self, trade: &SimTrade) -> io::Result<()> {
        let index = trade.symbol as usize;
        let Some(spec) = self.symbols.get(index) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "trade of symbol index {index}, but only {} symbols are recorded",
                    self.symbols.len()
                ),
            ));
        };
        let file = match &mut self.files[index] {
            Some(file) => file,
            slot => {
                let path = Recorder::path_of(&self.dir, spec);
                let mut file = BufWriter::with_capacity(BUFFER, File::create(&path)?);
                writeln!(file, "{HEADER}")?;
                slot.insert(file)
            }
        };
        let row = &mut self.row;
        row.clear();
        write!(row, "{},", trade.agg_id)?;
        write_fixed(trade.price, spec.price_decimals, row);
        row.push(b',');
        write_fixed(trade.quantity, spec.quantity_decimals, row);
        writeln!(
            row,
            ",{},{},{},{}",
            trade.first_trade_id, trade.last_trade_id, trade.time_ms, trade.is_buyer_maker
        )?;
        file.write_all(row)
    }

    /// Flushes every file and returns their paths, in symbol order.
    ///
    /// # Errors
    ///
    /// The first file that could not be flushed.
    pub fn finish(self) -> io::Result<Vec<PathBuf>> {
        let mut paths = Vec::new();
        for (spec, file) in self.symbols.iter().zip(self.files) {
            if let Some(file) = file {
                file.into_inner().map_err(io::IntoInnerError::into_error)?;
                paths.push(Recorder::path_of(&self.dir, spec));
            }
        }
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, price_decimals: u32, quantity_decimals: u32) -> SymbolSpec {
        SymbolSpec {
            name: name.into(),
            price_decimals,
            quantity_decimals,
            listed_at_ms: None,
        }
    }

    fn trade(symbol: u32, agg_id: i64, price: i64, quantity: i64, maker: bool) -> SimTrade {
        SimTrade {
            symbol,
            agg_id,
            price,
            quantity,
            first_trade_id: agg_id * 2,
            last_trade_id: agg_id * 2 + 1,
            time_ms: 1_700_000_000_000 + agg_id,
            is_buyer_maker: maker,
        }
    }

    #[test]
    fn rows_follow_data_vision_futures_format() {
        let dir = tempfile::tempdir().unwrap();
        let symbols = [
            spec("BTCUSDT", 2, 3),
            spec("IDLEUSDT", 4, 0),
            spec("XUSDT", 1, 0),
        ];
        let mut recorder = Recorder::create(dir.path(), &symbols).unwrap();
        recorder
            .record(&trade(0, 7, 6_180_030_000_000, 600_000, false))
            .unwrap();
        recorder
            .record(&trade(2, 1, 150_000_000, 1_200_000_000, true))
            .unwrap();
        recorder
            .record(&trade(0, 8, 6_180_000_000_001, 100_000_000, true))
            .unwrap();
        let paths = recorder.finish().unwrap();
        assert_eq!(
            paths,
            [
                dir.path().join("BTCUSDT-aggTrades.csv"),
                dir.path().join("XUSDT-aggTrades.csv")
            ]
        );
        assert_eq!(
            fs::read_to_string(&paths[0]).unwrap(),
            format!(
                "{HEADER}\n\
                 7,61800.30,0.006,14,15,1700000000007,false\n\
                 8,61800.00000001,1.000,16,17,1700000000008,true\n"
            )
        );
        assert_eq!(
            fs::read_to_string(&paths[1]).unwrap(),
            format!("{HEADER}\n1,1.5,12,2,3,1700000000001,true\n")
        );
    }

    #[test]
    fn unknown_symbols_and_unsafe_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::create(dir.path(), &[spec("A", 1, 1)]).unwrap();
        let e = recorder.record(&trade(1, 1, 1, 1, true)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = Recorder::create(dir.path(), &[spec("../A", 1, 1)]).unwrap_err();
        assert!(e.to_string().contains("\"../A\""), "{e}");
        assert!(e.to_string().contains("'/'"), "{e}");
    }

    #[test]
    fn non_ascii_symbols_name_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::create(dir.path(), &[spec("币安人生USDT", 4, 0)]).unwrap();
        recorder
            .record(&trade(0, 3, 12_340_000, 700_000_000, false))
            .unwrap();
        let paths = recorder.finish().unwrap();
        assert_eq!(paths, [dir.path().join("币安人生USDT-aggTrades.csv")]);
        assert_eq!(
            fs::read_to_string(&paths[0]).unwrap(),
            format!("{HEADER}\n3,0.1234,7,6,7,1700000000003,false\n")
        );
    }
}
