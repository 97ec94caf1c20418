//! What the gateway's `exchangeInfo` says about a symbol besides its name and decimals: its
//! assets and its price and quantity steps. They come from the exchange's own `exchangeInfo`
//! when klagg started ([`ListingFn`]); a symbol it did not describe (one listed later, or a
//! gateway in a test) gets them derived from its name and decimals ([`Listing::derived`]).

use std::sync::Arc;

use crate::decimal::{SCALE, write_scaled};
use crate::egress::Decimals;

/// Quote assets recognised at the end of a name, longest first so `FDUSD` wins over `USD`-like
/// endings (checked in order).
const QUOTE_ASSETS: [&str; 16] = [
    "FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USDP", "USDE", "BTC", "ETH", "BNB", "EUR", "TRY",
    "BRL", "JPY", "DAI", "XRP",
];

/// A symbol's assets and steps, as `exchangeInfo` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// `BTC` for `BTCUSDT`.
    pub base_asset: String,
    /// `USDT` for `BTCUSDT`.
    pub quote_asset: String,
    /// USD-M's margin asset (the quote asset for USDⓈ-margined contracts).
    pub margin_asset: String,
    /// `PRICE_FILTER`'s `tickSize`, e.g. `0.10`.
    pub tick_size: String,
    /// `LOT_SIZE`'s `stepSize`, e.g. `0.001`.
    pub step_size: String,
}

/// The listing of a symbol by name, when the exchange described it.
pub type ListingFn = Arc<dyn Fn(&str) -> Option<Listing> + Send + Sync>;

impl Listing {
    /// A listing made from the name and decimals alone: the quote asset is the first of the
    /// usual quote assets (`USDT`, `BTC`, ...) the name ends with (before any `_` contract
    /// suffix), or its last 4 characters; the steps are one unit of the last decimal.
    #[must_use]
    pub fn derived(name: &str, decimals: Decimals) -> Listing {
        let pair = name.split_once('_').map_or(name, |(pair, _)| pair);
        let split = QUOTE_ASSETS
            .iter()
            .find(|quote| pair.len() > quote.len() && pair.ends_with(*quote))
            .map_or_else(
                // Char boundary safe: the start of the 4th character from the end.
                || pair.char_indices().rev().nth(3).map_or(0, |(at, _)| at),
                |quote| pair.len() - quote.len(),
            );
        let quote = pair[split..].to_owned();
        Listing {
            base_asset: pair[..split].to_owned(),
            margin_asset: quote.clone(),
            quote_asset: quote,
            tick_size: unit(decimals.price),
            step_size: unit(decimals.quantity),
        }
    }
}

/// `10^-digits` as text (`0.01` for 2), at most 8 digits, the fixed-point unit.
#[must_use]
pub fn unit(digits: u32) -> String {
    let digits = digits.min(SCALE);
    let mut out = Vec::new();
    write_scaled(10i128.pow(SCALE - digits), SCALE, 0, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_split_at_a_known_quote_asset() {
        let two = Decimals::new(2, 3);
        let btc = Listing::derived("BTCUSDT", two);
        assert_eq!(
            (btc.base_asset.as_str(), btc.quote_asset.as_str()),
            ("BTC", "USDT")
        );
        assert_eq!(
            (btc.tick_size.as_str(), btc.step_size.as_str()),
            ("0.01", "0.001")
        );
        let cases = [
            ("ETHBTC", "ETH", "BTC"),
            ("BTCFDUSD", "BTC", "FDUSD"),
            ("币安人生USDT", "币安人生", "USDT"),
            ("BTCUSDT_250926", "BTC", "USDT"),
            ("SYM003USDT", "SYM003", "USDT"),
            ("ABCDXYZW", "ABCD", "XYZW"),
            ("USDT", "", "USDT"),
        ];
        for (name, base, quote) in cases {
            let listing = Listing::derived(name, two);
            assert_eq!(
                (listing.base_asset.as_str(), listing.quote_asset.as_str()),
                (base, quote),
                "{name}"
            );
        }
        assert_eq!(unit(0), "1");
        assert_eq!(unit(8), "0.00000001");
        assert_eq!(unit(12), "0.00000001");
    }
}
