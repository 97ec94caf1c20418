//! The blast market: symbol names and every trade's price, quantity and side as a pure
//! function of the seed, the symbol and the agg id, so a run can be regenerated from its ids.

use crate::sim::{SimTrade, SymbolSpec};

/// The first agg id of every symbol: 12 digits, so ids keep a fixed width (JSON numbers
/// cannot have leading zeros) for the next 9 × 10^11 trades.
pub const FIRST_AGG_ID: i64 = 100_000_000_000;

/// Most symbols: names are `S0000USDT` to `S9999USDT`, all of one width.
pub const MAX_SYMBOLS: usize = 10_000;

/// Fractional digits of prices (tick 0.01).
pub const PRICE_DECIMALS: u32 = 2;

/// Fractional digits of quantities (step 0.001).
pub const QUANTITY_DECIMALS: u32 = 3;

/// Distinct prices and quantities a symbol draws from (one byte of the hash each).
pub const TABLE: usize = 256;

/// 1e-8 units per price tick and per quantity step.
const TICK_UNITS: i64 = 1_000_000;
const STEP_UNITS: i64 = 100_000;

/// What one trade drew: indexes into the symbol's price table and the quantity table, and the
/// side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draw {
    /// Index into the symbol's [`TABLE`] prices.
    pub price: u8,
    /// Index into the [`TABLE`] quantities.
    pub quantity: u8,
    /// The buyer was the maker.
    pub buyer_maker: bool,
}

/// The symbols of a blast run and the rule that makes their trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlastMarket {
    seed: u64,
    names: Vec<String>,
}

impl BlastMarket {
    /// A market of `symbols` symbols (1 to [`MAX_SYMBOLS`]) whose trades follow `seed`.
    ///
    /// # Errors
    ///
    /// A symbol count out of range, with the range.
    pub fn new(symbols: usize, seed: u64) -> Result<BlastMarket, String> {
        if !(1..=MAX_SYMBOLS).contains(&symbols) {
            return Err(format!(
                "blast: {symbols} symbols; 1 to {MAX_SYMBOLS} are possible"
            ));
        }
        Ok(BlastMarket {
            seed,
            names: (0..symbols).map(|i| format!("S{i:04}USDT")).collect(),
        })
    }

    /// The seed the trades follow.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Symbol names by index.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The symbols as the simulator describes them (for recorders and checks).
    pub fn specs(&self) -> Vec<SymbolSpec> {
        self.names
            .iter()
            .map(|name| SymbolSpec {
                name: name.clone(),
                price_decimals: PRICE_DECIMALS,
                quantity_decimals: QUANTITY_DECIMALS,
                listed_at_ms: None,
            })
            .collect()
    }

    /// What the trade `agg_id` of `symbol` draws: one 64-bit mix (splitmix64's finaliser) of
    /// the seed, the symbol and the id.
    #[inline]
    pub fn draw(&self, symbol: u32, agg_id: i64) -> Draw {
        let mut z = self
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(u64::from(symbol).wrapping_mul(0xD1B5_4A32_D192_ED03))
            .wrapping_add(agg_id as u64);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Draw {
            price: z as u8,
            quantity: (z >> 8) as u8,
            buyer_maker: (z >> 16) & 1 == 1,
        }
    }

    /// Price in ticks of table entry `index`: 128 ticks either side of the symbol's centre,
    /// which lies in 2000.00..8999.99, so every price is written `dddd.dd`.
    pub fn price_ticks(symbol: u32, index: u8) -> i64 {
        let centre = 200_000 + (i64::from(symbol) * 7_919) % 700_000;
        centre + i64::from(index) - 128
    }

    /// Quantity in steps of table entry `index`: 0.001 to 0.256, written `0.ddd`.
    pub fn quantity_steps(index: u8) -> i64 {
        i64::from(index) + 1
    }

    /// The trade `agg_id` of `symbol` at `time_ms`, in exact integers (one raw trade each).
    pub fn trade(&self, symbol: u32, agg_id: i64, time_ms: i64) -> SimTrade {
        let draw = self.draw(symbol, agg_id);
        SimTrade {
            symbol,
            agg_id,
            price: Self::price_ticks(symbol, draw.price) * TICK_UNITS,
            quantity: Self::quantity_steps(draw.quantity) * STEP_UNITS,
            first_trade_id: agg_id,
            last_trade_id: agg_id,
            time_ms,
            is_buyer_maker: draw.buyer_maker,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_one_width_and_counts_are_checked() {
        let market = BlastMarket::new(3, 1).unwrap();
        assert_eq!(market.names(), ["S0000USDT", "S0001USDT", "S0002USDT"]);
        assert!(BlastMarket::new(0, 1).is_err());
        assert!(BlastMarket::new(MAX_SYMBOLS + 1, 1).is_err());
    }

    #[test]
    fn prices_stay_four_digits_before_the_point() {
        for symbol in [0, 1, 99, 9_999] {
            for index in [0, 255] {
                let ticks = BlastMarket::price_ticks(symbol, index);
                assert!(
                    (100_000..1_000_000).contains(&ticks),
                    "{symbol} {index}: {ticks}"
                );
            }
        }
    }

    #[test]
    fn draws_depend_on_seed_symbol_and_id() {
        let a = BlastMarket::new(2, 1).unwrap();
        let b = BlastMarket::new(2, 2).unwrap();
        let draws = |m: &BlastMarket, s| {
            (0..64)
                .map(|i| m.draw(s, FIRST_AGG_ID + i))
                .collect::<Vec<_>>()
        };
        assert_ne!(draws(&a, 0), draws(&b, 0));
        assert_ne!(draws(&a, 0), draws(&a, 1));
        assert_eq!(draws(&a, 1), draws(&a, 1));
        let makers = draws(&a, 0).iter().filter(|d| d.buyer_maker).count();
        assert!((10..54).contains(&makers), "both sides trade: {makers}");
    }
}
