//! `klagg latency-report` as the latency and throughput scripts run it: the built binary on
//! stamp files of two engines, its RESULT lines, files and errors.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// A simulator's stamps: trades 64, 128, 192 of BTCUSDT and 64 of ETHUSDT, sent 1 ms apart.
const SIM: &str = "# dropped=0\n# trades=256\nstage,symbol,trade_id,at_ns,event_ms\n\
                   sim_write,BTCUSDT,64,1000000000,1700000000000\n\
                   sim_write,ETHUSDT,64,1001000000,1700000000001\n\
                   sim_write,BTCUSDT,128,1002000000,1700000000002\n\
                   sim_write,BTCUSDT,192,1003000000,1700000000003\n";

/// An engine that numbers ETH first, reads every trade 20 µs after its write, updates it 1 µs
/// later, and delivers BTC 128 (and with it 64) and ETH 64; BTC 192 is never delivered.
const ENGINE: &str = "# dropped=0\n# trades=256\nstage,symbol,trade_id,at_ns,event_ms\n\
                      frame_read,ETHUSDT,64,1001020000,1700000000001\n\
                      updated,ETHUSDT,64,1001021000,0\n\
                      delivered,ETHUSDT,64,1001050000,0\n\
                      frame_read,BTCUSDT,64,1000020000,1700000000000\n\
                      updated,BTCUSDT,64,1000021000,0\n\
                      frame_read,BTCUSDT,128,1002020000,1700000000002\n\
                      updated,BTCUSDT,128,1002021000,0\n\
                      delivered,BTCUSDT,128,1002040000,0\n\
                      frame_read,BTCUSDT,192,1003020000,1700000000003\n\
                      updated,BTCUSDT,192,1003021000,0\n";

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
fn latency_report_prints_results_and_writes_csv_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("sim.csv"), SIM).unwrap();
    fs::write(dir.path().join("engine.csv"), ENGINE).unwrap();
    let out = klagg(
        &[
            "latency-report",
            "--run",
            "klagg=sim.csv,engine.csv",
            "--run",
            "baseline=sim.csv,engine.csv",
            "--out",
            "out/lat",
        ],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    // End to end: ETH 64 in 50 µs, BTC 128 in 40 µs, BTC 64 in 2040 µs (delivered with 128);
    // the histograms keep 3 significant digits, so 2040 µs reads back as 2040.8.
    let results: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("RESULT "))
        .collect();
    assert_eq!(
        results,
        [
            "RESULT engine=klagg p50_us=50.0 p99_us=2040.8 p999_us=2040.8 msgs=4 lost=1",
            "RESULT engine=baseline p50_us=50.0 p99_us=2040.8 p999_us=2040.8 msgs=4 lost=1",
        ],
        "{stdout}"
    );
    assert!(stdout.contains("  sim_to_frame"), "{stdout}");
    let csv = fs::read_to_string(dir.path().join("out/lat/latency.csv")).unwrap();
    assert!(csv.contains("klagg,sim_to_frame,4,20.0,"), "{csv}");
    let svg = fs::read_to_string(dir.path().join("out/lat/latency.svg")).unwrap();
    assert_eq!(svg.matches("<polyline").count(), 2);
}

#[test]
fn throughput_report_prints_rate_and_loss() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("sim.csv"), SIM).unwrap();
    fs::write(
        dir.path().join("engine.csv"),
        ENGINE.replace("# trades=256", "# trades=250"),
    )
    .unwrap();
    let out = klagg(
        &[
            "latency-report",
            "--throughput",
            "--run",
            "klagg=sim.csv,engine.csv",
        ],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    // 250 trades from the first write (1.000 s) to the last engine stamp (1.003021 s).
    assert!(
        stdout.contains("RESULT engine=klagg msgs_per_s=82754 lost=6\n"),
        "{stdout}"
    );
}

#[test]
fn bad_runs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = klagg(&["latency-report", "--run", "klagg=sim.csv"], dir.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--run"), "{stderr}");
    assert!(stderr.contains("NAME=SIM_FILE,ENGINE_FILE"), "{stderr}");

    let out = klagg(
        &["latency-report", "--run", "klagg=missing.csv,engine.csv"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("missing.csv"));
}
