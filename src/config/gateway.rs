//! `[gateway]`: where klines are served, checked.

use std::time::Duration;

use super::error::{ConfigError, invalid, quoted};
use super::range::in_range;
use super::schema::GatewayConfig;
use super::settings::GatewaySettings;

/// `[gateway]`: an address that parses, and limits in range.
pub(super) fn gateway(raw: &GatewayConfig) -> Result<Option<GatewaySettings>, ConfigError> {
    let bind = raw.bind.trim();
    if bind.is_empty() {
        return Ok(None);
    }
    let bind = bind.parse().map_err(|_| {
        invalid(
            "gateway.bind",
            quoted(bind),
            "expected an address and port such as 127.0.0.1:8090, or \"\" to serve nothing"
                .to_owned(),
        )
    })?;
    let push_interval_ms: u64 = in_range(
        "gateway.push_interval_ms",
        raw.push_interval_ms,
        0..=60_000,
        "milliseconds; 0 pushes as fast as klines change",
    )?;
    let max_clients = in_range(
        "gateway.max_clients",
        raw.max_clients,
        1..=100_000,
        "clients",
    )?;
    let max_streams_per_client = in_range(
        "gateway.max_streams_per_client",
        raw.max_streams_per_client,
        1..=1_024,
        "Binance's limit per connection",
    )?;
    let history_per_slot = in_range(
        "gateway.history_per_slot",
        raw.history_per_slot,
        1..=100_000,
        "closed klines kept in memory per symbol and interval (144 bytes each; Binance serves \
         at most 1500 a request)",
    )?;
    Ok(Some(GatewaySettings {
        bind,
        push_interval: Duration::from_millis(push_interval_ms),
        max_clients,
        max_streams_per_client,
        history_per_slot,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_an_empty_bind_and_errors() {
        let on = gateway(&GatewayConfig::default()).unwrap().unwrap();
        assert_eq!(
            (on.bind.to_string(), on.push_interval),
            ("127.0.0.1:8090".to_owned(), Duration::from_millis(100))
        );
        let off = GatewayConfig {
            bind: " ".to_owned(),
            ..GatewayConfig::default()
        };
        assert_eq!(gateway(&off).unwrap(), None);
        let bad = GatewayConfig {
            bind: "localhost".to_owned(),
            ..GatewayConfig::default()
        };
        let err = gateway(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("gateway.bind = \"localhost\": expected an address and port"),
            "{err}"
        );
        let many = GatewayConfig {
            max_streams_per_client: 2_000,
            ..GatewayConfig::default()
        };
        assert!(
            gateway(&many)
                .unwrap_err()
                .to_string()
                .contains("gateway.max_streams_per_client = 2000")
        );
        assert_eq!(on.history_per_slot, 1_500);
        let none = GatewayConfig {
            history_per_slot: 0,
            ..GatewayConfig::default()
        };
        let err = gateway(&none).unwrap_err().to_string();
        assert!(
            err.starts_with("gateway.history_per_slot = 0: must be 1..=100000"),
            "{err}"
        );
    }
}
