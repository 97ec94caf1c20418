//! `GET /fapi/v1/exchangeInfo` and `GET /api/v3/exchangeInfo`, from the engine's own symbol
//! list: every symbol it follows, `TRADING`, with the fields clients parse (ccxt builds its
//! markets from them: symbol, status, base and quote assets, USD-M's margin asset, contract type
//! and precisions, the price and lot filters). The rate limits are Binance's own, so a client
//! that paces itself by them keeps the same pace as against Binance.

use serde_json::{Value, json};

use super::catalog_index::CatalogIndex;
use super::listing::{Listing, ListingFn};
use crate::config::Market;
use crate::decimal::SCALE;
use crate::egress::Decimals;

/// The delivery date Binance gives perpetual contracts (2100-12-25).
const PERPETUAL_DELIVERY_MS: i64 = 4_133_404_800_000;

/// The body of an exchangeInfo answer for `market` at `server_time_ms`.
pub fn exchange_info(
    market: Market,
    index: &CatalogIndex,
    listing: Option<&ListingFn>,
    server_time_ms: i64,
) -> Vec<u8> {
    let symbols: Vec<Value> = index
        .symbols()
        .map(|(name, decimals)| {
            let listed = listing
                .and_then(|find| find(name))
                .unwrap_or_else(|| Listing::derived(name, *decimals));
            match market {
                Market::Usdm => usdm_symbol(name, *decimals, &listed),
                Market::Spot => spot_symbol(name, &listed),
            }
        })
        .collect();
    let body = match market {
        Market::Usdm => json!({
            "timezone": "UTC",
            "serverTime": server_time_ms,
            "futuresType": "U_MARGINED",
            "rateLimits": [rate_limit("REQUEST_WEIGHT", "MINUTE", 2400)],
            "exchangeFilters": [],
            "assets": [],
            "symbols": symbols,
        }),
        Market::Spot => json!({
            "timezone": "UTC",
            "serverTime": server_time_ms,
            "rateLimits": [rate_limit("REQUEST_WEIGHT", "MINUTE", 6000)],
            "exchangeFilters": [],
            "symbols": symbols,
        }),
    };
    body.to_string().into_bytes()
}

fn rate_limit(kind: &str, interval: &str, limit: u32) -> Value {
    json!({ "rateLimitType": kind, "interval": interval, "intervalNum": 1, "limit": limit })
}

fn filters(listed: &Listing) -> Value {
    json!([
        { "filterType": "PRICE_FILTER", "tickSize": listed.tick_size },
        { "filterType": "LOT_SIZE", "stepSize": listed.step_size },
    ])
}

/// A perpetual contract, as USD-M lists one.
fn usdm_symbol(name: &str, decimals: Decimals, listed: &Listing) -> Value {
    json!({
        "symbol": name,
        "pair": name,
        "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS,
        "onboardDate": 0,
        "status": "TRADING",
        "baseAsset": listed.base_asset,
        "quoteAsset": listed.quote_asset,
        "marginAsset": listed.margin_asset,
        "pricePrecision": decimals.price,
        "quantityPrecision": decimals.quantity,
        "baseAssetPrecision": SCALE,
        "quotePrecision": SCALE,
        "underlyingType": "COIN",
        "filters": filters(listed),
        "orderTypes": [],
        "timeInForce": [],
    })
}

/// A spot pair, as spot lists one (spot writes every number with 8 decimals).
fn spot_symbol(name: &str, listed: &Listing) -> Value {
    json!({
        "symbol": name,
        "status": "TRADING",
        "baseAsset": listed.base_asset,
        "baseAssetPrecision": SCALE,
        "quoteAsset": listed.quote_asset,
        "quotePrecision": SCALE,
        "quoteAssetPrecision": SCALE,
        "orderTypes": [],
        "isSpotTradingAllowed": true,
        "isMarginTradingAllowed": false,
        "filters": filters(listed),
        "permissions": [],
        "permissionSets": [["SPOT"]],
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::gateway::Catalog;
    use crate::interval::Interval;

    fn index(decimals: Decimals) -> CatalogIndex {
        CatalogIndex::new(Catalog {
            symbols: vec![
                ("BTCUSDT".to_owned(), decimals),
                ("币安人生USDT".to_owned(), decimals),
            ],
            intervals: Interval::parse_list("1m").unwrap(),
            live: None,
        })
    }

    fn parse(body: Vec<u8>) -> Value {
        serde_json::from_slice(&body).unwrap()
    }

    #[test]
    fn usdm_lists_every_followed_symbol_as_a_trading_perpetual() {
        let info = parse(exchange_info(
            Market::Usdm,
            &index(Decimals::new(2, 3)),
            None,
            42,
        ));
        assert_eq!(info["serverTime"], 42);
        let btc = &info["symbols"][0];
        assert_eq!(btc["symbol"], "BTCUSDT");
        assert_eq!(btc["status"], "TRADING");
        assert_eq!(btc["contractType"], "PERPETUAL");
        assert_eq!(
            (&btc["baseAsset"], &btc["quoteAsset"], &btc["marginAsset"]),
            (&json!("BTC"), &json!("USDT"), &json!("USDT"))
        );
        assert_eq!(
            (&btc["pricePrecision"], &btc["quantityPrecision"]),
            (&json!(2), &json!(3))
        );
        assert_eq!(btc["filters"][0]["tickSize"], "0.01");
        assert_eq!(btc["filters"][1]["stepSize"], "0.001");
        assert_eq!(info["symbols"][1]["baseAsset"], "币安人生");
    }

    #[test]
    fn the_exchanges_own_listing_wins_and_spot_has_no_contract() {
        let listing: ListingFn = Arc::new(|name: &str| {
            (name == "BTCUSDT").then(|| Listing {
                base_asset: "BTC".into(),
                quote_asset: "USDT".into(),
                margin_asset: "USDT".into(),
                tick_size: "0.01000000".into(),
                step_size: "0.00001000".into(),
            })
        });
        let info = parse(exchange_info(
            Market::Spot,
            &index(Decimals::SPOT),
            Some(&listing),
            7,
        ));
        let btc = &info["symbols"][0];
        assert_eq!(btc["filters"][0]["tickSize"], "0.01000000");
        assert!(btc.get("contractType").is_none());
        assert_eq!(btc["permissionSets"], json!([["SPOT"]]));
        assert_eq!(info["symbols"][1]["filters"][0]["tickSize"], "0.00000001");
    }
}
