//! The files of a `klagg run` against the loopback simulator: a config following every symbol
//! the simulator lists (1s, 1m and 1h klines, two shards, a gateway on a free port, a latency
//! stamp of every trade), its kline database and its stamp file, all in one folder.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The intervals the config asks for.
pub const INTERVALS: [&str; 3] = ["1s", "1m", "1h"];

/// Where a run's files are.
pub struct RunFiles {
    /// The config file, written.
    pub config: PathBuf,
    /// The kline database the config names.
    pub database: PathBuf,
    /// Where `--stamps` is to write.
    pub stamps: PathBuf,
}

/// Writes the config for the simulator at `sim` into `dir`, with `exchange_extra` (lines
/// such as `redundancy = 2`) added to `[exchange]`.
pub fn write_run_config(dir: &Path, sim: SocketAddr, exchange_extra: &str) -> RunFiles {
    let files = RunFiles {
        config: dir.join("klagg.toml"),
        database: dir.join("klines.sqlite"),
        stamps: dir.join("stamps.csv"),
    };
    let intervals = INTERVALS.map(|i| format!("\"{i}\"")).join(", ");
    std::fs::write(
        &files.config,
        format!(
            "[exchange]\nsymbols = \"all\"\nws_url = \"ws://{sim}/market/stream\"\n\
             rest_url = \"http://{sim}\"\nmax_symbols = 16\n{exchange_extra}\n\
             [klines]\nintervals = [{intervals}]\ndatabase = \"{db}\"\n\
             [threads]\nio_cores = []\naggregator_cores = []\naggregator_shards = 2\n\
             consumer_cores = []\n[gateway]\nbind = \"127.0.0.1:0\"\n\
             [latency]\nsample_every = 1\n",
            db = files.database.display()
        ),
    )
    .expect("write the klagg config");
    files
}
