//! The aggregator task: 1m klines per symbol, each update sent on to the consumer.

use std::collections::HashMap;

use klagg::latency::Stage;
use tokio::sync::mpsc;

use crate::connection::Trade;
use crate::stamps::Recorder;

/// Length of the one interval the baseline keeps.
const MINUTE_MS: i64 = 60_000;

/// One symbol's 1m kline, as a consumer receives it.
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
    /// A kline for the minute starting at `open_time`, opened by `trade` (not yet applied).
    fn open(trade: &Trade, open_time: i64) -> Kline {
        Kline {
            symbol: trade.symbol.clone(),
            symbol_index: trade.symbol_index,
            open_time,
            close_time: open_time + MINUTE_MS - 1,
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

/// Applies every trade to its symbol's kline and sends the updated kline to the consumer,
/// until every connection has dropped its sender.
pub async fn run(
    mut trades: mpsc::Receiver<Trade>,
    klines_out: mpsc::Sender<Kline>,
    mut stamps: Recorder,
) -> AggregatorReport {
    let mut klines: HashMap<String, Kline> = HashMap::new();
    let mut applied = 0;
    while let Some(trade) = trades.recv().await {
        let open_time = trade.trade_time - trade.trade_time.rem_euclid(MINUTE_MS);
        let kline = klines
            .entry(trade.symbol.clone())
            .or_insert_with(|| Kline::open(&trade, open_time));
        if open_time > kline.open_time {
            *kline = Kline::open(&trade, open_time);
        }
        kline.apply(&trade);
        applied += 1;
        stamps.record(
            Stage::Updated,
            trade.symbol_index,
            trade.last_trade_id,
            trade.event_time,
        );
        if klines_out.send(kline.clone()).await.is_err() {
            break;
        }
    }
    AggregatorReport {
        stamps,
        trades: applied,
    }
}
