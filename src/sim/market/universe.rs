//! Which symbols a synthetic market has and how busy each one is.
//!
//! Activity follows a harmonic (Zipf) law over the busy symbols in list order, as on a real
//! exchange where BTCUSDT alone outweighs dozens of small pairs: the k-th busy symbol gets a
//! share proportional to 1/k. Quiet symbols trade on their own slow clock, and the new listing,
//! once listed, is as busy as the second symbol; the busy symbols share what is left of the
//! target rate, so the total stays on target before and after the listing.

use std::collections::HashSet;

use super::synthetic_config::SyntheticConfig;

/// Mean seconds between two trades of a quiet symbol: a few minutes, long enough that
/// klines of minutes go by empty.
pub const QUIET_MEAN_GAP_S: f64 = 180.0;

/// Name of the symbol listed mid-run unless the config names it; a name no generated symbol
/// takes.
const NEW_LISTING_NAME: &str = "NEWLISTUSDT";

/// Activity weight of the new listing, against 1 for the busiest symbol.
const NEW_LISTING_WEIGHT: f64 = 0.5;

/// The market's symbols, in index order, and their trade rates.
#[derive(Debug, Clone)]
pub struct Universe {
    /// Names by symbol index.
    pub names: Vec<String>,
    /// Quiet symbols by index.
    pub quiet: Vec<bool>,
    /// The new listing's index, if there is one (always the last symbol).
    pub listing: Option<usize>,
    /// Cumulative trade rates before the listing (or throughout, without one).
    before: RateTable,
    /// Cumulative trade rates once the listing trades.
    after: RateTable,
}

impl Universe {
    /// The symbols `config` asks for.
    pub fn new(config: &SyntheticConfig) -> Universe {
        let mut names = config.names.clone();
        let mut taken: HashSet<String> = names.iter().cloned().collect();
        let mut candidate = 0;
        while names.len() < config.symbols {
            let name = generated_name(candidate);
            candidate += 1;
            if taken.insert(name.clone()) {
                names.push(name);
            }
        }
        let base = names.len();
        let quiet_fraction = config.quiet_fraction.clamp(0.0, 1.0);
        let quiet_count = ((base as f64) * quiet_fraction).round() as usize;
        // The least busy symbols in the Zipf order are the ones made quiet.
        let mut quiet: Vec<bool> = (0..base).map(|i| i >= base - quiet_count).collect();
        let listing = config.new_listing_after.map(|_| {
            let mut name = config
                .listing_name
                .clone()
                .unwrap_or_else(|| NEW_LISTING_NAME.to_owned());
            while !taken.insert(name.clone()) {
                name.insert(0, 'X');
            }
            names.push(name);
            quiet.push(false);
            base
        });
        let target = f64::from(config.msgs_per_s);
        let before = RateTable::new(&quiet, listing, false, target);
        let after = RateTable::new(&quiet, listing, true, target);
        Universe {
            names,
            quiet,
            listing,
            before,
            after,
        }
    }

    /// The rates in force before (`false`) or after (`true`) the listing.
    pub fn rates(&self, listed: bool) -> &RateTable {
        if listed { &self.after } else { &self.before }
    }
}

/// `BTCUSDT`, `ETHUSDT`, then `SYM003USDT`, `SYM004USDT`, ... (numbered from 1).
fn generated_name(index: usize) -> String {
    match index {
        0 => "BTCUSDT".to_owned(),
        1 => "ETHUSDT".to_owned(),
        _ => format!("SYM{:03}USDT", index + 1),
    }
}

/// Trades per second of every symbol, cumulated so a symbol can be drawn in proportion to its
/// rate by one binary search.
#[derive(Debug, Clone, PartialEq)]
pub struct RateTable {
    cumulative: Vec<f64>,
}

