//! What can go wrong with the kline database, said so an operator can act on it.
//!
//! Every error names the file and what was being done, and sorts the cause into a
//! [`StoreErrorKind`]: the sink retries the kinds that pass by themselves (another writer holding
//! the lock, a full or flaky disk) and stops on the ones that need a human.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// The cause of a [`StoreError`], coarse enough to act on and to export as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// Another connection holds the write lock (`SQLITE_BUSY`).
    Busy,
    /// A table is locked within a shared cache (`SQLITE_LOCKED`).
    Locked,
    /// The disk, or the database's size limit, is full (`SQLITE_FULL`).
    DiskFull,
    /// The operating system reported an I/O error (`SQLITE_IOERR`).
    Io,
    /// The file is damaged or is not a SQLite database.
    Corrupt,
    /// The file or its directory cannot be written.
    ReadOnly,
    /// The file or its directory cannot be opened or created.
    CannotOpen,
    /// The file was written by a build with another schema version.
    SchemaMismatch,
    /// A stored row holds a value this build cannot read back exactly.
    BadValue,
    /// The sink's thread could not be started.
    Thread,
    /// Anything else SQLite reported.
    Other,
}

impl StoreErrorKind {
    /// Every kind, in declaration order (for exporting one metric series per kind).
    pub const ALL: [StoreErrorKind; 11] = [
        StoreErrorKind::Busy,
        StoreErrorKind::Locked,
        StoreErrorKind::DiskFull,
        StoreErrorKind::Io,
        StoreErrorKind::Corrupt,
        StoreErrorKind::ReadOnly,
        StoreErrorKind::CannotOpen,
        StoreErrorKind::SchemaMismatch,
        StoreErrorKind::BadValue,
        StoreErrorKind::Thread,
        StoreErrorKind::Other,
    ];

    /// True when the same operation may succeed later without anyone intervening.
    #[must_use]
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            StoreErrorKind::Busy
                | StoreErrorKind::Locked
                | StoreErrorKind::DiskFull
                | StoreErrorKind::Io
        )
    }

    /// A short stable name, usable as a metric label: `busy`, `disk_full`, ...
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            StoreErrorKind::Busy => "busy",
            StoreErrorKind::Locked => "locked",
            StoreErrorKind::DiskFull => "disk_full",
            StoreErrorKind::Io => "io",
            StoreErrorKind::Corrupt => "corrupt",
            StoreErrorKind::ReadOnly => "read_only",
            StoreErrorKind::CannotOpen => "cannot_open",
            StoreErrorKind::SchemaMismatch => "schema_mismatch",
            StoreErrorKind::BadValue => "bad_value",
            StoreErrorKind::Thread => "thread",
            StoreErrorKind::Other => "other",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            StoreErrorKind::Busy => "the database is locked by another connection (SQLITE_BUSY)",
            StoreErrorKind::Locked => "a table is locked (SQLITE_LOCKED)",
            StoreErrorKind::DiskFull => "the disk or database is full (SQLITE_FULL)",
            StoreErrorKind::Io => "disk I/O error (SQLITE_IOERR)",
            StoreErrorKind::Corrupt => "the file is corrupt or not a SQLite database",
            StoreErrorKind::ReadOnly => "the database is read-only",
            StoreErrorKind::CannotOpen => "the file cannot be opened or created",
            StoreErrorKind::SchemaMismatch => {
                "the file has a schema version this build does not use"
            }
            StoreErrorKind::BadValue => "a stored value cannot be read back exactly",
            StoreErrorKind::Thread => "the sink thread could not be started",
            StoreErrorKind::Other => "SQLite error",
        }
    }

    /// The kind of a rusqlite error, by its SQLite result code.
    pub(crate) fn of_sqlite(error: &rusqlite::Error) -> StoreErrorKind {
        match error {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => return StoreErrorKind::BadValue,
            _ => {}
        }
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy) => StoreErrorKind::Busy,
            Some(ErrorCode::DatabaseLocked) => StoreErrorKind::Locked,
            Some(ErrorCode::DiskFull) => StoreErrorKind::DiskFull,
            Some(ErrorCode::SystemIoFailure) => StoreErrorKind::Io,
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreErrorKind::Corrupt,
            Some(ErrorCode::ReadOnly) => StoreErrorKind::ReadOnly,
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => StoreErrorKind::CannotOpen,
            _ => StoreErrorKind::Other,
        }
    }

    /// A compact code for keeping the last kind in an atomic; 0 is reserved for "none".
    pub(crate) fn code(self) -> u8 {
        let index = StoreErrorKind::ALL
            .iter()
            .position(|&k| k == self)
            .unwrap_or(StoreErrorKind::ALL.len() - 1);
        u8::try_from(index + 1).unwrap_or(u8::MAX)
    }

    /// Inverse of [`StoreErrorKind::code`].
    pub(crate) fn from_code(code: u8) -> Option<StoreErrorKind> {
        StoreErrorKind::ALL
            .get(usize::from(code.checked_sub(1)?))
            .copied()
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A failed operation on the kline database: which file, what was being done, and why.
#[derive(Debug)]
pub struct StoreError {
    path: PathBuf,
    action: String,
    kind: StoreErrorKind,
    detail: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error of `kind` while doing `action` on `path`, with a free-text `detail`.
    pub(crate) fn new(
        path: &Path,
        action: impl Into<String>,
        kind: StoreErrorKind,
        detail: impl Into<String>,
    ) -> StoreError {
        StoreError {
            path: path.to_path_buf(),
            action: action.into(),
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    /// Wraps a rusqlite error, classified by its result code.
    pub(crate) fn sqlite(path: &Path, action: impl Into<String>, error: rusqlite::Error) -> Self {
        let kind = StoreErrorKind::of_sqlite(&error);
        let mut e = StoreError::new(path, action, kind, error.to_string());
        e.source = Some(Box::new(error));
        e
    }

    /// Wraps an operating-system error (creating the directory, starting the thread).
    pub(crate) fn io(
        path: &Path,
        action: impl Into<String>,
        kind: StoreErrorKind,
        error: std::io::Error,
    ) -> StoreError {
        let kind = if error.kind() == std::io::ErrorKind::StorageFull {
            StoreErrorKind::DiskFull
        } else {
            kind
        };
        let mut e = StoreError::new(path, action, kind, error.to_string());
        e.source = Some(Box::new(error));
        e
    }

    /// The cause, sorted for acting on it.
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// True when retrying the same operation later may succeed (busy, locked, disk full, I/O).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// The database file the operation was on.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kline database {}: {} failed: {}",
            self.path.display(),
            self.action,
            self.kind
        )?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        if self.is_retryable() {
            f.write_str("; retryable")?;
        }
        Ok(())
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for kind in StoreErrorKind::ALL {
            assert_eq!(StoreErrorKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(StoreErrorKind::from_code(0), None);
    }

    #[test]
    fn display_names_file_action_and_cause() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        let e = StoreError::sqlite(Path::new("data/k.sqlite"), "writing 3 klines", busy);
        assert_eq!(e.kind(), StoreErrorKind::Busy);
        assert!(e.is_retryable());
        let text = e.to_string();
        assert!(text.contains("data/k.sqlite"), "{text}");
        assert!(text.contains("writing 3 klines"), "{text}");
        assert!(text.contains("SQLITE_BUSY"), "{text}");
        let corrupt = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            None,
        );
        let e = StoreError::sqlite(Path::new("x"), "reading", corrupt);
        assert_eq!(e.kind(), StoreErrorKind::Corrupt);
        assert!(!e.is_retryable());
    }
}
