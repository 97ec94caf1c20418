//! Replay parity with Binance's own klines, on the real data in the shared data folder.
//!
//! The data is never copied into the project: it is read from `$KLAGG_DATA`, or from
//! `../shared/data/binance` next to the crate. When it is absent each test says so and passes.

#[path = "support/real_data.rs"]
mod real_data;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use klagg::decimal::{decimal_text_eq, parse_fixed};
use klagg::interval::Interval;
use klagg::oracle::{self, OracleKline, OracleTrade, Period};
use klagg::replay::datavision::{is_header, parse_row};
use klagg::replay::{ReplayOptions, ReplaySummary, run};
use serde_json::Value;

/// Data Vision kline columns, in file order.
const COLUMNS: [&str; 12] = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
];

/// Columns holding integers (times, count, ignore); the others are decimals.
const INTEGER_COLUMNS: [usize; 4] = [0, 6, 8, 11];

/// Cases with official klines that must be found (others are picked up too).
const KNOWN_CASES: [&str; 5] = [
    "um-BTCUSDT-2023-04-05",
    "um-BTCUSDT-2024-07-19",
    "um-BTCUSDT-2024-08-08",
    "spot-BTCUSDT-2020-01-02",
    "spot-XRPETH-2019-10-11",
];

use real_data::data_dir;

