//! Why a config was rejected, worded so the user can fix it without reading the code: the file
//! first, then the key as a dotted path, the bad value and what would be valid.

use std::fmt;
use std::io;

/// A config that cannot be read, parsed or validated. `Display` gives the whole message.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        /// The path as given.
        path: String,
        /// What the OS said.
        error: io::Error,
    },
    /// Not TOML, an unknown key, or a value of the wrong type. `message` is toml's, which names
    /// the line, column and key.
    Syntax {
        /// File name (or other origin) of the text.
        origin: String,
        /// toml's message.
        message: String,
    },
    /// A value out of range or inconsistent with another key.
    Invalid {
        /// File name, when the config came from one.
        origin: Option<String>,
        /// Dotted key path such as `threads.aggregator_cores[1]`.
        key: String,
        /// The value as written in TOML (strings quoted).
        value: String,
        /// What is wrong and what is valid.
        problem: String,
    },
}

impl ConfigError {
    /// The dotted key an [`ConfigError::Invalid`] error is about.
    #[must_use]
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => None,
        }
    }

    /// Names the file an error came from, unless it already names one (for errors of
    /// [`Plan::new`](super::Plan::new), which does not know the file).
    #[must_use]
    pub fn in_file(self, file: Option<&str>) -> ConfigError {
        match self {
            ConfigError::Invalid {
                origin: None,
                key,
                value,
                problem,
            } => ConfigError::Invalid {
                origin: file.map(str::to_owned),
                key,
                value,
                problem,
            },
            other => other,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, error } => write!(f, "{path}: cannot read: {error}"),
            ConfigError::Syntax { origin, message } => write!(f, "{origin}: {message}"),
            ConfigError::Invalid {
                origin,
                key,
                value,
                problem,
            } => {
                if let Some(origin) = origin {
                    write!(f, "{origin}: ")?;
                }
                write!(f, "{key} = {value}: {problem}")
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { error, .. } => Some(error),
            ConfigError::Syntax { .. } | ConfigError::Invalid { .. } => None,
        }
    }
}

/// Builds an [`ConfigError::Invalid`] without an origin (the caller adds it); `value` is
/// anything that prints as TOML would write it.
pub(crate) fn invalid(
    key: impl Into<String>,
    value: impl fmt::Display,
    problem: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        origin: None,
        key: key.into(),
        value: value.to_string(),
        problem: problem.into(),
    }
}

/// A TOML string literal for messages: `"2w"` with quotes and escapes.
pub(crate) fn quoted(text: &str) -> String {
    format!("{text:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_put_the_file_first() {
        let error = invalid("exchange.max_symbols", 0, "must be 1..=1000000");
        assert_eq!(error.key(), Some("exchange.max_symbols"));
        assert_eq!(
            error.to_string(),
            "exchange.max_symbols = 0: must be 1..=1000000"
        );
        let error = error.in_file(Some("a.toml"));
        assert_eq!(
            error.to_string(),
            "a.toml: exchange.max_symbols = 0: must be 1..=1000000"
        );
        let read = ConfigError::Read {
            path: "missing.toml".to_owned(),
            error: io::Error::new(io::ErrorKind::NotFound, "not found"),
        };
        assert_eq!(read.to_string(), "missing.toml: cannot read: not found");
        assert_eq!(quoted("2w"), "\"2w\"");
    }
}
