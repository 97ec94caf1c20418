//! Engine klines against the oracle's: every field of every kline given, and with
//! [`Completeness::Every`] also every kline the trades make that was not given.

use std::collections::{BTreeMap, HashMap};

use super::period::Period;
use super::series::{OracleKline, OracleTrade, build};
use crate::aggregator::KlineRecord;
use crate::interval::Interval;
use crate::kline::Kline;
use crate::sim::SimTrade;
use crate::trade::AggTradePayload;

/// How many differences a [`Verification`] describes.
const EXAMPLES: usize = 5;

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Klines compared and found equal.
    pub verified: u64,
    /// Klines that differ from the oracle's, or that no trade explains.
    pub mismatches: u64,
    /// Klines the trades make that were not given (checked with [`Completeness::Every`]).
    pub missing: u64,
    /// Raw trades the given klines of the finest interval lack, missing klines included.
    pub lost_trades: u64,
    /// The first few differences, described.
    pub examples: Vec<String>,
}

impl Verification {
    /// True when nothing differs and nothing is missing.
    pub fn is_exact(&self) -> bool {
        self.mismatches == 0 && self.missing == 0 && self.lost_trades == 0
    }

    fn note(&mut self, what: impl FnOnce() -> String) {
        if self.examples.len() < EXAMPLES {
            self.examples.push(what());
        }
    }
}

/// Whether klines the trades make but nobody gave count as missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// Only the klines given are compared (a consumer that saw part of a run).
    Given,
    /// Every kline of every symbol that traded and every interval, from the symbol's first
    /// trade to the last kline given, must be among those given.
    Every,
}

/// The oracle for a set of intervals and trades, ready to check klines against.
#[derive(Debug)]
pub struct Checker {
    labels: Vec<String>,
    periods: Vec<Period>,
    /// Index of the shortest interval, whose klines count lost trades.
    finest: usize,
    trades: HashMap<u32, Vec<OracleTrade>>,
    names: Vec<String>,
}

impl Checker {
    /// A checker for klines of `intervals` (records carry indices into it) and `trades` of
    /// dense symbol indices.
    ///
    /// # Errors
    ///
    /// An interval the oracle does not know how to lay out, named.
    pub fn new(
        intervals: &[Interval],
        trades: impl IntoIterator<Item = (u32, OracleTrade)>,
    ) -> Result<Checker, String> {
        let labels: Vec<String> = intervals.iter().map(ToString::to_string).collect();
        let periods = labels
            .iter()
            .map(|label| {
                Period::parse(label)
                    .ok_or_else(|| format!("the oracle cannot lay out interval {label}"))
            })
            .collect::<Result<Vec<Period>, String>>()?;
        let finest = (0..periods.len())
            .min_by_key(|&i| typical_len_ms(periods[i]))
            .unwrap_or(0);
        let mut by_symbol: HashMap<u32, Vec<OracleTrade>> = HashMap::new();
        for (symbol, trade) in trades {
            by_symbol.entry(symbol).or_default().push(trade);
        }
        Ok(Checker {
            labels,
            periods,
            finest,
            trades: by_symbol,
            names: Vec::new(),
        })
    }

    /// Names symbols in the examples (by dense index) instead of their indices.
    pub fn with_names(mut self, names: Vec<String>) -> Checker {
        self.names = names;
        self
    }

