//! `[exchange]` market and URLs: the market name, and base URLs that really reach it.

use super::error::{ConfigError, invalid, quoted};
use super::settings::Market;

/// Hosts of each market's Binance endpoints, to catch a URL left over from the other market.
const USDM_HOSTS: [&str; 2] = ["fstream.binance.com", "fapi.binance.com"];
const SPOT_HOSTS: [&str; 2] = ["stream.binance.com", "api.binance.com"];

/// `exchange.market`: `"usdm"` or `"spot"`.
pub(crate) fn market(text: &str) -> Result<Market, ConfigError> {
    match text {
        "usdm" => Ok(Market::Usdm),
        "spot" => Ok(Market::Spot),
        _ => Err(invalid(
            "exchange.market",
            quoted(text),
            "must be \"usdm\" (USD-M futures) or \"spot\"",
        )),
    }
}

/// `exchange.ws_url`, or the market's default: a `ws://`/`wss://` base without a query (the
/// engine appends `?streams=...`).
pub(crate) fn ws_url(given: Option<&str>, market: Market) -> Result<String, ConfigError> {
    let Some(url) = given else {
        return Ok(market.default_ws_url().to_owned());
    };
    checked_ws_url("exchange.ws_url", url, market)
}

/// `exchange.redundant_ws_url`, or `ws_url`: the endpoint of the extra connections.
pub(crate) fn redundant_ws_url(
    given: Option<&str>,
    ws_url: &str,
    market: Market,
) -> Result<String, ConfigError> {
    match given {
        Some(url) => checked_ws_url("exchange.redundant_ws_url", url, market),
        None => Ok(ws_url.to_owned()),
    }
}

/// A `ws://`/`wss://` base given under `KEY`, checked against the market.
fn checked_ws_url(key: &str, url: &str, market: Market) -> Result<String, ConfigError> {
    let example = market.default_ws_url();
    let host = base_url_host(key, url, &["ws://", "wss://"], example)?;
    check_host_market(key, url, host, market)?;
    if host == USDM_HOSTS[0] && !path_of(url).starts_with("/market/") {
        // The legacy paths still accept the handshake, so nothing would fail loudly later.
        return Err(invalid(
            key,
            quoted(url),
            format!(
                "the legacy USD-M paths (/ws, /stream) were retired on 2026-04-23 and deliver \
                 nothing; use {} or remove the key for the default",
                quoted(example)
            ),
        ));
    }
    Ok(url.to_owned())
}

/// `exchange.rest_url`, or the market's default: an `http://`/`https://` base, stored without
/// a trailing `/` so paths can be appended.
pub(crate) fn rest_url(given: Option<&str>, market: Market) -> Result<String, ConfigError> {
    const KEY: &str = "exchange.rest_url";
    let Some(url) = given else {
        return Ok(market.default_rest_url().to_owned());
    };
    let host = base_url_host(
        KEY,
        url,
        &["http://", "https://"],
        market.default_rest_url(),
    )?;
    check_host_market(KEY, url, host, market)?;
    Ok(url.trim_end_matches('/').to_owned())
}

/// Checks the scheme and shape of a base URL and returns its host as written.
fn base_url_host<'a>(
    key: &str,
    url: &'a str,
    schemes: &[&str],
    example: &str,
) -> Result<&'a str, ConfigError> {
    let wrong = |why: &str| {
        invalid(
            key,
            quoted(url),
            format!(
                "{why}; expected a URL starting with {}, e.g. {}",
                schemes.join(" or "),
                quoted(example)
            ),
        )
    };
    let Some(rest) = schemes.iter().find_map(|scheme| url.strip_prefix(scheme)) else {
        return Err(wrong("wrong scheme"));
    };
    if url.chars().any(char::is_whitespace) {
        return Err(wrong("contains whitespace"));
    }
    if url.contains(['?', '#']) {
        return Err(wrong(
            "must not contain a query or fragment (klagg adds its own)",
        ));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    if host.is_empty() {
        return Err(wrong("no host"));
    }
    Ok(host)
}

