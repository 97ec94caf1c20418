//! A synthetic market: many symbols trading at a target rate, with bursts, quiet symbols and a
//! new listing, entirely determined by a seed and the times it is polled at.

use crate::sim::{MarketSource, SimTrade, SymbolSpec};

use super::MAX_TRADES_PER_POLL;
use super::rng::Rng;
use super::schedule::Schedule;
use super::symbol_walk::SymbolWalk;
use super::synthetic_config::SyntheticConfig;
use super::universe::Universe;

/// A [`MarketSource`] inventing trades for [`SyntheticConfig`]'s symbols.
///
/// Trade times are `start_ms` plus elapsed time. Each poll covers the trade times from the
/// previous poll's `now_ms` (or the start) up to its own `now_ms`, with as many trades as the
/// rate says that stretch is worth (bursts multiply it), at random times within it, in time
/// order. Agg ids and raw trade ids are consecutive per symbol.
///
/// ```
/// use klagg::sim::MarketSource;
/// use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
///
/// let mut market = SyntheticMarket::new(SyntheticConfig::new(5, 1_000, 42, 0));
/// let mut trades = Vec::new();
/// market.poll(999, &mut trades);
/// assert!((990..=1_000).contains(&trades.len()));
/// ```
#[derive(Debug, Clone)]
pub struct SyntheticMarket {
    specs: Vec<SymbolSpec>,
    universe: Universe,
    walks: Vec<SymbolWalk>,
    schedule: Schedule,
    rng: Rng,
    /// Trade times before this have been generated.
    generated_to: i64,
    /// Reused buffer of one slice's trade times.
    times: Vec<i64>,
}

impl SyntheticMarket {
    /// The market `config` describes; out-of-range values are clamped (a quiet fraction to
    /// 0..=1, a burst period to at least 1 ms).
    pub fn new(config: SyntheticConfig) -> SyntheticMarket {
        let universe = Universe::new(&config);
        let listing_at_ms = config.new_listing_after.map(|after| {
            let after = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
            config.start_ms.saturating_add(after)
        });
        let mut rng = Rng::new(config.seed);
        let walks: Vec<SymbolWalk> = universe
            .names
            .iter()
            .map(|_| SymbolWalk::random(&mut rng))
            .collect();
        let specs = universe
            .names
            .iter()
            .zip(&walks)
            .enumerate()
            .map(|(index, (name, walk))| SymbolSpec {
                name: name.clone(),
                price_decimals: walk.price_decimals(),
                quantity_decimals: walk.quantity_decimals(),
                listed_at_ms: listing_at_ms.filter(|_| universe.listing == Some(index)),
            })
            .collect();
        let rate = universe
            .rates(false)
            .total()
            .max(universe.rates(true).total());
        SyntheticMarket {
            specs,
            schedule: Schedule::new(config.start_ms, rate, config.bursts, listing_at_ms),
            universe,
            walks,
            rng,
            generated_to: config.start_ms,
            times: Vec::new(),
        }
    }

    /// True for a symbol that trades only about once every few minutes.
    pub fn is_quiet(&self, symbol: u32) -> bool {
        self.universe
            .quiet
            .get(symbol as usize)
            .copied()
            .unwrap_or(false)
    }

    /// Expected trades per second of `symbol` outside bursts, once listed.
    pub fn rate(&self, symbol: u32) -> f64 {
        let index = symbol as usize;
        if index >= self.specs.len() {
            return 0.0;
        }
        self.universe.rates(true).rate(index)
    }
}

impl MarketSource for SyntheticMarket {
    fn symbols(&self) -> &[SymbolSpec] {
        &self.specs
    }

    /// Appends the trades with times up to and including `now_ms`; always true, since a
    /// synthetic market never runs out.
    fn poll(&mut self, now_ms: i64, out: &mut Vec<SimTrade>) -> bool {
        let until = now_ms.saturating_add(1);
        let first = out.len();
        while self.generated_to < until && out.len() - first < MAX_TRADES_PER_POLL {
            let slice = self.schedule.slice(self.generated_to, until);
            let rates = self.universe.rates(slice.listed);
            let count = self.schedule.count(&slice, rates.total());
            let span = (slice.to - slice.from) as u64;
            self.times.clear();
            self.times
                .extend((0..count).map(|_| slice.from + self.rng.below(span) as i64));
            self.times.sort_unstable();
            for &time in &self.times {
                let symbol = rates.pick(self.rng.unit());
                let trade = self.walks[symbol].next_trade(&mut self.rng, symbol as u32, time);
                out.push(trade);
            }
            self.generated_to = slice.to;
        }
        true
    }
}
