//! `[nats]`: publishing klines to NATS and JetStream, as written and checked.
//!
//! ```toml
//! [nats]
//! servers = ["nats://127.0.0.1:4222"]   # empty (the default): publish nothing
//! subject_prefix = "klagg"              # subjects are <prefix>.kline.<market>.<SYMBOL>.<interval>
//! publish = ["open", "closed", "latest"]
//! duplicate_window_ms = 120000          # JetStream de-duplication window of the closed stream
//! max_pending = 200000                  # closed klines held while the server is away
//! ```

use std::time::Duration;

use serde::Deserialize;

use super::error::{ConfigError, invalid, quoted};
use super::range::in_range;

/// `[nats]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    /// Server URLs (`nats://host:port`); empty publishes nothing.
    pub servers: Vec<String>,
    /// First subject token of everything published.
    pub subject_prefix: String,
    /// Any of `"open"` (core NATS updates of open klines), `"closed"` (the JetStream stream of
    /// closed klines) and `"latest"` (the last-per-subject stream of the latest kline).
    pub publish: Vec<String>,
    /// JetStream's de-duplication window of the closed-kline stream, in milliseconds.
    pub duplicate_window_ms: i64,
    /// Closed klines held in memory while the server does not acknowledge them; past it the
    /// publisher stops pulling and the engine's backlog bound keeps the rest.
    pub max_pending: i64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            servers: Vec::new(),
            subject_prefix: "klagg".to_owned(),
            publish: vec!["open".to_owned(), "closed".to_owned(), "latest".to_owned()],
            duplicate_window_ms: 120_000,
            max_pending: 200_000,
        }
    }
}

/// `[nats]` checked: what the NATS publisher does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSettings {
    /// Server URLs, at least one.
    pub servers: Vec<String>,
    /// First subject token.
    pub subject_prefix: String,
    /// Publish open-kline updates on core NATS.
    pub open: bool,
    /// Publish closed klines (corrections included) to the JetStream stream.
    pub closed: bool,
    /// Keep the latest kline of every symbol and interval in a last-per-subject stream.
    pub latest: bool,
    /// JetStream de-duplication window of the closed stream.
    pub duplicate_window: Duration,
    /// Closed klines held while unacknowledged.
    pub max_pending: usize,
}

/// `[nats]`: servers that look like URLs, a prefix that is one subject token, known kinds.
pub(super) fn nats(raw: &NatsConfig) -> Result<Option<NatsSettings>, ConfigError> {
    if raw.servers.is_empty() {
        return Ok(None);
    }
    for server in &raw.servers {
        let rest = server.strip_prefix("nats://").unwrap_or(server);
        if rest.is_empty() || rest.contains(char::is_whitespace) || !rest.contains(':') {
            return Err(invalid(
                "nats.servers",
                quoted(server),
                "expected a server such as nats://127.0.0.1:4222".to_owned(),
            ));
        }
    }
    let prefix = raw.subject_prefix.as_str();
    if prefix.is_empty()
        || prefix
            .chars()
            .any(|c| matches!(c, '.' | '*' | '>') || c.is_whitespace())
    {
        return Err(invalid(
            "nats.subject_prefix",
            quoted(prefix),
            "expected one subject token: no '.', '*', '>' or spaces".to_owned(),
        ));
    }
    let (mut open, mut closed, mut latest) = (false, false, false);
    for kind in &raw.publish {
        match kind.as_str() {
            "open" => open = true,
            "closed" => closed = true,
            "latest" => latest = true,
            other => {
                return Err(invalid(
                    "nats.publish",
                    quoted(other),
                    "expected \"open\", \"closed\" or \"latest\"".to_owned(),
                ));
            }
        }
    }
    let window: u64 = in_range(
        "nats.duplicate_window_ms",
        raw.duplicate_window_ms,
        1_000..=86_400_000,
        "milliseconds",
    )?;
    let max_pending = in_range(
        "nats.max_pending",
        raw.max_pending,
        1..=100_000_000,
        "closed klines",
    )?;
    Ok(Some(NatsSettings {
        servers: raw.servers.clone(),
        subject_prefix: prefix.to_owned(),
        open,
        closed,
        latest,
        duplicate_window: Duration::from_millis(window),
        max_pending,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_checked_when_on() {
        assert_eq!(nats(&NatsConfig::default()).unwrap(), None);
        let on = NatsConfig {
            servers: vec!["nats://127.0.0.1:4222".to_owned()],
            ..NatsConfig::default()
        };
        let settings = nats(&on).unwrap().unwrap();
        assert!(settings.open && settings.closed && settings.latest);
        assert_eq!(settings.duplicate_window, Duration::from_secs(120));
        let bad_prefix = NatsConfig {
            subject_prefix: "a.b".to_owned(),
            ..on.clone()
        };
        let err = nats(&bad_prefix).unwrap_err().to_string();
        assert!(err.starts_with("nats.subject_prefix = \"a.b\""), "{err}");
        let bad_kind = NatsConfig {
            publish: vec!["all".to_owned()],
            ..on.clone()
        };
        assert!(
            nats(&bad_kind)
                .unwrap_err()
                .to_string()
                .contains("nats.publish")
        );
        let bad_server = NatsConfig {
            servers: vec!["localhost".to_owned()],
            ..on
        };
        assert!(
            nats(&bad_server)
                .unwrap_err()
                .to_string()
                .contains("nats.servers")
        );
    }
}
