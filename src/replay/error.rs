//! What can stop a replay, worded so the user can find the problem: which option, which file,
//! which line and which field.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::interval::IntervalError;

/// Longest piece of an input quoted back in a message; capture lines can be kilobytes long.
const MAX_QUOTED_CHARS: usize = 80;

/// Which field of a row was at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRef {
    /// A CSV column: 1-based number and name.
    Column(usize, &'static str),
    /// A JSON field of a frame, by key.
    Key(&'static str),
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldRef::Column(number, name) => write!(f, "field {number} ({name})"),
            FieldRef::Key(key) => write!(f, "field {key:?}"),
        }
    }
}

/// What was wrong with one row, before it is placed in a file and line.
///
/// Built only on the error path, so owning its text costs nothing on good rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The field at fault, when one is.
    pub field: Option<FieldRef>,
    /// The offending text: the field, or the start of the line when no single field is at fault.
    pub text: String,
    /// Why the text was rejected.
    pub cause: String,
}

impl RowProblem {
    /// A problem with CSV column `index` (0-based) named `name`, whose bytes were `text`.
    pub fn column(
        index: usize,
        name: &'static str,
        text: &[u8],
        cause: impl fmt::Display,
    ) -> RowProblem {
        let field = Some(FieldRef::Column(index + 1, name));
        RowProblem {
            field,
            text: quote(text),
            cause: cause.to_string(),
        }
    }

    /// A problem with the JSON field `key` of a frame, whose value was `text`.
    pub fn key(key: &'static str, text: &[u8], cause: impl fmt::Display) -> RowProblem {
        RowProblem {
            field: Some(FieldRef::Key(key)),
            text: quote(text),
            cause: cause.to_string(),
        }
    }

    /// A problem with the row as a whole (wrong number of fields, not a frame, ...).
    pub fn row(text: &[u8], cause: impl fmt::Display) -> RowProblem {
        RowProblem {
            field: None,
            text: quote(text),
            cause: cause.to_string(),
        }
    }
}

/// Keeps the start of `text` as lossy UTF-8, marking a cut with `...`.
fn quote(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

/// One unusable row, located: `file:line: field N (name) "text": cause`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The input as named in messages: its path, or `archive.zip[entry.csv]` inside a zip.
    pub input: String,
    /// 1-based line number in that input.
    pub line: u64,
    /// What was wrong.
    pub problem: RowProblem,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.input, self.line)?;
        if let Some(field) = self.problem.field {
            write!(f, "{field} ")?;
        }
        write!(f, "{:?}: {}", self.problem.text, self.problem.cause)
    }
}

/// Why a replay stopped.
#[derive(Debug)]
pub enum ReplayError {
    /// The options cannot work (empty symbol, no inputs, two intervals writing one file, ...).
    Usage(String),
    /// The interval list did not parse; the message lists the valid intervals.
    Intervals(IntervalError),
    /// An input could not be opened or read.
    Input {
        /// The input's path.
        path: PathBuf,
        /// The I/O failure.
        source: io::Error,
    },
    /// A `.zip` input is not a readable archive or holds no `.csv` entry.
    Archive {
        /// The archive's path.
        path: PathBuf,
        /// What the zip reader said, or that no CSV was found.
        message: String,
    },
    /// A row could not be used and bad rows were not to be skipped.
    BadRow(BadRow),
    /// An output file or directory could not be created or written.
    Output {
        /// The output path.
        path: PathBuf,
        /// The I/O failure.
        source: io::Error,
    },
    /// The aggregator broke a promise the replay relies on. Never caused by input data: a bug.
    Internal(String),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Usage(message) => f.write_str(message),
            ReplayError::Intervals(e) => write!(f, "--intervals: {e}"),
            ReplayError::Input { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ReplayError::Archive { path, message } => write!(f, "{}: {message}", path.display()),
            ReplayError::BadRow(row) => write!(f, "{row} (use --skip-bad to skip bad rows)"),
            ReplayError::Output { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
            ReplayError::Internal(message) => {
                write!(f, "internal error (a bug in klagg): {message}")
            }
        }
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReplayError::Intervals(e) => Some(e),
            ReplayError::Input { source, .. } | ReplayError::Output { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<IntervalError> for ReplayError {
    fn from(e: IntervalError) -> ReplayError {
        ReplayError::Intervals(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_row_names_file_line_field_text_and_cause() {
        let row = BadRow {
            input: "data.csv".into(),
            line: 1234,
            problem: RowProblem::column(1, "price", b"12x.5", "invalid byte 'x' at position 2"),
        };
        assert_eq!(
            row.to_string(),
            r#"data.csv:1234: field 2 (price) "12x.5": invalid byte 'x' at position 2"#
        );
    }

    #[test]
    fn row_problem_without_field_and_long_text_is_cut() {
        let long = vec![b'a'; 200];
        let row = BadRow {
            input: "x.ws".into(),
            line: 2,
            problem: RowProblem::row(&long, "not a frame"),
        };
        let text = row.to_string();
        assert!(text.starts_with("x.ws:2: \"aaaa"), "{text}");
        assert!(text.ends_with("...\": not a frame"), "{text}");
        assert!(text.len() < 120, "{text}");
    }
}