/// Rejects a Binance host of the other market, the likely result of changing `market` but not
/// the URLs.
fn check_host_market(key: &str, url: &str, host: &str, market: Market) -> Result<(), ConfigError> {
    let other = match market {
        Market::Usdm => SPOT_HOSTS.contains(&host).then_some(Market::Spot),
        Market::Spot => USDM_HOSTS.contains(&host).then_some(Market::Usdm),
    };
    match other {
        None => Ok(()),
        Some(other) => Err(invalid(
            key,
            quoted(url),
            format!(
                "this is a Binance {other} endpoint but exchange.market = {}; remove the key to \
                 use the {market} default",
                quoted(market.name())
            ),
        )),
    }
}

/// The path of a URL (from the first `/` after the host), or `""`.
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme.find('/').map_or("", |at| &after_scheme[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markets() {
        assert_eq!(market("usdm").unwrap(), Market::Usdm);
        assert_eq!(market("spot").unwrap(), Market::Spot);
        assert_eq!(
            market("coinm").unwrap_err().to_string(),
            "exchange.market = \"coinm\": must be \"usdm\" (USD-M futures) or \"spot\""
        );
    }

    #[test]
    fn defaults_follow_the_market() {
        assert_eq!(
            ws_url(None, Market::Usdm).unwrap(),
            "wss://fstream.binance.com/market/stream"
        );
        assert_eq!(
            ws_url(None, Market::Spot).unwrap(),
            "wss://stream.binance.com:9443/stream"
        );
        assert_eq!(
            rest_url(None, Market::Usdm).unwrap(),
            "https://fapi.binance.com"
        );
        assert_eq!(
            rest_url(None, Market::Spot).unwrap(),
            "https://api.binance.com"
        );
    }

    #[test]
    fn given_urls_are_checked() {
        assert_eq!(
            ws_url(Some("ws://127.0.0.1:9001/stream"), Market::Usdm).unwrap(),
            "ws://127.0.0.1:9001/stream"
        );
        assert_eq!(
            rest_url(Some("http://localhost:8080/"), Market::Spot).unwrap(),
            "http://localhost:8080"
        );
        let error = ws_url(Some("https://fstream.binance.com"), Market::Usdm).unwrap_err();
        assert_eq!(
            error.to_string(),
            "exchange.ws_url = \"https://fstream.binance.com\": wrong scheme; expected a URL \
             starting with ws:// or wss://, e.g. \"wss://fstream.binance.com/market/stream\""
        );
        let error = rest_url(Some("wss://fapi.binance.com"), Market::Usdm).unwrap_err();
        assert!(error.to_string().starts_with(
            "exchange.rest_url = \"wss://fapi.binance.com\": wrong scheme; expected a URL \
             starting with http:// or https://"
        ));
        for bad in [
            "ws://",
            "ws://a b",
            "ws://host/stream?streams=x",
            "ws:///path",
        ] {
            let error = ws_url(Some(bad), Market::Spot).unwrap_err();
            assert_eq!(error.key(), Some("exchange.ws_url"), "{bad}");
        }
    }

    #[test]
    fn urls_of_the_other_market_and_legacy_paths_are_rejected() {
        let error = ws_url(
            Some("wss://fstream.binance.com/market/stream"),
            Market::Spot,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("Binance usdm endpoint but exchange.market = \"spot\""),
            "{error}"
        );
        let error = rest_url(Some("https://api.binance.com"), Market::Usdm)
            .unwrap_err()
            .to_string();
        assert!(error.contains("Binance spot endpoint"), "{error}");
        let error = ws_url(Some("wss://fstream.binance.com/ws"), Market::Usdm)
            .unwrap_err()
            .to_string();
        assert!(error.contains("retired"), "{error}");
    }
}