impl RateTable {
    /// Rates with the symbol `listing` (if any) trading when `listed`, the other symbols as
    /// `quiet` says, and the busy ones sharing what the quiet ones leave of `target`.
    fn new(quiet: &[bool], listing: Option<usize>, listed: bool, target: f64) -> RateTable {
        let quiet_rate = 1.0 / QUIET_MEAN_GAP_S;
        let mut weights = vec![0.0; quiet.len()];
        let mut busy_rank = 0;
        for (index, weight) in weights.iter_mut().enumerate() {
            if Some(index) == listing {
                *weight = if listed { NEW_LISTING_WEIGHT } else { 0.0 };
            } else if !quiet[index] {
                busy_rank += 1;
                *weight = 1.0 / f64::from(busy_rank);
            }
        }
        let quiet_total = quiet.iter().filter(|&&q| q).count() as f64 * quiet_rate;
        let busy_total = (target - quiet_total).max(0.0);
        let weight_sum: f64 = weights.iter().sum();
        let mut sum = 0.0;
        let cumulative = weights
            .iter()
            .zip(quiet)
            .map(|(&weight, &is_quiet)| {
                sum += if is_quiet {
                    quiet_rate
                } else if weight > 0.0 {
                    busy_total * weight / weight_sum
                } else {
                    0.0
                };
                sum
            })
            .collect();
        RateTable { cumulative }
    }

    /// Trades per second over all symbols.
    pub fn total(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// Trades per second of one symbol.
    pub fn rate(&self, symbol: usize) -> f64 {
        let below = if symbol == 0 {
            0.0
        } else {
            self.cumulative[symbol - 1]
        };
        self.cumulative[symbol] - below
    }

    /// The symbol a uniform `unit` in `[0, 1)` falls on, in proportion to the rates.
    pub fn pick(&self, unit: f64) -> usize {
        let x = unit * self.total();
        // Symbols with rate 0 have empty segments, which `<=` steps over.
        let index = self.cumulative.partition_point(|&c| c <= x);
        index.min(self.cumulative.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn config(symbols: usize) -> SyntheticConfig {
        SyntheticConfig::new(symbols, 1_000, 1, 0)
    }

    #[test]
    fn names_are_generated_after_the_given_ones_without_repeats() {
        let mut c = config(4);
        c.names = vec!["ETHUSDT".into(), "SOLUSDT".into()];
        assert_eq!(
            Universe::new(&c).names,
            ["ETHUSDT", "SOLUSDT", "BTCUSDT", "SYM003USDT"]
        );
        c.names = vec!["BTCUSDT".into(), "币安人生USDT".into()];
        assert_eq!(
            Universe::new(&c).names,
            ["BTCUSDT", "币安人生USDT", "ETHUSDT", "SYM003USDT"]
        );
        c.symbols = 1;
        assert_eq!(Universe::new(&c).names.len(), 2, "every given name is used");
    }

    #[test]
    fn busy_symbols_share_the_target_by_rank() {
        let u = Universe::new(&config(10));
        let rates = u.rates(false);
        assert!((rates.total() - 1_000.0).abs() < 1e-6);
        assert!((rates.rate(0) / rates.rate(1) - 2.0).abs() < 1e-9);
        assert!((rates.rate(0) / rates.rate(9) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn quiet_symbols_are_the_last_and_slow() {
        let mut c = config(10);
        c.quiet_fraction = 0.3;
        let u = Universe::new(&c);
        assert_eq!(u.quiet.iter().filter(|&&q| q).count(), 3);
        assert!(u.quiet[7] && u.quiet[9] && !u.quiet[6]);
        let rates = u.rates(false);
        assert!((rates.rate(8) - 1.0 / QUIET_MEAN_GAP_S).abs() < 1e-12);
        assert!((rates.total() - 1_000.0).abs() < 1e-6);
    }

    #[test]
    fn the_listing_trades_only_in_the_table_after() {
        let mut c = config(3);
        c.new_listing_after = Some(Duration::from_secs(1));
        let u = Universe::new(&c);
        assert_eq!((u.listing, u.names[3].as_str()), (Some(3), "NEWLISTUSDT"));
        assert_eq!(u.rates(false).rate(3), 0.0);
        assert!(u.rates(true).rate(3) > 0.0);
        assert!((u.rates(true).total() - 1_000.0).abs() < 1e-6);
        c.listing_name = Some("币安人生USDT".into());
        assert_eq!(Universe::new(&c).names[3], "币安人生USDT");
    }

    #[test]
    fn picks_follow_the_rates_and_skip_silent_symbols() {
        let table = RateTable {
            cumulative: vec![1.0, 1.0, 4.0],
        };
        assert_eq!(table.pick(0.0), 0);
        assert_eq!(table.pick(0.249), 0);
        assert_eq!(table.pick(0.25), 2);
        assert_eq!(table.pick(0.999_999), 2);
        assert_eq!(RateTable { cumulative: vec![] }.pick(0.5), 0);
    }
}
