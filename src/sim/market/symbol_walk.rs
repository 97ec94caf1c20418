//! One synthetic symbol's trades: a random-walk price on its tick grid, quantities on its step
//! grid, and agg and raw trade ids that follow each other as Binance's do.

use crate::decimal::ONE;
use crate::sim::SimTrade;

use super::rng::Rng;

/// Chance that a trade moves the price at all; most trades print at the last price, as on a
/// real book where many trades hit the same level.
const MOVE_CHANCE: f64 = 0.4;

/// Chance that a move jumps several ticks instead of one.
const JUMP_CHANCE: f64 = 0.1;

/// Largest jump in ticks.
const MAX_JUMP_TICKS: i64 = 5;

/// Chance that an aggregate covers a single raw trade; the others cover 2..=5.
const SINGLE_FILL_CHANCE: f64 = 0.6;

/// Most raw trades one aggregate covers.
const MAX_FILLS: i64 = 5;

/// The opening price is this many ticks times a factor in [1, 10): with price decimals d the
/// price starts between 10^(5-d) and 10^(6-d), so a tick is 1e-5..1e-6 of the price, as for
/// real USD-M contracts (BTCUSDT: tick 0.1 at tens of thousands).
const OPEN_TICKS: f64 = 100_000.0;

/// A symbol's price walk and id counters.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolWalk {
    price_decimals: u32,
    quantity_decimals: u32,
    /// One tick in 1e-8 units.
    tick: i64,
    /// One quantity step in 1e-8 units.
    step: i64,
    /// Current price in ticks, always at least 1.
    price_ticks: i64,
    /// Quantities are log-uniform between 1 and this many steps: many small trades, a few big.
    max_steps: f64,
    next_agg_id: i64,
    next_trade_id: i64,
}

impl SymbolWalk {
    /// A symbol with random decimals (price 1..=4, quantity 0..=3), opening price and ids.
    pub fn random(rng: &mut Rng) -> SymbolWalk {
        let price_decimals = rng.between(1, 4) as u32;
        // Dear symbols trade in small fractions, cheap ones in whole units, as on Binance.
        let quantity_decimals = (4 - price_decimals as i64 - rng.between(0, 1)).clamp(0, 3) as u32;
        let next_agg_id = rng.between(1_000_000, 1_000_000_000);
        SymbolWalk {
            price_decimals,
            quantity_decimals,
            tick: ONE / 10i64.pow(price_decimals),
            step: ONE / 10i64.pow(quantity_decimals),
            price_ticks: (OPEN_TICKS * (1.0 + 9.0 * rng.unit())) as i64,
            max_steps: 10f64.powi(quantity_decimals as i32 + 1),
            next_agg_id,
            // Raw ids run ahead of agg ids, since an aggregate can cover several.
            next_trade_id: next_agg_id + rng.between(0, 1_000_000_000),
        }
    }

    /// Fractional digits of prices.
    pub fn price_decimals(&self) -> u32 {
        self.price_decimals
    }

    /// Fractional digits of quantities.
    pub fn quantity_decimals(&self) -> u32 {
        self.quantity_decimals
    }

    /// The symbol's next trade, as symbol index `symbol` at `time_ms`.
    pub fn next_trade(&mut self, rng: &mut Rng, symbol: u32, time_ms: i64) -> SimTrade {
        if rng.chance(MOVE_CHANCE) {
            let size = if rng.chance(JUMP_CHANCE) {
                rng.between(2, MAX_JUMP_TICKS)
            } else {
                1
            };
            let sign = if rng.chance(0.5) { 1 } else { -1 };
            // Floored at one tick: the price must stay positive whatever the walk does.
            self.price_ticks = (self.price_ticks + sign * size).max(1);
        }
        let steps = (self.max_steps.powf(rng.unit()) as i64).max(1);
        let fills = if rng.chance(SINGLE_FILL_CHANCE) {
            1
        } else {
            rng.between(2, MAX_FILLS)
        };
        let trade = SimTrade {
            symbol,
            agg_id: self.next_agg_id,
            price: self.price_ticks * self.tick,
            quantity: steps * self.step,
            first_trade_id: self.next_trade_id,
            last_trade_id: self.next_trade_id + fills - 1,
            time_ms,
            is_buyer_maker: rng.chance(0.5),
        };
        self.next_agg_id += 1;
        self.next_trade_id += fills;
        trade
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trades_stay_on_the_grids_with_consecutive_ids() {
        let mut rng = Rng::new(11);
        for symbol in 0..20 {
            let mut walk = SymbolWalk::random(&mut rng);
            assert!((1..=4).contains(&walk.price_decimals()));
            assert!((0..=3).contains(&walk.quantity_decimals()));
            let tick = ONE / 10i64.pow(walk.price_decimals());
            let step = ONE / 10i64.pow(walk.quantity_decimals());
            let mut previous: Option<SimTrade> = None;
            for time in 0..2_000 {
                let t = walk.next_trade(&mut rng, symbol, time);
                assert_eq!((t.symbol, t.time_ms), (symbol, time));
                assert!(t.price > 0 && t.price % tick == 0, "{t:?}");
                assert!(t.quantity > 0 && t.quantity % step == 0, "{t:?}");
                assert!((1..=MAX_FILLS).contains(&(t.last_trade_id - t.first_trade_id + 1)));
                if let Some(p) = previous {
                    assert_eq!(t.agg_id, p.agg_id + 1);
                    assert_eq!(t.first_trade_id, p.last_trade_id + 1);
                }
                previous = Some(t);
            }
        }
    }

    #[test]
    fn price_never_reaches_zero() {
        let mut rng = Rng::new(5);
        let mut walk = SymbolWalk::random(&mut rng);
        walk.price_ticks = 1;
        for time in 0..10_000 {
            assert!(walk.next_trade(&mut rng, 0, time).price >= walk.tick);
        }
    }
}
