//! Opening one replay input: telling its kind, and streaming its lines from a plain file or
//! from the CSV inside a Data Vision zip (never extracted to disk).

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::mem;
use std::ops::ControlFlow;
use std::path::Path;

use super::capture;
use super::error::ReplayError;

/// Read buffer per input: large enough that reading costs a syscall per megabyte.
const READ_BUFFER: usize = 1 << 20;

/// How much of a plain file is looked at to tell its kind; only the start of the first
/// non-empty line matters.
const HEAD_BYTES: u64 = 4_096;

/// The two input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A Data Vision aggTrades CSV (plain or zipped).
    DataVision,
    /// A WebSocket capture, one frame per line.
    Capture,
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputKind::DataVision => "Data Vision CSV",
            InputKind::Capture => "WebSocket capture",
        })
    }
}

/// An opened input, ready to be read line by line.
pub struct Input<'a> {
    /// How messages name it: the path, or `archive.zip[entry.csv]`.
    pub name: String,
    /// Its format.
    pub kind: InputKind,
    /// Its bytes, from the start.
    pub reader: &'a mut dyn BufRead,
}

/// Opens `path` and hands it to `read`.
///
/// A callback rather than a returned reader because a zip entry borrows its archive: this way
/// both live on this function's stack for exactly as long as the entry is read.
pub fn with_input<T>(
    path: &Path,
    read: impl FnOnce(Input<'_>) -> Result<T, ReplayError>,
) -> Result<T, ReplayError> {
    let input_error = |source| ReplayError::Input {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(input_error)?;
    if is_zip_path(path) {
        return with_zip_entry(path, file, read);
    }
    let mut head = Vec::new();
    (&mut file)
        .take(HEAD_BYTES)
        .read_to_end(&mut head)
        .map_err(input_error)?;
    file.seek(SeekFrom::Start(0)).map_err(input_error)?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    read(Input {
        name: path.display().to_string(),
        kind: detect_kind(&head),
        reader: &mut reader,
    })
}

/// Calls `row` with each non-empty line of `reader` (opened from `path`), without its line
/// ending, with its 1-based line number and whether it is the first non-empty line, until the
/// input ends or `row` breaks or fails.
///
/// One line buffer is reused for the whole input, so reading does not allocate per line.
pub fn for_each_line(
    path: &Path,
    reader: &mut dyn BufRead,
    mut row: impl FnMut(&[u8], u64, bool) -> Result<ControlFlow<()>, ReplayError>,
) -> Result<(), ReplayError> {
    let mut line = Vec::with_capacity(4_096);
    let mut line_number: u64 = 0;
    let mut first = true;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| ReplayError::Input {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            return Ok(());
        }
        line_number += 1;
        // Some Data Vision files end lines with CRLF.
        let text = line.trim_ascii_end();
        if text.is_empty() {
            continue;
        }
        if row(text, line_number, mem::take(&mut first))?.is_break() {
            return Ok(());
        }
    }
}

/// True for a `.zip` extension in any case.
fn is_zip_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Streams the first `.csv` entry of a zip archive; Data Vision zips hold exactly one.
fn with_zip_entry<T>(
    path: &Path,
    file: File,
    read: impl FnOnce(Input<'_>) -> Result<T, ReplayError>,
) -> Result<T, ReplayError> {
    let archive_error = |message: String| ReplayError::Archive {
        path: path.to_path_buf(),
        message,
    };
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| archive_error(format!("not a readable zip: {e}")))?;
    let mut found = None;
    for index in 0..archive.len() {
        if let Some(Ok(name)) = archive.name_for_index(index)
            && name.to_ascii_lowercase().ends_with(".csv")
        {
            found = Some((index, name.into_owned()));
            break;
        }
    }
    let Some((index, entry)) = found else {
        return Err(archive_error(format!(
            "no .csv entry among its {} entries",
            archive.len()
        )));
    };
    let zipped = archive
        .by_index(index)
        .map_err(|e| archive_error(format!("cannot open entry {entry}: {e}")))?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, zipped);
    let name = format!("{}[{entry}]", path.display());
    read(Input {
        name,
        kind: InputKind::DataVision,
        reader: &mut reader,
    })
}

