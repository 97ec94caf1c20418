//! The aggregator task: a kline per symbol and each of Binance's 16 intervals, every updated
//! one sent on to the consumer, as klagg keeps and delivers them.

use std::collections::HashMap;

use klagg::latency::Stage;
use tokio::sync::mpsc;

use crate::connection::Trade;
use crate::stamps::Recorder;

const DAY_MS: i64 = 86_400_000;

/// How an interval's periods are laid out.
#[derive(Debug, Clone, Copy)]
enum Period {
    /// Epoch-aligned periods of this many ms.
    Fixed(i64),
    /// Weeks from Monday 00:00 UTC.
    Week,
    /// Calendar months.
    Month,
}

/// Binance's 16 intervals, 1s to 1M.
const INTERVALS: [Period; 16] = [
    Period::Fixed(1_000),
    Period::Fixed(60_000),
    Period::Fixed(180_000),
    Period::Fixed(300_000),
    Period::Fixed(900_000),
    Period::Fixed(1_800_000),
    Period::Fixed(3_600_000),
    Period::Fixed(7_200_000),
    Period::Fixed(14_400_000),
    Period::Fixed(21_600_000),
    Period::Fixed(28_800_000),
    Period::Fixed(43_200_000),
    Period::Fixed(DAY_MS),
    Period::Fixed(3 * DAY_MS),
    Period::Week,
    Period::Month,
];

impl Period {
    /// Start and last ms of the period holding `t`.
    fn bounds(self, t: i64) -> (i64, i64) {
        match self {
            Period::Fixed(len) => {
                let start = t - t.rem_euclid(len);
                (start, start + len - 1)
            }
            Period::Week => {
                // 1970-01-01 was a Thursday: Mondays fall 4 days after a multiple of 7.
                let week = 7 * DAY_MS;
                let start = t - (t - 4 * DAY_MS).rem_euclid(week);
                (start, start + week - 1)
            }
            Period::Month => {
                let (year, month) = civil_month(t.div_euclid(DAY_MS));
                let start = days_from_civil(year, month) * DAY_MS;
                let (next_year, next_month) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
                (start, days_from_civil(next_year, next_month) * DAY_MS - 1)
            }
        }
    }
}

/// Year and month of a day count since the epoch (the usual civil-from-days algorithm).
fn civil_month(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month)
}

/// Days since the epoch of the first of `month` in `year`.
fn days_from_civil(year: i64, month: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One symbol's kline of one interval, as a consumer receives it.
#[derive(Debug, Clone)]
#[expect(
    dead_code,
    reason = "a whole kline travels to the consumer, as in the pipeline measured; this consumer only stamps and counts it"
)]
pub struct Kline {
    /// Symbol name.
    pub symbol: String,
    /// Position of the symbol in the --symbols list.
    pub symbol_index: usize,
    /// Position of the interval in [`INTERVALS`].
    pub interval: usize,
    /// Start of the minute, ms since the Unix epoch.
    pub open_time: i64,
    /// Last ms of the minute.
    pub close_time: i64,
    /// First trade's price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last trade's price.
    pub close: f64,
    /// Sum of quantities.
    pub volume: f64,
    /// Sum of price × quantity.
    pub quote_volume: f64,
    /// Raw trades, counted as Binance does: the sum of `l - f + 1`.
    pub trades: u64,
    /// Sum of quantities where the taker bought.
    pub taker_buy_volume: f64,
    /// First raw trade id in the kline.
    pub first_trade_id: i64,
    /// Last raw trade id in the kline: the trade that last updated it.
    pub last_trade_id: i64,
    /// Event time of the trade that last updated it.
    pub event_time: i64,
}

impl Kline {
    /// A kline of interval `interval` for the period `bounds`, opened by `trade` (not yet
    /// applied).
    fn open(trade: &Trade, interval: usize, (open_time, close_time): (i64, i64)) -> Kline {
        Kline {
            symbol: trade.symbol.clone(),
            symbol_index: trade.symbol_index,
            interval,
            open_time,
            close_time,
            open: trade.price,
            high: trade.price,
            low: trade.price,
            close: trade.price,
            volume: 0.0,
            quote_volume: 0.0,
            trades: 0,
            taker_buy_volume: 0.0,
            first_trade_id: trade.first_trade_id,
            last_trade_id: trade.last_trade_id,
            event_time: trade.event_time,
        }
    }

    /// Adds `trade` to the kline.
    fn apply(&mut self, trade: &Trade) {
        self.high = self.high.max(trade.price);
        self.low = self.low.min(trade.price);
        self.close = trade.price;
        self.volume += trade.quantity;
        self.quote_volume += trade.price * trade.quantity;
        self.trades += (trade.last_trade_id - trade.first_trade_id + 1) as u64;
        if !trade.is_buyer_maker {
            self.taker_buy_volume += trade.quantity;
        }
        self.last_trade_id = trade.last_trade_id;
        self.event_time = trade.event_time;
    }
}

/// What the aggregator did, returned when its input closes.
pub struct AggregatorReport {
    /// Its Updated stamps.
    pub stamps: Recorder,
    /// Trades applied, stamped or not.
    pub trades: u64,
}

/// Applies every trade to its symbol's kline of every interval and sends the 16 updated
/// klines to the consumer, until every connection has dropped its sender.
pub async fn run(
    mut trades: mpsc::Receiver<Trade>,
    klines_out: mpsc::Sender<Vec<Kline>>,
    mut stamps: Recorder,
) -> AggregatorReport {
    let mut klines: HashMap<(String, usize), Kline> = HashMap::new();
    let mut applied = 0;
    while let Some(trade) = trades.recv().await {
        let mut updated = Vec::with_capacity(INTERVALS.len());
        for (interval, period) in INTERVALS.iter().enumerate() {
            let bounds = period.bounds(trade.trade_time);
            let kline = klines
                .entry((trade.symbol.clone(), interval))
                .or_insert_with(|| Kline::open(&trade, interval, bounds));
            if bounds.0 > kline.open_time {
                *kline = Kline::open(&trade, interval, bounds);
            }
            kline.apply(&trade);
            updated.push(kline.clone());
        }
        applied += 1;
        stamps.record(
            Stage::Updated,
            trade.symbol_index,
            trade.last_trade_id,
            trade.event_time,
        );
        if klines_out.send(updated).await.is_err() {
            break;
        }
    }
    AggregatorReport {
        stamps,
        trades: applied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_monday_and_months_on_the_first() {
        // 2024-02-29T13:45:00Z.
        let t = 1_709_214_300_000;
        assert_eq!(Period::Week.bounds(t).0, 1_708_905_600_000);
        assert_eq!(
            Period::Month.bounds(t),
            (1_706_745_600_000, 1_709_251_199_999)
        );
    }
}
