//! `klagg replay` as a user runs it: the built binary, its files, messages and exit codes.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const TRADES: &str = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n\
                      1,100.5,2,10,11,60000,true\n\
                      2,101,1,12,12,60500,false\n\
                      3,99.25,0.5,13,15,180000,false\n";

const BAD_ROW: &str = "4,12x.5,1,16,16,240000,true\n";

/// 1m klines of `TRADES`: two traded minutes and the empty one between them.
const EXPECTED_1M: &str = "\
60000,100.50000000,101.00000000,100.50000000,101.00000000,3.00000000,119999,302.00000000,3,1.00000000,101.00000000,0
120000,101.00000000,101.00000000,101.00000000,101.00000000,0.00000000,179999,0.00000000,0,0.00000000,0.00000000,0
180000,99.25000000,99.25000000,99.25000000,99.25000000,0.50000000,239999,49.62500000,3,0.50000000,49.62500000,0
";

/// The January 1970 kline of `TRADES`.
const EXPECTED_1MO: &str = "\
0,100.50000000,101.00000000,99.25000000,99.25000000,3.50000000,2678399999,351.62500000,6,1.50000000,150.62500000,0
";

fn klagg(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_klagg"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run klagg")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn replay_writes_exact_kline_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("trades.csv"), TRADES).unwrap();
    let out = klagg(
        &[
            "replay",
            "--symbol",
            "XYZUSDT",
            "--intervals",
            "1m,1M",
            "--out-dir",
            "out/k",
            "trades.csv",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        fs::read_to_string(dir.path().join("out/k/XYZUSDT-1m.csv")).unwrap(),
        EXPECTED_1M
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("out/k/XYZUSDT-1mo.csv")).unwrap(),
        EXPECTED_1MO
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("trades applied: 3"), "{stdout}");
    assert!(stdout.contains("bad rows skipped: 0"), "{stdout}");
}

#[test]
fn a_non_ascii_symbol_names_its_kline_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("trades.csv"), TRADES).unwrap();
    let out = klagg(
        &[
            "replay",
            "--symbol",
            "币安人生USDT",
            "--intervals",
            "1m,1M",
            "--out-dir",
            "out",
            "trades.csv",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        fs::read_to_string(dir.path().join("out/币安人生USDT-1m.csv")).unwrap(),
        EXPECTED_1M
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("out/币安人生USDT-1mo.csv")).unwrap(),
        EXPECTED_1MO
    );
    assert!(
        text(&out.stdout).contains("币安人生USDT"),
        "{}",
        text(&out.stdout)
    );
    // A name that cannot be a symbol is refused, named, with what is valid.
    let out = klagg(
        &[
            "replay",
            "--symbol",
            "币安 人生",
            "--out-dir",
            "bad",
            "trades.csv",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("\"币安 人生\"") && stderr.contains("such as BTCUSDT or 币安人生USDT"),
        "{stderr}"
    );
    assert!(!dir.path().join("bad").exists());
}

#[test]
fn bad_row_stops_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("trades.csv"), format!("{TRADES}{BAD_ROW}")).unwrap();
    let out = klagg(
        &[
            "replay",
            "--symbol",
            "XYZUSDT",
            "--intervals",
            "1m",
            "--out-dir",
            "out",
            "trades.csv",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "error: trades.csv:5: field 2 (price) \"12x.5\": invalid byte 'x' at position 2"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--skip-bad"), "{stderr}");
}

#[test]
fn skip_bad_counts_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("trades.csv"), format!("{TRADES}{BAD_ROW}")).unwrap();
    let args = [
        "replay",
        "--symbol",
        "XYZUSDT",
        "--intervals",
        "1m",
        "--out-dir",
        "out",
        "--skip-bad",
        "trades.csv",
    ];
    let out = klagg(&args, dir.path());
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("bad rows skipped: 1"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("trades.csv:5: field 2 (price)"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("out/XYZUSDT-1m.csv")).unwrap(),
        EXPECTED_1M
    );
}

#[test]
fn invalid_interval_lists_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("trades.csv"), TRADES).unwrap();
    let out = klagg(
        &[
            "replay",
            "--symbol",
            "XYZUSDT",
            "--intervals",
            "1m,2w",
            "--out-dir",
            "out",
            "trades.csv",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("\"2w\""), "{stderr}");
    assert!(
        stderr.contains("1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn missing_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = klagg(
        &[
            "replay",
            "--symbol",
            "XYZUSDT",
            "--out-dir",
            "out",
            "nope.csv",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("nope.csv"),
        "{}",
        text(&out.stderr)
    );
    let out = klagg(
        &["replay", "--symbol", "XYZUSDT", "--out-dir", "out"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no input files"),
        "{}",
        text(&out.stderr)
    );
    let out = klagg(
        &["replay", "--symbol", "", "--out-dir", "out", "nope.csv"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("symbol is empty"),
        "{}",
        text(&out.stderr)
    );
}
