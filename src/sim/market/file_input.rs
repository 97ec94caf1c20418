//! Reading the trades of one replayed file: a Data Vision aggTrades CSV (futures or spot, plain
//! or zipped, millisecond or microsecond times) or a WebSocket capture of any number of symbols.
//!
//! Files are opened, told apart and parsed by `klagg replay`'s own readers
//! ([`source`], [`datavision`], [`capture`]), so both accept exactly the same inputs. What is
//! added here is what the simulator needs besides: a capture's trades of every symbol, each
//! trade's symbol name, and the fractional digits its price and quantity are written with.

use std::borrow::Cow;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::replay::capture::{self, CaptureLine};
use crate::replay::datavision;
use crate::replay::source::{self, Input, InputKind};
use crate::replay::{BadRow, ReplayError, RowProblem};
use crate::sim::SimTrade;
use crate::trade::AggTradePayload;

use super::decimal_text::fraction_digits;

/// One file to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInput {
    /// A Data Vision aggTrades CSV (`.zip` too) or a capture; told apart by content.
    pub path: PathBuf,
    /// The symbol of a CSV, which does not name it (required there). For a capture, only this
    /// symbol's aggTrades are used; `None` uses every symbol's.
    pub symbol: Option<String>,
}

impl FileInput {
    /// A Data Vision CSV (or zip) of `symbol`'s trades.
    pub fn csv(path: impl Into<PathBuf>, symbol: &str) -> FileInput {
        FileInput {
            path: path.into(),
            symbol: Some(symbol.to_owned()),
        }
    }

    /// A capture, every aggTrade of every symbol in it.
    pub fn capture(path: impl Into<PathBuf>) -> FileInput {
        FileInput {
            path: path.into(),
            symbol: None,
        }
    }
}

/// One trade as read, in the file's own time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileTrade<'a> {
    /// Upper-case symbol name.
    pub symbol: &'a str,
    /// Fractional digits of the price as written.
    pub price_digits: u32,
    /// Fractional digits of the quantity as written.
    pub quantity_digits: u32,
    /// The trade; its `symbol` index is left 0 for the caller to set.
    pub trade: SimTrade,
}

