//! Where the real Binance data lives: `$KLAGG_DATA`, or `../shared/data/binance` next to the
//! crate. Tests read it in place; it is never copied into the project.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The data folder, or `None` after telling why `test` skips.
pub fn data_dir(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("KLAGG_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/binance"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "{test}: skipped: no data folder at {} (set KLAGG_DATA to point at it)",
            dir.display()
        );
        None
    }
}