/// Tells the kind from the first non-empty line: a frame (`{`), a stamped frame
/// (`<seconds>: {`) or a capture's URL line means a capture; anything else is read as CSV,
/// whose own checks then report what is wrong with it.
pub fn detect_kind(head: &[u8]) -> InputKind {
    let first_line = head
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    if first_line.starts_with(b"{") || capture::is_url_line(first_line) {
        return InputKind::Capture;
    }
    let unstamped = capture::strip_stamp(first_line);
    if unstamped.len() < first_line.len() && unstamped.starts_with(b"{") {
        return InputKind::Capture;
    }
    InputKind::DataVision
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const CSV: &str = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n\
                       1,10.5,2,1,1,60000,true\n";

    fn read_all(path: &Path) -> Result<(String, InputKind, String), ReplayError> {
        with_input(path, |input| {
            let mut text = String::new();
            input
                .reader
                .read_to_string(&mut text)
                .map_err(|source| ReplayError::Input {
                    path: path.to_path_buf(),
                    source,
                })?;
            Ok((input.name, input.kind, text))
        })
    }

    #[test]
    fn kinds_are_detected_from_the_first_line() {
        assert_eq!(detect_kind(CSV.as_bytes()), InputKind::DataVision);
        assert_eq!(detect_kind(b"1,2,3\n"), InputKind::DataVision);
        assert_eq!(detect_kind(b""), InputKind::DataVision);
        assert_eq!(detect_kind(b"\n\r\n{\"e\":1}\n"), InputKind::Capture);
        assert_eq!(
            detect_kind(b"1626992741.06217: {\"stream\":\"x\"}\n"),
            InputKind::Capture
        );
        assert_eq!(
            detect_kind(b"wss://fstream.binance.com/stream?streams=a <-> 1.5\n"),
            InputKind::Capture
        );
        // A number followed by a colon but not a frame is still CSV (and a bad row).
        assert_eq!(detect_kind(b"12: x\n"), InputKind::DataVision);
    }

    #[test]
    fn plain_file_is_read_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trades.csv");
        std::fs::write(&path, CSV).unwrap();
        let (name, kind, text) = read_all(&path).unwrap();
        assert_eq!(
            (name, kind, text.as_str()),
            (path.display().to_string(), InputKind::DataVision, CSV)
        );
    }

    #[test]
    fn zip_streams_its_first_csv_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("BTCUSDT-aggTrades-2024-01.ZIP");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("README.txt", options).unwrap();
        zip.write_all(b"not this one").unwrap();
        zip.start_file("BTCUSDT-aggTrades-2024-01.CSV", options)
            .unwrap();
        zip.write_all(CSV.as_bytes()).unwrap();
        zip.finish().unwrap();
        let (name, kind, text) = read_all(&path).unwrap();
        assert_eq!(
            name,
            format!("{}[BTCUSDT-aggTrades-2024-01.CSV]", path.display())
        );
        assert_eq!((kind, text.as_str()), (InputKind::DataVision, CSV));
    }

    #[test]
    fn zip_without_csv_and_broken_zip_are_archive_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.zip");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        zip.start_file("a.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.finish().unwrap();
        let e = read_all(&path).unwrap_err();
        assert!(
            matches!(e, ReplayError::Archive { .. }) && e.to_string().contains("no .csv entry"),
            "{e}"
        );
        let broken = dir.path().join("broken.zip");
        std::fs::write(&broken, CSV).unwrap();
        let e = read_all(&broken).unwrap_err();
        assert!(e.to_string().contains("not a readable zip"), "{e}");
    }

    #[test]
    fn missing_file_names_its_path() {
        let e = read_all(Path::new("/nonexistent/trades.csv")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/trades.csv"), "{e}");
    }
}