/// Non-empty lines split on commas, line endings (LF or CRLF) removed.
fn read_rows(path: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn replay(
    inputs: Vec<PathBuf>,
    symbol: &str,
    intervals: Vec<Interval>,
    out_dir: &Path,
) -> ReplaySummary {
    let mut options = ReplayOptions::new(symbol, out_dir.to_path_buf(), inputs);
    options.intervals = intervals;
    options.progress = false;
    run(&options).unwrap_or_else(|e| panic!("replay of {symbol} failed: {e}"))
}

fn int(text: &str) -> i64 {
    text.parse()
        .unwrap_or_else(|e| panic!("not an integer {text:?}: {e}"))
}

/// Our rows of one output file, by open time.
fn rows_by_open_time(path: &Path) -> BTreeMap<i64, Vec<String>> {
    read_rows(path)
        .into_iter()
        .map(|row| (int(&row[0]), row))
        .collect()
}

/// `BTCUSDT-1m.csv` -> (`BTCUSDT`, 1m); Data Vision labels the month `1mo`.
fn parse_official_name(path: &Path) -> (String, Interval) {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("official file name");
    let (symbol, label) = stem.rsplit_once('-').expect("SYMBOL-LABEL.csv");
    let interval =
        Interval::parse(if label == "1mo" { "1M" } else { label }).expect("official label");
    (symbol.to_owned(), interval)
}

/// Per official file: klines compared, of which empty periods.
struct Matched {
    interval: Interval,
    klines: usize,
    empty: usize,
}

/// Compares one official file with our output, returning what matched or every mismatch.
fn compare(
    case: &str,
    interval: Interval,
    official: &[Vec<String>],
    ours: &BTreeMap<i64, Vec<String>>,
) -> Result<Matched, Vec<String>> {
    let mut problems = Vec::new();
    let mut empty = 0;
    for theirs in official {
        let open_time = int(&theirs[0]);
        let Some(row) = ours.get(&open_time) else {
            problems.push(format!(
                "{case} {interval} open_time {open_time}: official kline missing from our output"
            ));
            continue;
        };
        for (column, (their_text, our_text)) in theirs.iter().zip(row).enumerate() {
            let equal = if INTEGER_COLUMNS.contains(&column) {
                int(their_text) == int(our_text)
            } else {
                decimal_text_eq(our_text, their_text).unwrap_or_else(|| {
                    panic!("{case}: not decimals: {our_text:?} / {their_text:?}")
                })
            };
            if !equal {
                problems.push(format!(
                    "{case} {interval} open_time {open_time}: column {}: ours {our_text} vs theirs {their_text}",
                    COLUMNS[column]
                ));
            }
        }
        if decimal_text_eq(&theirs[5], "0") == Some(true) {
            empty += 1;
        }
    }
    // Between the first and last official kline our periods must be consecutive, none missing
    // and none extra.
    let first = int(&official[0][0]);
    let last = int(&official[official.len() - 1][0]);
    let mut expected = first;
    let mut in_range = 0;
    for &open_time in ours.range(first..=last).map(|(t, _)| t) {
        if open_time != expected {
            problems.push(format!(
                "{case} {interval}: expected a kline at {expected}, found {open_time}"
            ));
        }
        expected = interval.next_open(open_time);
        in_range += 1;
    }
    if in_range != official.len() {
        problems.push(format!(
            "{case} {interval}: {in_range} klines of ours in the official range, {} official",
            official.len()
        ));
    }
    if problems.is_empty() {
        Ok(Matched {
            interval,
            klines: official.len(),
            empty,
        })
    } else {
        Err(problems)
    }
}

/// Every case folder with official klines, sorted, after checking the known ones are there.
fn official_cases(data: &Path) -> Vec<(String, PathBuf)> {
    let mut cases: Vec<PathBuf> = fs::read_dir(data)
        .expect("data folder")
        .map(|e| e.expect("data folder entry").path())
        .filter(|p| p.join("official").is_dir())
        .collect();
    cases.sort();
    let cases: Vec<(String, PathBuf)> = cases
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    for known in KNOWN_CASES {
        assert!(
            cases.iter().any(|(n, _)| n == known),
            "case {known} not found in {}",
            data.display()
        );
    }
    cases
}

/// Builds klines for every official file of every case with `build(trades file, symbol,
/// interval)` (rows by open time, in Data Vision kline columns) and compares them with the
/// official ones on every field.
fn check_official(
    data: &Path,
    build: impl Fn(&Path, &str, Interval) -> BTreeMap<i64, Vec<String>>,
) {
    let mut problems = Vec::new();
    let mut matched: HashMap<String, Vec<Matched>> = HashMap::new();
    for (case, case_dir) in official_cases(data) {
        let mut officials: Vec<PathBuf> = fs::read_dir(case_dir.join("official"))
            .expect("official folder")
            .map(|e| e.expect("official entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        officials.sort();
        for official_path in officials {
            let (symbol, interval) = parse_official_name(&official_path);
            let ours = build(&case_dir.join("aggTrades.csv"), &symbol, interval);
            let official = read_rows(&official_path);
            match compare(&case, interval, &official, &ours) {
                Ok(m) => matched.entry(case.clone()).or_default().push(m),
                Err(mut p) => problems.append(&mut p),
            }
        }
    }
    let shown: Vec<&String> = problems.iter().take(30).collect();
    assert!(
        problems.is_empty(),
        "{} mismatches, first ones:\n{shown:#?}",
        problems.len()
    );

    for (case, results) in &matched {
        for m in results {
            eprintln!(
                "{case} {}: {} official klines matched ({} empty)",
                m.interval, m.klines, m.empty
            );
        }
    }
    if let Some(xrp) = matched.get("spot-XRPETH-2019-10-11") {
        let minute = xrp
            .iter()
            .find(|m| m.interval == Interval::parse("1m").unwrap())
            .expect("XRPETH 1m");
        assert_eq!(
            (minute.klines, minute.empty),
            (3_558, 1_091),
            "XRPETH 1m klines matched, of which empty"
        );
    }
}

#[test]
fn replay_matches_official_klines() {
    let Some(data) = data_dir("replay_matches_official_klines") else {
        return;
    };
    check_official(&data, |trades, symbol, interval| {
        let out = tempfile::tempdir().unwrap();
        let summary = replay(
            vec![trades.to_path_buf()],
            symbol,
            vec![interval],
            out.path(),
        );
        assert_eq!(summary.bad_rows(), 0, "{symbol}");
        let ours = rows_by_open_time(&summary.outputs[0].path);
        assert_eq!(ours.len() as u64, summary.outputs[0].klines);
        ours
    });
}

/// The independent oracle (`klagg::oracle`), which the end-to-end checks trust, gives Binance's
/// own klines too.
#[test]
fn oracle_matches_official_klines() {
    let Some(data) = data_dir("oracle_matches_official_klines") else {
        return;
    };
    check_official(&data, |trades, _symbol, interval| {
        let text = fs::read_to_string(trades).unwrap();
        let trades: Vec<OracleTrade> = text
            .lines()
            .filter(|line| !line.is_empty() && !is_header(line.as_bytes()))
            .map(|line| OracleTrade::from(&parse_row(line.as_bytes(), 0).unwrap()))
            .collect();
        let period = Period::parse(&interval.to_string()).unwrap();
        oracle::build(&trades, period, i64::MIN)
            .into_iter()
            .map(|k| (k.open_time, oracle_row(&k)))
            .collect()
    });
}

/// An oracle kline in Data Vision's kline columns.
fn oracle_row(k: &OracleKline) -> Vec<String> {
    vec![
        k.open_time.to_string(),
        decimal(k.open.into(), 8),
        decimal(k.high.into(), 8),
        decimal(k.low.into(), 8),
        decimal(k.close.into(), 8),
        decimal(k.volume, 8),
        k.close_time.to_string(),
        decimal(k.quote_volume, 16),
        k.count.to_string(),
        decimal(k.taker_buy_volume, 8),
        decimal(k.taker_buy_quote_volume, 16),
        "0".to_owned(),
    ]
}

/// `value / 10^scale` as decimal text (non-negative values).
fn decimal(value: i128, scale: u32) -> String {
    let unit = 10i128.pow(scale);
    format!(
        "{}.{:0width$}",
        value / unit,
        value % unit,
        width = scale as usize
    )
}

#[test]
fn microsecond_spot_file_is_floored_to_ms() {
    let Some(data) = data_dir("microsecond_spot_file_is_floored_to_ms") else {
        return;
    };
    let input = data.join("spot-BTCUSDT-2026-01-01-micros/aggTrades.csv");
    if !input.is_file() {
        eprintln!(
            "microsecond_spot_file_is_floored_to_ms: skipped: {} is absent",
            input.display()
        );
        return;
    }
    let rows = read_rows(&input);
    let raw_trades: i64 = rows.iter().map(|r| int(&r[4]) - int(&r[3]) + 1).sum();
    let last_time_us = int(&rows[rows.len() - 1][5]);
    assert!(
        int(&rows[0][5]) >= 100_000_000_000_000,
        "the input is expected to be in microseconds"
    );

    let out = tempfile::tempdir().unwrap();
    let minute = Interval::parse("1m").unwrap();
    let summary = replay(
        vec![input],
        "BTCUSDT",
        vec![minute, Interval::parse("1M").unwrap()],
        out.path(),
    );
    assert_eq!(summary.stats.trades, rows.len() as u64);
    let ours = rows_by_open_time(&summary.outputs[0].path);
    assert_eq!(
        *ours.keys().next().unwrap(),
        1_767_225_600_000,
        "first 1m open time"
    );
    assert_eq!(
        *ours.keys().last().unwrap(),
        minute.open_time(last_time_us / 1_000),
        "last 1m open time"
    );
    for (open_time, row) in &ours {
        assert_eq!(
            int(&row[6]),
            open_time + 59_999,
            "close time of {open_time}"
        );
    }
    let count: i64 = ours.values().map(|r| int(&r[8])).sum();
    assert_eq!(
        count, raw_trades,
        "Σ count over 1m klines vs Σ (l - f + 1) over the input"
    );
    let month = rows_by_open_time(&summary.outputs[1].path);
    assert_eq!(
        month.keys().copied().collect::<Vec<_>>(),
        [1_767_225_600_000],
        "one January 2026 kline"
    );
    assert_eq!(int(&month[&1_767_225_600_000][8]), raw_trades);
}

#[test]
fn split_overlapping_and_zipped_inputs_give_the_same_klines() {
    let Some(data) = data_dir("split_overlapping_and_zipped_inputs_give_the_same_klines") else {
        return;
    };
    let input = data.join("spot-BTCUSDT-2020-01-02/aggTrades.csv");
    if !input.is_file() {
        eprintln!(
            "split_overlapping_and_zipped_inputs_give_the_same_klines: skipped: {} is absent",
            input.display()
        );
        return;
    }
    let intervals = Interval::parse_list("1m,5m,1h").unwrap();
    let whole_out = tempfile::tempdir().unwrap();
    let whole = replay(
        vec![input.clone()],
        "BTCUSDT",
        intervals.clone(),
        whole_out.path(),
    );

    // Two parts overlapping by 100 rows: the first plain, the second zipped.
    let text = fs::read_to_string(&input).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (cut_a, cut_b) = (lines.len() * 6 / 10, lines.len() * 6 / 10 - 100);
    let dir = tempfile::tempdir().unwrap();
    let part_a = dir.path().join("a.csv");
    fs::write(&part_a, lines[..cut_a].join("\n")).unwrap();
    let part_b = dir.path().join("b.zip");
    let mut zip = zip::ZipWriter::new(fs::File::create(&part_b).unwrap());
    zip.start_file(
        "BTCUSDT-aggTrades-2020-01-02.csv",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    zip.write_all(lines[cut_b..].join("\r\n").as_bytes())
        .unwrap();
    zip.finish().unwrap();

    let split_out = tempfile::tempdir().unwrap();
    let split = replay(vec![part_a, part_b], "BTCUSDT", intervals, split_out.path());
    assert_eq!(split.stats.duplicates, 100);
    assert_eq!(split.inputs[1].duplicates, 100);
    assert_eq!(split.stats.trades, whole.stats.trades);
    for (a, b) in whole.outputs.iter().zip(&split.outputs) {
        assert_eq!(
            fs::read(&a.path).unwrap(),
            fs::read(&b.path).unwrap(),
            "{}",
            a.interval
        );
    }
}

/// One frame of the capture, as far as this test cares.
enum Frame {
    Trade {
        symbol: String,
        first: i64,
        last: i64,
        time: i64,
    },
    Kline {
        symbol: String,
        k: Value,
    },
    Other,
}

fn parse_capture_line(line: &str) -> Frame {
    let json = match line.split_once(": {") {
        Some((stamp, rest)) if stamp.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            format!("{{{rest}")
        }
        _ => line.to_owned(),
    };
    let Ok(value) = serde_json::from_str::<Value>(&json) else {
        return Frame::Other;
    };
    let event = value.get("data").unwrap_or(&value);
    let symbol = event["s"].as_str().unwrap_or_default().to_owned();
    match event["e"].as_str() {
        Some("aggTrade") => Frame::Trade {
            symbol,
            first: event["f"].as_i64().unwrap(),
            last: event["l"].as_i64().unwrap(),
            time: event["T"].as_i64().unwrap(),
        },
        Some("kline") => Frame::Kline {
            symbol,
            k: event["k"].clone(),
        },
        _ => Frame::Other,
    }
}

fn text_of<'a>(k: &'a Value, key: &str) -> &'a str {
    k[key]
        .as_str()
        .unwrap_or_else(|| panic!("kline field {key} is not a string: {k}"))
}

fn fixed(text: &str) -> i64 {
    parse_fixed(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The capture's own `kline_1m` frames are Binance's klines at the moment each was sent, so
/// each one whose last trade id `L` is the `l` of a captured aggTrade can be rebuilt by
/// replaying exactly the captured trades with `l <= L`:
///
/// * A period that started after the capture's first aggTrade of the symbol holds only
///   captured trades, so every field is checked exactly: o h l c v q V Q n and the close time.
/// * The period the capture began in also holds trades from before the capture, so only what
///   those earlier trades cannot change is checked: the close, the count (exactly: the stream
///   counts `first captured f − k.f` more raw trades), and that our high, low and volumes lie
///   within the stream's.
///
/// Frames whose `L` is not the end of a captured aggTrade (the aggTrade frame came after the
/// capture ended, or `L` falls inside an aggregate) cannot be rebuilt and are skipped.
#[test]
fn capture_replay_matches_the_streams_own_klines() {
    let Some(data) = data_dir("capture_replay_matches_the_streams_own_klines") else {
        return;
    };
    let capture = data.join("ws-captures/BINANCE_FUTURES.ws");
    if !capture.is_file() {
        eprintln!(
            "capture_replay_matches_the_streams_own_klines: skipped: {} is absent",
            capture.display()
        );
        return;
    }
    let text = fs::read_to_string(&capture).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let frames: Vec<Frame> = lines.iter().map(|l| parse_capture_line(l)).collect();
    let mut symbols: Vec<String> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Trade { symbol, .. } => Some(symbol.clone()),
            _ => None,
        })
        .collect();
    symbols.sort();
    symbols.dedup();
    assert!(!symbols.is_empty(), "no aggTrades in the capture");

    let minute = Interval::parse("1m").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut full_checked, mut partial_checked) = (0, 0);
    for symbol in &symbols {
        let trades: Vec<(i64, i64, i64)> = frames
            .iter()
            .filter_map(|f| match f {
                Frame::Trade {
                    symbol: s,
                    first,
                    last,
                    time,
                } if s == symbol => Some((*first, *last, *time)),
                _ => None,
            })
            .collect();
        // Consecutive raw trade ids: no trade of the symbol was lost during the capture.
        for pair in trades.windows(2) {
            assert_eq!(
                pair[1].0,
                pair[0].1 + 1,
                "{symbol}: trades missing from the capture"
            );
        }
        let (first_f, first_time) = (trades[0].0, trades[0].2);

        let full = replay(vec![capture.clone()], symbol, vec![minute], dir.path());
        assert_eq!(
            full.stats.trades,
            trades.len() as u64,
            "{symbol}: trades applied"
        );
        assert_eq!(full.stats.gaps, 0, "{symbol}");

        for frame in &frames {
            let Frame::Kline { symbol: s, k } = frame else {
                continue;
            };
            let last_id = k["L"].as_i64().unwrap();
            if s != symbol || !trades.iter().any(|t| t.1 == last_id) {
                continue;
            }
            // The capture up to this kline frame's last trade: other frames kept as noise.
            let truncated = dir.path().join(format!("{symbol}-{last_id}.ws"));
            let kept: Vec<&str> = lines
                .iter()
                .zip(&frames)
                .filter(|(_, f)| !matches!(f, Frame::Trade { symbol: s, last, .. } if s == symbol && *last > last_id))
                .map(|(l, _)| *l)
                .collect();
            fs::write(&truncated, kept.join("\n")).unwrap();
            let out = dir.path().join(format!("out-{symbol}-{last_id}"));
            let summary = replay(vec![truncated], symbol, vec![minute], &out);
            let ours = rows_by_open_time(&summary.outputs[0].path);
            let open_time = k["t"].as_i64().unwrap();
            let row = ours
                .get(&open_time)
                .unwrap_or_else(|| panic!("{symbol}: no kline at {open_time}"));
            let context = format!("{symbol} open_time {open_time} frame L={last_id}");
            let eq = |column: usize, key: &str| {
                assert_eq!(
                    decimal_text_eq(&row[column], text_of(k, key)),
                    Some(true),
                    "{context}: column {}: ours {} vs stream {key}={}",
                    COLUMNS[column],
                    row[column],
                    k[key]
                );
            };
            eq(4, "c");
            assert_eq!(
                int(&row[6]),
                k["T"].as_i64().unwrap(),
                "{context}: close_time"
            );
            let count = int(&row[8]);
            if open_time > first_time {
                for (column, key) in [
                    (1, "o"),
                    (2, "h"),
                    (3, "l"),
                    (5, "v"),
                    (7, "q"),
                    (9, "V"),
                    (10, "Q"),
                ] {
                    eq(column, key);
                }
                assert_eq!(count, k["n"].as_i64().unwrap(), "{context}: count");
                full_checked += 1;
            } else {
                let before_capture = first_f - k["f"].as_i64().unwrap();
                assert_eq!(
                    count + before_capture,
                    k["n"].as_i64().unwrap(),
                    "{context}: count"
                );
                assert!(
                    fixed(&row[2]) <= fixed(text_of(k, "h")),
                    "{context}: high above the stream's"
                );
                assert!(
                    fixed(&row[3]) >= fixed(text_of(k, "l")),
                    "{context}: low below the stream's"
                );
                assert!(
                    fixed(&row[5]) <= fixed(text_of(k, "v")),
                    "{context}: volume above the stream's"
                );
                assert!(
                    fixed(&row[9]) <= fixed(text_of(k, "V")),
                    "{context}: taker volume above the stream's"
                );
                partial_checked += 1;
            }
        }
    }
    eprintln!(
        "capture: {} symbols, {full_checked} kline frames of full periods matched exactly, \
         {partial_checked} of partial periods checked",
        symbols.len()
    );
    assert!(
        full_checked > 0,
        "no kline frame of a fully captured period"
    );
    assert!(
        partial_checked > 0,
        "no kline frame of the partial first period"
    );
}