/// Calls `visit` with every trade of `input`, in file order, until it breaks.
///
/// # Errors
///
/// The file cannot be read, a CSV's symbol is not given, or a line is not what its format allows
/// (named by file and line).
pub fn read_trades(
    input: &FileInput,
    visit: &mut dyn FnMut(FileTrade<'_>) -> ControlFlow<()>,
) -> io::Result<()> {
    let symbol = input.symbol.as_deref().map(str::to_ascii_uppercase);
    source::with_input(&input.path, |opened| {
        read_lines(&input.path, opened, symbol.as_deref(), visit)
    })
    .map_err(|e| {
        let kind = match &e {
            ReplayError::Input { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidData,
        };
        match e {
            // Without the replay command's `--skip-bad` hint.
            ReplayError::BadRow(row) => io::Error::new(kind, row.to_string()),
            e => io::Error::new(kind, e.to_string()),
        }
    })
}

/// The trades of one opened input; `symbol` is upper case.
fn read_lines(
    path: &Path,
    input: Input<'_>,
    symbol: Option<&str>,
    visit: &mut dyn FnMut(FileTrade<'_>) -> ControlFlow<()>,
) -> Result<(), ReplayError> {
    let Input { name, kind, reader } = input;
    source::for_each_line(path, reader, |text, line, first| {
        let bad = |problem| {
            ReplayError::BadRow(BadRow {
                input: name.clone(),
                line,
                problem,
            })
        };
        match (kind, symbol) {
            (InputKind::DataVision, _) if first && datavision::is_header(text) => {
                Ok(ControlFlow::Continue(()))
            }
            (InputKind::DataVision, Some(symbol)) => {
                let trade = datavision::parse_row(text, 0).map_err(bad)?;
                // Data Vision rows are `agg_trade_id,price,quantity,...`.
                let mut fields = text.split(|&b| b == b',').skip(1);
                Ok(visit(FileTrade {
                    symbol,
                    price_digits: fraction_digits(fields.next().unwrap_or_default()),
                    quantity_digits: fraction_digits(fields.next().unwrap_or_default()),
                    trade: sim_trade(&trade),
                }))
            }
            (InputKind::DataVision, None) => Err(ReplayError::Usage(format!(
                "{name}: a Data Vision CSV does not name its symbol: give it with the file"
            ))),
            (InputKind::Capture, _) => match capture::read_line(text, symbol, 0).map_err(bad)? {
                CaptureLine::Trade((trade, raw)) => {
                    let name = if raw.symbol.bytes().any(|b| b.is_ascii_lowercase()) {
                        Cow::Owned(raw.symbol.to_ascii_uppercase())
                    } else {
                        raw.symbol
                    };
                    Ok(visit(FileTrade {
                        symbol: &name,
                        price_digits: fraction_digits(raw.price.as_bytes()),
                        quantity_digits: fraction_digits(raw.quantity.as_bytes()),
                        trade: sim_trade(&trade),
                    }))
                }
                // Other events and symbols, and the URL line that opens every capture.
                CaptureLine::Skip => Ok(ControlFlow::Continue(())),
                CaptureLine::NotFrame if first => Ok(ControlFlow::Continue(())),
                CaptureLine::NotFrame => Err(bad(RowProblem::row(text, "not a WebSocket frame"))),
            },
        }
    })
}

/// The trade as the simulator sends it, at its trade time.
fn sim_trade(trade: &AggTradePayload) -> SimTrade {
    SimTrade {
        symbol: trade.symbol,
        agg_id: trade.agg_id,
        price: trade.price,
        quantity: trade.quantity,
        first_trade_id: trade.first_trade_id,
        last_trade_id: trade.last_trade_id,
        time_ms: trade.trade_time_ms,
        is_buyer_maker: trade.is_buyer_maker,
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::Write;

    use super::*;

    /// Every trade of `input` as (symbol, price digits, quantity digits, trade).
    fn read_all(input: &FileInput) -> io::Result<Vec<(String, u32, u32, SimTrade)>> {
        let mut trades = Vec::new();
        read_trades(input, &mut |t| {
            trades.push((
                t.symbol.to_owned(),
                t.price_digits,
                t.quantity_digits,
                t.trade,
            ));
            ControlFlow::Continue(())
        })?;
        Ok(trades)
    }

    fn trade(agg_id: i64, price: i64, quantity: i64, ids: (i64, i64), time_ms: i64) -> SimTrade {
        SimTrade {
            symbol: 0,
            agg_id,
            price,
            quantity,
            first_trade_id: ids.0,
            last_trade_id: ids.1,
            time_ms,
            is_buyer_maker: false,
        }
    }

    #[test]
    fn futures_csv_with_header_and_crlf() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\r\n\
             5,61800.30,0.006,10,12,1723161256322,false\r\n\r\n\
             6,61800.3,1,13,13,1723161256344,true\r\n",
        )
        .unwrap();
        let trades = read_all(&FileInput::csv(&path, "btcusdt")).unwrap();
        assert_eq!(trades.len(), 2);
        assert_eq!(
            trades[0],
            (
                "BTCUSDT".into(),
                2,
                3,
                trade(5, 6_180_030_000_000, 600_000, (10, 12), 1723161256322)
            )
        );
        assert_eq!((trades[1].1, trades[1].2), (1, 0));
        assert!(trades[1].3.is_buyer_maker);
    }

    #[test]
    fn zipped_spot_csv_with_microseconds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("BTCUSDT-aggTrades-2026-01-01.zip");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        zip.start_file(
            "BTCUSDT-aggTrades-2026-01-01.csv",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(b"3800397495,87648.21000000,0.08185000,5723703861,5723703861,1767225600039409,True,True\n")
            .unwrap();
        zip.finish().unwrap();
        let trades = read_all(&FileInput::csv(&path, "BTCUSDT")).unwrap();
        let expected = SimTrade {
            is_buyer_maker: true,
            ..trade(
                3800397495,
                8_764_821_000_000,
                8_185_000,
                (5723703861, 5723703861),
                1767225600039,
            )
        };
        assert_eq!(trades, [("BTCUSDT".into(), 8, 8, expected)]);
    }

    #[test]
    fn capture_yields_every_symbol_or_the_one_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.ws");
        let frame = |symbol: &str, a: i64| {
            format!(
                r#"{{"stream":"x@aggTrade","data":{{"e":"aggTrade","E":2,"a":{a},"s":"{symbol}","p":"1.01100","q":"10","f":{a},"l":{a},"T":1,"m":false}}}}"#
            )
        };
        let text = format!(
            "wss://fstream.binance.com/stream?streams=a <-> 1.5\n\
             1.25: {}\n\
             1.5: {{\"result\":null,\"id\":1}}\n\
             2: {}\n\
             {}\n",
            frame("CTKUSDT", 7),
            frame("sushiusdt", 9),
            frame("CTKUSDT", 8),
        );
        std::fs::write(&path, text).unwrap();
        let all = read_all(&FileInput::capture(&path)).unwrap();
        let names: Vec<(&str, i64)> = all.iter().map(|t| (t.0.as_str(), t.3.agg_id)).collect();
        assert_eq!(names, [("CTKUSDT", 7), ("SUSHIUSDT", 9), ("CTKUSDT", 8)]);
        assert_eq!((all[0].1, all[0].2), (5, 0));
        let input = FileInput {
            symbol: Some("SushiUsdt".into()),
            ..FileInput::capture(&path)
        };
        assert_eq!(read_all(&input).unwrap().len(), 1);
    }

    #[test]
    fn bad_lines_are_named_by_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv");
        std::fs::write(&path, "1,1,1,1,1,1,true\n2,1x,1,2,2,2,true\n").unwrap();
        let e = read_all(&FileInput::csv(&path, "X")).unwrap_err();
        assert!(e.to_string().contains("bad.csv:2: field 2"), "{e}");
        let e = read_all(&FileInput::capture(&path)).unwrap_err();
        assert!(e.to_string().contains("does not name its symbol"), "{e}");
        std::fs::write(&path, "1,1,1,1,1,1\n").unwrap();
        let e = read_all(&FileInput::csv(&path, "X")).unwrap_err();
        assert!(e.to_string().contains("found 6"), "{e}");
    }
}
