//! `[connection]`: timeouts and limits of each WebSocket connection, within Binance's rules.

use std::time::Duration;

use super::error::{ConfigError, invalid};
use super::range::in_range;
use super::schema::ConnectionConfig;
use super::settings::ConnectionSettings;

/// Validates `[connection]`.
pub(crate) fn connection(raw: &ConnectionConfig) -> Result<ConnectionSettings, ConfigError> {
    let connect_timeout_ms: u64 = in_range(
        "connection.connect_timeout_ms",
        raw.connect_timeout_ms,
        100..=60_000,
        "milliseconds",
    )?;
    let ping_interval_s: u64 = in_range(
        "connection.ping_interval_s",
        raw.ping_interval_s,
        1..=600,
        "seconds; Binance drops a connection whose pong is 10 minutes late",
    )?;
    let read_tick_ms: u64 = in_range(
        "connection.read_tick_ms",
        raw.read_tick_ms,
        1..=10_000,
        "milliseconds",
    )?;
    let stale_timeout_s: u64 = in_range(
        "connection.stale_timeout_s",
        raw.stale_timeout_s,
        1..=3_600,
        "seconds",
    )?;
    // Staleness is only noticed on a read tick, so a timeout within one tick cannot work.
    if stale_timeout_s * 1_000 <= read_tick_ms {
        return Err(invalid(
            "connection.stale_timeout_s",
            stale_timeout_s,
            format!(
                "must be longer than connection.read_tick_ms = {read_tick_ms} ms, the tick on \
                 which staleness is noticed"
            ),
        ));
    }
    // Our pings are what keep a quiet connection (symbols not trading) fresh: their pongs are
    // frames too. A ping interval at or past the stale timeout would reconnect quiet
    // connections for nothing.
    if ping_interval_s >= stale_timeout_s {
        return Err(invalid(
            "connection.ping_interval_s",
            ping_interval_s,
            format!(
                "must be shorter than connection.stale_timeout_s = {stale_timeout_s} s, or a \
                 connection whose symbols do not trade is reconnected as stale"
            ),
        ));
    }
    let max_message_bytes = in_range(
        "connection.max_message_bytes",
        raw.max_message_bytes,
        65_536..=67_108_864,
        "bytes; a whole market's !miniTicker@arr message is hundreds of KiB",
    )?;
    let rotate_after_s: u64 = in_range(
        "connection.rotate_after_s",
        raw.rotate_after_s,
        10..=85_800,
        "seconds; Binance closes connections at 24 h, so leave time to open the replacement",
    )?;
    let subscribe_per_s = in_range(
        "connection.subscribe_per_s",
        raw.subscribe_per_s,
        1..=10,
        "Binance disconnects a connection sending more than 10 messages per second",
    )?;
    Ok(ConnectionSettings {
        connect_timeout: Duration::from_millis(connect_timeout_ms),
        ping_interval: Duration::from_secs(ping_interval_s),
        stale_timeout: Duration::from_secs(stale_timeout_s),
        read_tick: Duration::from_millis(read_tick_ms),
        max_message_bytes,
        rotate_after: Duration::from_secs(rotate_after_s),
        subscribe_per_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = connection(&ConnectionConfig::default()).unwrap();
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.ping_interval, Duration::from_secs(10));
        assert_eq!(c.stale_timeout, Duration::from_secs(30));
        assert_eq!(c.read_tick, Duration::from_millis(100));
        assert_eq!(c.max_message_bytes, 1_048_576);
        assert_eq!(c.rotate_after, Duration::from_secs(82_800));
        assert_eq!(c.subscribe_per_s, 5);
    }

    #[test]
    fn errors_name_key_value_and_what_is_valid() {
        let base = ConnectionConfig::default;
        let cases = [
            (
                ConnectionConfig {
                    subscribe_per_s: 11,
                    ..base()
                },
                "connection.subscribe_per_s = 11: must be 1..=10 (Binance disconnects a \
                 connection sending more than 10 messages per second)",
            ),
            (
                ConnectionConfig {
                    stale_timeout_s: 2,
                    read_tick_ms: 2_000,
                    ..base()
                },
                "connection.stale_timeout_s = 2: must be longer than connection.read_tick_ms = \
                 2000 ms, the tick on which staleness is noticed",
            ),
            (
                ConnectionConfig {
                    ping_interval_s: 30,
                    ..base()
                },
                "connection.ping_interval_s = 30: must be shorter than \
                 connection.stale_timeout_s = 30 s, or a connection whose symbols do not trade \
                 is reconnected as stale",
            ),
            (
                ConnectionConfig {
                    rotate_after_s: 86_400,
                    ..base()
                },
                "connection.rotate_after_s = 86400: must be 10..=85800 (seconds; Binance closes \
                 connections at 24 h, so leave time to open the replacement)",
            ),
            (
                ConnectionConfig {
                    read_tick_ms: 0,
                    ..base()
                },
                "connection.read_tick_ms = 0: must be 1..=10000 (milliseconds)",
            ),
        ];
        for (raw, message) in cases {
            assert_eq!(connection(&raw).unwrap_err().to_string(), message);
        }
        for raw in [
            ConnectionConfig {
                connect_timeout_ms: 0,
                ..base()
            },
            ConnectionConfig {
                ping_interval_s: 0,
                ..base()
            },
            ConnectionConfig {
                max_message_bytes: 1_000,
                ..base()
            },
        ] {
            assert!(connection(&raw).is_err(), "{raw:?}");
        }
    }
}
