//! Stamp files: what each process measured, written once after its run and joined later.
//!
//! CSV with a header, one stamp per line, symbols by name so files of different processes
//! (each with its own symbol numbering) join:
//!
//! ```text
//! # dropped=0
//! # trades=1
//! stage,symbol,trade_id,at_ns,event_ms
//! frame_read,BTCUSDT,1001,84467440737,1700000000000
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use super::{Stage, Stamp};

/// The stamps of one process, with symbol indices into `names`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StampFile {
    /// Symbol names; a stamp's `symbol` indexes this.
    pub names: Vec<String>,
    /// The stamps, in any order.
    pub stamps: Vec<Stamp>,
    /// Stamps the process could not keep (a full buffer): measurements missing, not trades.
    pub dropped: u64,
    /// Trades the process took in (published by the simulator, applied by an engine), stamped
    /// or not: what loss and throughput are counted from.
    pub trades: u64,
}

const HEADER: &str = "stage,symbol,trade_id,at_ns,event_ms";

impl StampFile {
    /// Writes the file. Stamps whose symbol has no name are written with the name `#<index>`.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut out = BufWriter::new(File::create(path)?);
        writeln!(out, "# dropped={}", self.dropped)?;
        writeln!(out, "# trades={}", self.trades)?;
        writeln!(out, "{HEADER}")?;
        for s in &self.stamps {
            let stage = s.stage.name();
            match self.names.get(s.symbol as usize) {
                Some(name) => write!(out, "{stage},{name},")?,
                None => write!(out, "{stage},#{},", s.symbol)?,
            }
            writeln!(out, "{},{},{}", s.trade_id, s.at_ns, s.event_ms)?;
        }
        out.flush()
    }

    /// Reads a file written by [`StampFile::write`]; the error names the file and line.
    pub fn read(path: &Path) -> Result<StampFile, String> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut result = StampFile::default();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut saw_header = false;
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let bad = |what: &str| format!("{}:{}: {what}: {line:?}", path.display(), n + 1);
            if let Some(comment) = line.strip_prefix('#') {
                let comment = comment.trim();
                if let Some(d) = comment.strip_prefix("dropped=") {
                    result.dropped = d.parse().map_err(|_| bad("bad dropped count"))?;
                } else if let Some(t) = comment.strip_prefix("trades=") {
                    result.trades = t.parse().map_err(|_| bad("bad trades count"))?;
                }
                continue;
            }
            if !saw_header {
                if line != HEADER {
                    return Err(bad(&format!("expected the header {HEADER:?}")));
                }
                saw_header = true;
                continue;
            }
            let mut fields = line.split(',');
            let mut next = || fields.next().ok_or_else(|| bad("expected 5 fields"));
            let stage = next()?;
            let stage = Stage::from_name(stage).ok_or_else(|| bad("unknown stage"))?;
            let name = next()?;
            let symbol = match index.get(name) {
                Some(&i) => i,
                None => {
                    let i = result.names.len() as u32;
                    index.insert(name.to_owned(), i);
                    result.names.push(name.to_owned());
                    i
                }
            };
            let trade_id = next()?.parse().map_err(|_| bad("bad trade_id"))?;
            let at_ns = next()?.parse().map_err(|_| bad("bad at_ns"))?;
            let event_ms = next()?.parse().map_err(|_| bad("bad event_ms"))?;
            result.stamps.push(Stamp {
                stage,
                symbol,
                trade_id,
                at_ns,
                event_ms,
            });
        }
        if !saw_header {
            return Err(format!("{}: empty stamp file", path.display()));
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stamps.csv");
        let file = StampFile {
            names: vec!["BTCUSDT".into(), "ETHUSDT".into()],
            stamps: vec![
                Stamp {
                    stage: Stage::FrameRead,
                    symbol: 1,
                    trade_id: 7,
                    at_ns: 123,
                    event_ms: 1_700_000_000_000,
                },
                Stamp {
                    stage: Stage::Delivered,
                    symbol: 1,
                    trade_id: 8,
                    at_ns: 456,
                    event_ms: 0,
                },
            ],
            dropped: 3,
            trades: 9,
        };
        file.write(&path).unwrap();
        let back = StampFile::read(&path).unwrap();
        assert_eq!(back.names, vec!["ETHUSDT".to_owned()]);
        assert_eq!((back.dropped, back.trades), (3, 9));
        assert_eq!(back.stamps.len(), 2);
        assert_eq!(back.stamps[0].symbol, 0);
        assert_eq!(back.stamps[1].stage, Stage::Delivered);
        assert_eq!(back.stamps[0].event_ms, 1_700_000_000_000);

        std::fs::write(&path, format!("{HEADER}\nread,BTCUSDT,1,2,3\n")).unwrap();
        let e = StampFile::read(&path).unwrap_err();
        assert!(e.contains(":2: unknown stage"), "{e}");
    }
}
