//! `/fapi/v1/time` and `/fapi/v1/exchangeInfo` (spot: `/api/v3/...`).

use serde_json::{Value, json};

use super::hub::{Hub, wall_clock_ms};
use super::lock::lock;
use super::symbols::SymbolInfo;
use crate::config::Market;
use crate::decimal::{SCALE, write_scaled};

/// Delivery date Binance gives perpetual contracts (2100-12-25).
const PERPETUAL_DELIVERY_MS: i64 = 4_133_404_800_000;

/// `{"serverTime":ms}`.
pub(crate) fn time() -> Vec<u8> {
    json!({ "serverTime": wall_clock_ms() })
        .to_string()
        .into_bytes()
}

/// Every listed symbol in Binance's exchangeInfo shape (the fields the engine reads, plus the
/// usual precision and filter fields): USD-M lists USDⓈ-M perpetuals, spot lists spot pairs
/// (no contract type or precisions: spot writes 8 decimals).
pub(crate) fn exchange_info(hub: &Hub) -> Vec<u8> {
    let listed = lock(&hub.market).listed.clone();
    let market = hub.config.market;
    let symbols: Vec<Value> = hub
        .symbols
        .iter()
        .zip(&listed)
        .filter(|(_, listed)| **listed)
        .map(|(symbol, _)| match market {
            Market::Usdm => symbol_entry(symbol),
            Market::Spot => spot_entry(symbol),
        })
        .collect();
    let mut info = json!({
        "timezone": "UTC",
        "serverTime": wall_clock_ms(),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": symbols,
    });
    if market == Market::Usdm {
        info["futuresType"] = json!("U_MARGINED");
        info["assets"] = json!([]);
    }
    info.to_string().into_bytes()
}

fn filters(symbol: &SymbolInfo) -> Value {
    let spec = &symbol.spec;
    json!([
        { "filterType": "PRICE_FILTER", "tickSize": unit_text(spec.price_decimals) },
        { "filterType": "LOT_SIZE", "stepSize": unit_text(spec.quantity_decimals) },
    ])
}

/// A spot pair (its ticks are those of the spec; its numbers are written with 8 decimals).
fn spot_entry(symbol: &SymbolInfo) -> Value {
    json!({
        "symbol": symbol.spec.name,
        "status": "TRADING",
        "baseAsset": symbol.base_asset,
        "baseAssetPrecision": SCALE,
        "quoteAsset": symbol.quote_asset,
        "quotePrecision": SCALE,
        "quoteAssetPrecision": SCALE,
        "isSpotTradingAllowed": true,
        "isMarginTradingAllowed": false,
        "filters": filters(symbol),
        "permissions": [],
        "permissionSets": [["SPOT"]],
    })
}

fn symbol_entry(symbol: &SymbolInfo) -> Value {
    let spec = &symbol.spec;
    json!({
        "symbol": spec.name,
        "pair": spec.name,
        "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS,
        "onboardDate": spec.listed_at_ms.unwrap_or(0),
        "status": "TRADING",
        "baseAsset": symbol.base_asset,
        "quoteAsset": symbol.quote_asset,
        "marginAsset": symbol.quote_asset,
        "pricePrecision": spec.price_decimals,
        "quantityPrecision": spec.quantity_decimals,
        "baseAssetPrecision": SCALE,
        "quotePrecision": SCALE,
        "underlyingType": "COIN",
        "filters": filters(symbol),
    })
}

/// `10^-decimals` as text, e.g. `0.01` for 2 (at most 8 decimals, the fixed-point unit).
fn unit_text(decimals: u32) -> String {
    let decimals = decimals.min(SCALE);
    let mut out = Vec::new();
    write_scaled(10i128.pow(SCALE - decimals), SCALE, 0, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_text_is_the_tick() {
        assert_eq!(unit_text(0), "1");
        assert_eq!(unit_text(2), "0.01");
        assert_eq!(unit_text(8), "0.00000001");
        assert_eq!(unit_text(12), "0.00000001");
    }
}