    /// Compares `records` with the oracle. Where several records hold the same symbol,
    /// interval and open time, the last one counts: give a consumer's open states before its
    /// closed klines, and corrections after what they correct.
    pub fn check<'a>(
        &self,
        records: impl IntoIterator<Item = &'a KlineRecord>,
        completeness: Completeness,
    ) -> Verification {
        let mut given: BTreeMap<(u32, u16), BTreeMap<i64, &Kline>> = BTreeMap::new();
        for record in records {
            given
                .entry((record.symbol, record.interval))
                .or_default()
                .insert(record.kline.open_time, &record.kline);
        }
        if completeness == Completeness::Every {
            for &symbol in self.trades.keys() {
                for interval in 0..self.labels.len() {
                    given.entry((symbol, interval as u16)).or_default();
                }
            }
        }
        let mut outcome = Verification::default();
        for ((symbol, interval), klines) in &given {
            self.check_series(*symbol, *interval, klines, completeness, &mut outcome);
        }
        outcome
    }

    fn check_series(
        &self,
        symbol: u32,
        interval: u16,
        given: &BTreeMap<i64, &Kline>,
        completeness: Completeness,
        outcome: &mut Verification,
    ) {
        let at = usize::from(interval);
        let Some(&period) = self.periods.get(at) else {
            outcome.mismatches += given.len() as u64;
            outcome.note(|| {
                format!(
                    "{}: interval index {interval} out of range",
                    self.name(symbol)
                )
            });
            return;
        };
        let until = given.keys().next_back().copied().unwrap_or(i64::MIN);
        let trades = self.trades.get(&symbol).map_or(&[][..], Vec::as_slice);
        let expected = build(trades, period, until);
        let by_open: HashMap<i64, &OracleKline> =
            expected.iter().map(|k| (k.open_time, k)).collect();
        let finest = at == self.finest;
        let label = &self.labels[at];
        for (open, kline) in given {
            let got = as_oracle(kline);
            match by_open.get(open) {
                Some(want) if **want == got => outcome.verified += 1,
                Some(want) => {
                    outcome.mismatches += 1;
                    if finest {
                        outcome.lost_trades += (want.count - got.count).max(0) as u64;
                    }
                    outcome.note(|| {
                        format!(
                            "{} {label} {open}: given {got:?}, oracle {want:?}",
                            self.name(symbol)
                        )
                    });
                }
                None => {
                    outcome.mismatches += 1;
                    outcome.note(|| format!("{} {label} {open}: given {got:?}, but no period of the trades opens there", self.name(symbol)));
                }
            }
        }
        if completeness == Completeness::Every {
            for want in expected
                .iter()
                .filter(|k| !given.contains_key(&k.open_time))
            {
                outcome.missing += 1;
                if finest {
                    outcome.lost_trades += want.count as u64;
                }
                outcome.note(|| {
                    format!(
                        "{} {label} {}: missing, oracle {want:?}",
                        self.name(symbol),
                        want.open_time
                    )
                });
            }
        }
    }

    fn name(&self, symbol: u32) -> String {
        self.names
            .get(symbol as usize)
            .cloned()
            .unwrap_or_else(|| format!("symbol {symbol}"))
    }
}

/// A period's length for ordering intervals by fineness (months as 31 days).
fn typical_len_ms(period: Period) -> i64 {
    match period {
        Period::Fixed(len) => len,
        Period::Week => 7 * 86_400_000,
        Period::Month => 31 * 86_400_000,
    }
}

/// The engine's kline in the oracle's terms, field by field.
fn as_oracle(k: &Kline) -> OracleKline {
    OracleKline {
        open_time: k.open_time,
        close_time: k.close_time,
        open: k.open,
        high: k.high,
        low: k.low,
        close: k.close,
        volume: k.volume,
        quote_volume: k.quote_volume,
        taker_buy_volume: k.taker_buy_volume,
        taker_buy_quote_volume: k.taker_buy_quote_volume,
        count: k.count,
        first_trade_id: k.first_trade_id,
        last_trade_id: k.last_trade_id,
    }
}

impl From<&SimTrade> for OracleTrade {
    fn from(t: &SimTrade) -> OracleTrade {
        OracleTrade {
            agg_id: t.agg_id,
            price: t.price,
            quantity: t.quantity,
            first_trade_id: t.first_trade_id,
            last_trade_id: t.last_trade_id,
            time_ms: t.time_ms,
            is_buyer_maker: t.is_buyer_maker,
        }
    }
}

impl From<&AggTradePayload> for OracleTrade {
    fn from(t: &AggTradePayload) -> OracleTrade {
        OracleTrade {
            agg_id: t.agg_id,
            price: t.price,
            quantity: t.quantity,
            first_trade_id: t.first_trade_id,
            last_trade_id: t.last_trade_id,
            time_ms: t.trade_time_ms,
            is_buyer_maker: t.is_buyer_maker,
        }
    }
}

