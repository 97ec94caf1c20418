//! How many fractional digits a symbol's prices and volumes are written with.
//!
//! Binance USD-M prints every number of a symbol with that symbol's fixed precision (`7.6080`,
//! `3917`, `3957.89900`; quote volumes with the price's and the quantity's digits together),
//! padding with zeros; spot prints every price and volume with 8 (`0.35280000`,
//! `9116.04600000`). Clients that compare strings, or split on the `.`, see the difference. klagg holds exact integers, so the precision only decides how many trailing zeros
//! to keep; a value that needs more digits than the precision (which Binance never sends, but a
//! misconfigured precision could cause) is still written in full, because exactness beats format.

use crate::decimal::{SCALE, write_scaled};

/// Fractional digits of quote volumes: price·quantity sums are held in units of 1e-16.
pub const QUOTE_SCALE: u32 = 2 * SCALE;

/// A symbol's display precisions: on USD-M, Binance's `pricePrecision` and
/// `quantityPrecision`; on spot, 8 for everything ([`Decimals::SPOT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimals {
    /// Fractional digits of prices (open, high, low, close).
    pub price: u32,
    /// Fractional digits of base-asset volumes (volume, taker-buy volume).
    pub quantity: u32,
    /// Fractional digits of quote volumes (quote volume, taker-buy quote volume).
    pub quote: u32,
}

impl Decimals {
    /// How Binance spot writes every symbol's numbers: 8 fractional digits each.
    pub const SPOT: Decimals = Decimals {
        price: 8,
        quantity: 8,
        quote: 8,
    };

    /// A USD-M symbol's precisions: quote volumes get `price + quantity` digits (a price times
    /// a quantity has that many, which is what Binance prints), at most the 16 that 1e-16 units
    /// hold.
    #[must_use]
    pub const fn new(price: u32, quantity: u32) -> Decimals {
        let digits = price.saturating_add(quantity);
        Decimals {
            price,
            quantity,
            quote: if digits > QUOTE_SCALE {
                QUOTE_SCALE
            } else {
                digits
            },
        }
    }

    /// Fractional digits of quote volumes.
    #[must_use]
    #[inline]
    pub const fn quote(self) -> u32 {
        self.quote
    }

    /// Appends a price (units of 1e-8) with at least [`Decimals::price`] fractional digits.
    #[inline]
    pub fn write_price(self, out: &mut Vec<u8>, price: i64) {
        write_scaled(i128::from(price), SCALE, self.price, out);
    }

    /// Appends a base-asset volume (units of 1e-8) with at least [`Decimals::quantity`]
    /// fractional digits.
    #[inline]
    pub fn write_volume(self, out: &mut Vec<u8>, volume: i128) {
        write_scaled(volume, SCALE, self.quantity, out);
    }

    /// Appends a quote volume (units of 1e-16) with at least [`Decimals::quote`] fractional
    /// digits.
    #[inline]
    pub fn write_quote_volume(self, out: &mut Vec<u8>, quote_volume: i128) {
        write_scaled(quote_volume, QUOTE_SCALE, self.quote(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BTCUSDT: Decimals = Decimals::new(2, 3);

    fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn pads_to_the_precision() {
        assert_eq!(
            text(|o| BTCUSDT.write_price(o, 6_395_270_000_000)),
            "63952.70"
        );
        assert_eq!(text(|o| BTCUSDT.write_volume(o, 3_353_000_000)), "33.530");
        assert_eq!(
            text(|o| BTCUSDT.write_quote_volume(o, 21_442_038_759_000_000_000_000)),
            "2144203.87590"
        );
        assert_eq!(text(|o| BTCUSDT.write_volume(o, 0)), "0.000");
        let whole = Decimals::new(0, 0);
        assert_eq!(text(|o| whole.write_volume(o, 3_917 * 100_000_000)), "3917");
    }

    #[test]
    fn never_drops_a_digit() {
        assert_eq!(text(|o| BTCUSDT.write_price(o, 123_456_789)), "1.23456789");
        assert_eq!(text(|o| BTCUSDT.write_volume(o, 1)), "0.00000001");
        assert_eq!(
            text(|o| BTCUSDT.write_quote_volume(o, 1)),
            "0.0000000000000001"
        );
    }

    #[test]
    fn quote_digits_add_up_and_cap() {
        assert_eq!(BTCUSDT.quote(), 5);
        assert_eq!(Decimals::new(8, 8).quote(), 16);
        assert_eq!(Decimals::new(u32::MAX, 9).quote(), 16);
        assert_eq!(Decimals::SPOT.quote(), 8);
    }

    #[test]
    fn spot_writes_eight_digits_and_keeps_more_when_exact_needs_them() {
        assert_eq!(
            text(|o| Decimals::SPOT.write_quote_volume(o, 91_160_460_000_000_000_000)),
            "9116.04600000"
        );
        assert_eq!(
            text(|o| Decimals::SPOT.write_quote_volume(o, 1)),
            "0.0000000000000001"
        );
    }
}
