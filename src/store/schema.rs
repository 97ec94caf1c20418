//! Opening the database file: directory, journal mode, tables and the schema version.
//!
//! WAL with `synchronous=NORMAL` is what makes a kill -9 cheap: a commit is an append to the
//! write-ahead log, readers (the REST gateway) never wait for the writer, and a process crash
//! loses no committed transaction (only a power loss can drop the last few, never corrupt).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::error::{StoreError, StoreErrorKind};

/// The layout this build reads and writes; stored in `meta` so an incompatible file is refused
/// instead of misread.
pub(crate) const SCHEMA_VERSION: &str = "1";

/// How long a statement waits for another connection's lock before failing with `SQLITE_BUSY`.
/// Short on purpose: the sink retries with its own backoff and must stay responsive to stop.
pub(crate) const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(100);

/// Decimals are TEXT (exact; REAL would round) and the table is clustered on its key, which is
/// also every query's access path, so a WITHOUT ROWID table stores each row once.
const CREATE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS klines (
    symbol TEXT NOT NULL,
    interval TEXT NOT NULL,
    open_time INTEGER NOT NULL,
    close_time INTEGER NOT NULL,
    open TEXT,
    high TEXT,
    low TEXT,
    close TEXT,
    volume TEXT,
    quote_volume TEXT,
    count INTEGER,
    taker_buy_volume TEXT,
    taker_buy_quote_volume TEXT,
    first_trade_id INTEGER,
    last_trade_id INTEGER,
    PRIMARY KEY (symbol, interval, open_time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

/// Opens or creates the database at `path`, ready for reads and writes.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::io(
                path,
                format!("creating directory {}", dir.display()),
                StoreErrorKind::CannotOpen,
                e,
            )
        })?;
    }
    let fail = |action: &str| {
        let action = action.to_owned();
        move |e| StoreError::sqlite(path, action, e)
    };
    let conn = Connection::open(path).map_err(fail("opening"))?;
    conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)
        .map_err(fail("setting the busy timeout"))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(fail("switching to WAL journal mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::new(
            path,
            "switching to WAL journal mode",
            StoreErrorKind::Other,
            format!("SQLite kept journal_mode={mode}"),
        ));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail("setting synchronous=NORMAL"))?;
    create_schema(path, conn)
}

/// Creates the tables if needed and checks the stored schema version.
///
/// An existing file is only read, so a store can be opened while another connection holds the
/// write lock. A new one is set up in one write transaction, so that two processes creating it
/// at once agree on it.
fn create_schema(path: &Path, mut conn: Connection) -> Result<Connection, StoreError> {
    let fail = |e| StoreError::sqlite(path, "creating the schema", e);
    if let Some(version) = stored_version(&conn).map_err(fail)? {
        check_version(path, &version)?;
        return Ok(conn);
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    tx.execute_batch(CREATE_TABLES).map_err(fail)?;
    tx.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?1)",
        [SCHEMA_VERSION],
    )
    .map_err(fail)?;
    let version = stored_version(&tx).map_err(fail)?.unwrap_or_default();
    check_version(path, &version)?;
    tx.commit().map_err(fail)?;
    Ok(conn)
}

/// The schema version recorded in the file, or `None` for a file not set up yet.
fn stored_version(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
        [],
        |row| row.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |row| row.get(0),
    )
    .optional()
}

fn check_version(path: &Path, version: &str) -> Result<(), StoreError> {
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    Err(StoreError::new(
        path,
        "checking the schema version",
        StoreErrorKind::SchemaMismatch,
        format!("file has version {version:?}, this build uses {SCHEMA_VERSION}"),
    ))
}