/// Checks `records` of `intervals` against the oracle built from the simulator's `trades`
/// (symbol index = dense index), as [`Checker::check`] does.
///
/// # Errors
///
/// As for [`Checker::new`].
pub fn verify<'a>(
    intervals: &[Interval],
    trades: &[SimTrade],
    records: impl IntoIterator<Item = &'a KlineRecord>,
    completeness: Completeness,
) -> Result<Verification, String> {
    let checker = Checker::new(
        intervals,
        trades.iter().map(|t| (t.symbol, OracleTrade::from(t))),
    )?;
    Ok(checker.check(records, completeness))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_704_067_200_000;

    fn trade(agg_id: i64, time_ms: i64, price: i64) -> SimTrade {
        SimTrade {
            symbol: 0,
            agg_id,
            price,
            quantity: 100,
            first_trade_id: agg_id * 2,
            last_trade_id: agg_id * 2 + 1,
            time_ms,
            is_buyer_maker: false,
        }
    }

    fn record(interval: u16, kline: OracleKline) -> KlineRecord {
        KlineRecord {
            symbol: 0,
            interval,
            correction: false,
            kline: Kline {
                open_time: kline.open_time,
                close_time: kline.close_time,
                open: kline.open,
                high: kline.high,
                low: kline.low,
                close: kline.close,
                volume: kline.volume,
                quote_volume: kline.quote_volume,
                taker_buy_volume: kline.taker_buy_volume,
                taker_buy_quote_volume: kline.taker_buy_quote_volume,
                count: kline.count,
                first_trade_id: kline.first_trade_id,
                last_trade_id: kline.last_trade_id,
            },
        }
    }

    /// Trades in seconds 0 and 2 of a minute, and the oracle's 1s and 1m klines of them.
    fn market() -> (Vec<Interval>, Vec<SimTrade>, Vec<KlineRecord>) {
        let intervals = Interval::parse_list("1m,1s").unwrap();
        let trades = vec![
            trade(1, T0 + 5, 10),
            trade(2, T0 + 300, 12),
            trade(3, T0 + 2_100, 11),
        ];
        let oracle: Vec<OracleTrade> = trades.iter().map(OracleTrade::from).collect();
        let mut records: Vec<KlineRecord> = build(&oracle, Period::Fixed(60_000), T0)
            .into_iter()
            .map(|k| record(0, k))
            .collect();
        records.extend(
            build(&oracle, Period::Fixed(1_000), T0)
                .into_iter()
                .map(|k| record(1, k)),
        );
        (intervals, trades, records)
    }

    #[test]
    fn the_oracles_own_klines_check_exact() {
        let (intervals, trades, records) = market();
        let found = verify(&intervals, &trades, &records, Completeness::Every).unwrap();
        assert!(found.is_exact(), "{found:?}");
        assert_eq!(found.verified, 4);
    }

    #[test]
    fn a_kline_short_of_a_trade_is_a_mismatch_and_its_trades_are_lost() {
        let (intervals, trades, mut records) = market();
        // The 1s kline of second 0 without its second trade (two raw trades).
        let second = records.iter_mut().find(|r| r.interval == 1).unwrap();
        second.kline.count -= 2;
        second.kline.close = 10;
        let found = verify(&intervals, &trades, &records, Completeness::Given).unwrap();
        assert_eq!((found.mismatches, found.lost_trades), (1, 2));
        assert_eq!(found.examples.len(), 1);
    }

    #[test]
    fn with_every_a_kline_not_given_is_missing_and_counts_its_trades() {
        let (intervals, trades, mut records) = market();
        // The last 1s kline (second 2, one trade of two raw trades) and the empty second 1.
        records.retain(|r| r.interval == 0 || r.kline.open_time == T0);
        let given = verify(&intervals, &trades, &records, Completeness::Given).unwrap();
        assert!(given.is_exact(), "{given:?}");
        let every = verify(&intervals, &trades, &records, Completeness::Every).unwrap();
        assert_eq!((every.missing, every.lost_trades), (2, 2));
    }

    #[test]
    fn a_quiet_period_after_the_last_trade_is_empty_at_the_last_close() {
        let (intervals, trades, mut records) = market();
        let empty = OracleKline {
            open_time: T0 + 5_000,
            close_time: T0 + 5_999,
            open: 11,
            high: 11,
            low: 11,
            close: 11,
            volume: 0,
            quote_volume: 0,
            taker_buy_volume: 0,
            taker_buy_quote_volume: 0,
            count: 0,
            first_trade_id: -1,
            last_trade_id: -1,
        };
        records.push(record(1, empty));
        let found = verify(&intervals, &trades, &records, Completeness::Given).unwrap();
        assert!(found.is_exact(), "{found:?}");
        // With every kline asked for, the quiet seconds 3 and 4 before it are missing.
        let every = verify(&intervals, &trades, &records, Completeness::Every).unwrap();
        assert_eq!((every.missing, every.lost_trades), (2, 0));
        // At another price it is wrong.
        records.last_mut().unwrap().kline.close = 12;
        let wrong = verify(&intervals, &trades, &records, Completeness::Given).unwrap();
        assert_eq!(wrong.mismatches, 1);
    }

    #[test]
    fn a_kline_where_no_period_opens_is_a_mismatch() {
        let (intervals, trades, mut records) = market();
        records[0].kline.open_time += 1;
        let found = verify(&intervals, &trades, &records, Completeness::Given).unwrap();
        assert_eq!(found.mismatches, 1);
    }
}
