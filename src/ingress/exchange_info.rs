//! Which symbols the exchange lists, from its REST `exchangeInfo` (cold path: start-up, a
//! periodic refresh, and when the ticker stream shows a symbol we do not know).

use std::time::Duration;

use serde::Deserialize;

use crate::config::Market;

/// One listed symbol, reduced to what symbol selection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSymbol {
    /// Exchange name, e.g. `BTCUSDT`.
    pub symbol: String,
    /// `TRADING`, `BREAK`, `SETTLING`, ...
    pub status: String,
    /// Base asset, e.g. `BTC`.
    pub base_asset: String,
    /// Quote asset, e.g. `USDT`.
    pub quote_asset: String,
    /// USD-M margin asset, e.g. `USDT`; empty on spot.
    pub margin_asset: String,
    /// USD-M contract type (`PERPETUAL`, `CURRENT_QUARTER`, ...); empty on spot.
    pub contract_type: String,
    /// Fractional digits of prices (USD-M `pricePrecision`), when the exchange says.
    pub price_decimals: Option<u32>,
    /// Fractional digits of quantities (USD-M `quantityPrecision`), when the exchange says.
    pub quantity_decimals: Option<u32>,
    /// `PRICE_FILTER`'s `tickSize` as written, when listed.
    pub tick_size: Option<String>,
    /// `LOT_SIZE`'s `stepSize` as written, when listed.
    pub step_size: Option<String>,
}

impl ListedSymbol {
    /// True for the symbols `symbols = "all"` means: trading now, quoted in `quote_asset`,
    /// and on USD-M a perpetual contract.
    pub fn is_selected(&self, market: Market, quote_asset: &str) -> bool {
        self.status == "TRADING"
            && self.quote_asset == quote_asset
            && (market == Market::Spot || self.contract_type == "PERPETUAL")
    }
}

/// Why the symbol list could not be had.
#[derive(Debug)]
pub enum ExchangeInfoError {
    /// The request failed (network, status, timeout).
    Http { url: String, message: String },
    /// The answer was not the JSON we expect.
    Json { url: String, message: String },
}

impl std::fmt::Display for ExchangeInfoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeInfoError::Http { url, message } => write!(f, "GET {url} failed: {message}"),
            ExchangeInfoError::Json { url, message } => {
                write!(f, "GET {url}: unexpected exchangeInfo answer: {message}")
            }
        }
    }
}

impl std::error::Error for ExchangeInfoError {}

/// The exchangeInfo URL of a market under `rest_url`.
pub fn exchange_info_url(rest_url: &str, market: Market) -> String {
    let path = match market {
        Market::Usdm => "/fapi/v1/exchangeInfo",
        Market::Spot => "/api/v3/exchangeInfo",
    };
    format!("{}{path}", rest_url.trim_end_matches('/'))
}

/// Fetches every listed symbol of the market, waiting at most `timeout`.
pub fn fetch(
    rest_url: &str,
    market: Market,
    timeout: Duration,
) -> Result<Vec<ListedSymbol>, ExchangeInfoError> {
    let url = exchange_info_url(rest_url, market);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .build()
        .into();
    let http = |e: ureq::Error| ExchangeInfoError::Http {
        url: url.clone(),
        message: e.to_string(),
    };
    let body = agent
        .get(&url)
        .call()
        .map_err(http)?
        .body_mut()
        .read_to_string()
        .map_err(http)?;
    parse(&body).map_err(|message| ExchangeInfoError::Json { url, message })
}

