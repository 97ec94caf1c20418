//! The kline database: batched upserts of klines and Binance-style range queries.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};

use super::error::StoreError;
use super::row::{self, KlineText, SELECT_COLUMNS, UPSERT};
use super::schema::open_connection;
use crate::interval::Interval;
use crate::kline::Kline;

/// One connection to the kline database file.
///
/// A connection is used from one thread at a time (it is `Send`, not `Sync`); the sink and the
/// gateway each open their own. In WAL mode readers never wait for the writer, so any number
/// of reading connections can sit beside the sink's.
#[derive(Debug)]
pub struct KlineStore {
    conn: Connection,
    path: PathBuf,
    /// Reused decimal-text buffers for writing rows.
    text: KlineText,
}

impl KlineStore {
    /// Opens the database at `path`, creating it and its parent directories if needed.
    ///
    /// Sets WAL journal mode and `synchronous=NORMAL`, creates the tables and checks the schema
    /// version. Statements wait at most 100 ms for another connection's lock, see
    /// [`KlineStore::set_busy_timeout`].
    ///
    /// # Errors
    ///
    /// The directory or file cannot be created or opened, the file is not a SQLite database, it
    /// was written with another schema version, or WAL mode could not be set.
    pub fn open(path: &Path) -> Result<KlineStore, StoreError> {
        let conn = open_connection(path)?;
        Ok(KlineStore {
            conn,
            path: path.to_path_buf(),
            text: KlineText::default(),
        })
    }

    /// The file this store was opened on.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long a statement waits for another connection's lock before failing with a
    /// retryable [`super::StoreErrorKind::Busy`]; zero fails at once.
    ///
    /// # Errors
    ///
    /// Only if SQLite refuses the setting.
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(timeout)
            .map_err(|e| StoreError::sqlite(&self.path, "setting the busy timeout", e))
    }

    /// Writes `rows` (symbol, interval, kline) in one transaction and returns how many.
    ///
    /// A row whose (symbol, interval, open time) is already stored replaces it entirely, so a
    /// correction, or the final state of a period first stored while open, wins. Either every
    /// row is committed or none is.
    ///
    /// # Errors
    ///
    /// Nothing was written; [`StoreError::is_retryable`] says whether the same batch may
    /// succeed later (another writer holds the lock, the disk is full, an I/O error).
    pub fn write_batch<S: AsRef<str>>(
        &mut self,
        rows: &[(S, Interval, Kline)],
    ) -> Result<usize, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let path = &self.path;
        let fail = |e| StoreError::sqlite(path, format!("writing {} klines", rows.len()), e);
        // IMMEDIATE takes the write lock up front: a deferred transaction that upgrades later
        // can fail mid-batch in ways a retry of the whole batch handles less cleanly.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        {
            let mut insert = tx.prepare_cached(UPSERT).map_err(fail)?;
            let mut interval_name = String::new();
            for (symbol, interval, k) in rows {
                interval_name.clear();
                // Writing to a String cannot fail.
                let _ = write!(interval_name, "{interval}");
                self.text.fill(k);
                let t = &self.text;
                insert
                    .execute(params![
                        symbol.as_ref(),
                        interval_name,
                        k.open_time,
                        k.close_time,
                        t.open,
                        t.high,
                        t.low,
                        t.close,
                        t.volume,
                        t.quote_volume,
                        k.count,
                        t.taker_buy_volume,
                        t.taker_buy_quote_volume,
                        k.first_trade_id,
                        k.last_trade_id,
                    ])
                    .map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)?;
        Ok(rows.len())
    }

    /// Klines of `symbol` and `interval` with Binance's `/fapi/v1/klines` semantics, ordered by
    /// open time ascending.
    ///
    /// `start` and `end` bound the open time, both inclusive. With `start` (and optionally
    /// `end`) the first `limit` klines from it; with only `end` the last `limit` up to it; with
    /// neither the most recent `limit`. `limit` is not capped here: the caller applies
    /// Binance's default and maximum.
    ///
    /// # Errors
    ///
    /// The read failed, or a stored row does not read back exactly
    /// ([`super::StoreErrorKind::BadValue`]).
    pub fn klines(
        &self,
        symbol: &str,
        interval: Interval,
        start: Option<i64>,
        end: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Kline>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let low = start.unwrap_or(i64::MIN);
        let high = end.unwrap_or(i64::MAX);
        // Without a start the answer is the newest `limit` rows: read them newest first and
        // turn them around, so the index is walked only as far as needed.
        let newest_first = start.is_none();
        self.select(symbol, interval, low, high, limit, newest_first)
            .map(|mut klines| {
                if newest_first {
                    klines.reverse();
                }
                klines
            })
    }

    /// The stored kline of `symbol` and `interval` with the latest open time, if any.
    ///
    /// On start the engine uses it to resume a period that is still current.
    ///
    /// # Errors
    ///
    /// As for [`KlineStore::klines`].
    pub fn latest(&self, symbol: &str, interval: Interval) -> Result<Option<Kline>, StoreError> {
        self.select(symbol, interval, i64::MIN, i64::MAX, 1, true)
            .map(|klines| klines.into_iter().next())
    }

    /// Every symbol that has at least one stored kline, sorted by name.
    ///
    /// # Errors
    ///
    /// The read failed.
    pub fn symbols(&self) -> Result<Vec<String>, StoreError> {
        let fail = |e| StoreError::sqlite(&self.path, "listing the stored symbols", e);
        let mut select = self
            .conn
            .prepare_cached("SELECT DISTINCT symbol FROM klines ORDER BY symbol")
            .map_err(fail)?;
        let rows = select.query_map([], |row| row.get(0)).map_err(fail)?;
        rows.collect::<Result<Vec<String>, _>>().map_err(fail)
    }

    fn select(
        &self,
        symbol: &str,
        interval: Interval,
        low: i64,
        high: i64,
        limit: usize,
        newest_first: bool,
    ) -> Result<Vec<Kline>, StoreError> {
        let interval_name = interval.to_string();
        let fail = |e| {
            StoreError::sqlite(
                &self.path,
                format!("reading klines of {symbol} {interval_name}"),
                e,
            )
        };
        let order = if newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {SELECT_COLUMNS} FROM klines \
             WHERE symbol = ?1 AND interval = ?2 AND open_time BETWEEN ?3 AND ?4 \
             ORDER BY open_time {order} LIMIT ?5"
        );
        let mut select = self.conn.prepare_cached(&sql).map_err(fail)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = select
            .query_map(
                params![symbol, interval_name, low, high, limit],
                row::decode,
            )
            .map_err(fail)?;
        rows.collect::<Result<Vec<Kline>, _>>().map_err(fail)
    }
}
