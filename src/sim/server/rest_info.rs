//! `/fapi/v1/time` and `/fapi/v1/exchangeInfo`.

use serde_json::{Value, json};

use super::hub::{Hub, wall_clock_ms};
use super::lock::lock;
use super::symbols::SymbolInfo;
use crate::decimal::{SCALE, write_scaled};

/// Delivery date Binance gives perpetual contracts (2100-12-25).
const PERPETUAL_DELIVERY_MS: i64 = 4_133_404_800_000;

/// `{"serverTime":ms}`.
pub(crate) fn time() -> Vec<u8> {
    json!({ "serverTime": wall_clock_ms() })
        .to_string()
        .into_bytes()
}

/// Every listed symbol, as a USDⓈ-M perpetual in Binance's exchangeInfo shape (the fields the
/// engine reads, plus the usual precision and filter fields).
pub(crate) fn exchange_info(hub: &Hub) -> Vec<u8> {
    let listed = lock(&hub.market).listed.clone();
    let symbols: Vec<Value> = hub
        .symbols
        .iter()
        .zip(&listed)
        .filter(|(_, listed)| **listed)
        .map(|(symbol, _)| symbol_entry(symbol))
        .collect();
    json!({
        "timezone": "UTC",
        "serverTime": wall_clock_ms(),
        "futuresType": "U_MARGINED",
        "rateLimits": [],
        "exchangeFilters": [],
        "assets": [],
        "symbols": symbols,
    })
    .to_string()
    .into_bytes()
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
        "filters": [
            { "filterType": "PRICE_FILTER", "tickSize": unit_text(spec.price_decimals) },
            { "filterType": "LOT_SIZE", "stepSize": unit_text(spec.quantity_decimals) },
        ],
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