/// Parses an exchangeInfo body (USD-M or spot).
pub fn parse(body: &str) -> Result<Vec<ListedSymbol>, String> {
    #[derive(Deserialize)]
    struct Info {
        symbols: Vec<Entry>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry {
        symbol: String,
        status: String,
        #[serde(default)]
        base_asset: String,
        quote_asset: String,
        #[serde(default)]
        margin_asset: String,
        #[serde(default)]
        contract_type: String,
        #[serde(default)]
        price_precision: Option<u32>,
        #[serde(default)]
        quantity_precision: Option<u32>,
        #[serde(default)]
        filters: Vec<Filter>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Filter {
        #[serde(default)]
        filter_type: String,
        #[serde(default)]
        tick_size: Option<String>,
        #[serde(default)]
        step_size: Option<String>,
    }
    let info: Info = serde_json::from_str(body).map_err(|e| e.to_string())?;
    Ok(info
        .symbols
        .into_iter()
        .map(|e| {
            let filter = |kind: &str| e.filters.iter().find(|f| f.filter_type == kind);
            ListedSymbol {
                tick_size: filter("PRICE_FILTER").and_then(|f| f.tick_size.clone()),
                step_size: filter("LOT_SIZE").and_then(|f| f.step_size.clone()),
                symbol: e.symbol,
                status: e.status,
                base_asset: e.base_asset,
                quote_asset: e.quote_asset,
                margin_asset: e.margin_asset,
                contract_type: e.contract_type,
                price_decimals: e.price_precision,
                quantity_decimals: e.quantity_precision,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const USDM: &str = r#"{"timezone":"UTC","symbols":[
        {"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","marginAsset":"USDT","pricePrecision":2,"quantityPrecision":3,"filters":[{"filterType":"PRICE_FILTER","minPrice":"556.80","tickSize":"0.10"},{"filterType":"LOT_SIZE","stepSize":"0.001","maxQty":"1000"}]},
        {"symbol":"BTCUSDT_250328","contractType":"CURRENT_QUARTER","status":"TRADING","quoteAsset":"USDT"},
        {"symbol":"ETHBUSD","contractType":"PERPETUAL","status":"TRADING","quoteAsset":"BUSD"},
        {"symbol":"OLDUSDT","contractType":"PERPETUAL","status":"SETTLING","quoteAsset":"USDT"}]}"#;

    #[test]
    fn selects_trading_usdt_perpetuals() {
        let listed = parse(USDM).unwrap();
        let selected: Vec<&str> = listed
            .iter()
            .filter(|s| s.is_selected(Market::Usdm, "USDT"))
            .map(|s| s.symbol.as_str())
            .collect();
        assert_eq!(selected, ["BTCUSDT"]);
        assert_eq!(
            (listed[0].price_decimals, listed[0].quantity_decimals),
            (Some(2), Some(3))
        );
        assert_eq!(
            (
                listed[0].base_asset.as_str(),
                listed[0].margin_asset.as_str()
            ),
            ("BTC", "USDT")
        );
        assert_eq!(
            (
                listed[0].tick_size.as_deref(),
                listed[0].step_size.as_deref()
            ),
            (Some("0.10"), Some("0.001"))
        );
        assert_eq!(listed[1].price_decimals, None);
        assert_eq!(listed[1].tick_size, None);
    }

    #[test]
    fn non_ascii_symbols_raw_or_escaped() {
        let body = r#"{"symbols":[
            {"symbol":"币安人生USDT","contractType":"PERPETUAL","status":"TRADING","quoteAsset":"USDT","pricePrecision":5,"quantityPrecision":0},
            {"symbol":"\u6211\u8e0f\u9a6c\u6765\u4e86USDT","contractType":"PERPETUAL","status":"TRADING","quoteAsset":"USDT"}]}"#;
        let listed = parse(body).unwrap();
        let names: Vec<&str> = listed.iter().map(|s| s.symbol.as_str()).collect();
        assert_eq!(names, ["币安人生USDT", "我踏马来了USDT"]);
        assert!(listed.iter().all(|s| s.is_selected(Market::Usdm, "USDT")));
        assert_eq!(listed[0].price_decimals, Some(5));
    }

    #[test]
    fn spot_has_no_contract_type() {
        let spot = r#"{"symbols":[{"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","quoteAsset":"BTC"}]}"#;
        let listed = parse(spot).unwrap();
        assert!(listed[0].is_selected(Market::Spot, "BTC"));
        assert!(!listed[0].is_selected(Market::Usdm, "BTC"));
    }

    #[test]
    fn urls_and_errors_are_clear() {
        assert_eq!(
            exchange_info_url("https://fapi.binance.com/", Market::Usdm),
            "https://fapi.binance.com/fapi/v1/exchangeInfo"
        );
        assert!(parse("{}").unwrap_err().contains("symbols"));
        let err = fetch(
            "http://127.0.0.1:9",
            Market::Spot,
            Duration::from_millis(500),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("GET http://127.0.0.1:9/api/v3/exchangeInfo failed"),
            "{err}"
        );
    }
}
