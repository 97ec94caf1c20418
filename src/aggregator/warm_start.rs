//! Exact warm start, the shard side. A symbol whose open klines are being rebuilt from REST
//! goes on from its live trades meanwhile, keeping them. Once the rebuilt klines (as they stood
//! at a minute boundary) and the REST trades since that minute arrive, the symbol's klines are
//! set to the rebuilt ones and those trades and the live ones are replayed in agg-id order, as
//! after a gap: the first klines after a start equal the exchange's.

use super::shard::Shard;
use super::slot::NO_AGG_ID;
use crate::kline::Kline;
use crate::trade::AggTradePayload;

/// A symbol's rebuilt state, from the backfill thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmStart {
    /// Shard-local symbol index.
    pub symbol: u32,
    /// Trades before this time are in `open`; from it on they are in `trades` or live.
    pub from_ms: i64,
    /// Each interval's open kline as it stood at `from_ms`, in the shard's interval order.
    /// Trade ids are not needed: raw trade ids are consecutive, so the first trade from
    /// `from_ms` on gives them.
    pub open: Vec<Kline>,
    /// The exchange's trades from `from_ms` on, in agg-id order.
    pub trades: Vec<AggTradePayload>,
}

/// A symbol being warmed.
#[derive(Debug)]
pub(crate) struct Warming {
    symbol: usize,
    /// Live trades applied since the warm start began.
    live: Vec<AggTradePayload>,
    /// Shard clock when it began.
    since_ms: i64,
    /// The rebuilt state, once it came.
    data: Option<WarmStart>,
}

impl Shard {
    /// Starts keeping `symbol`'s live trades for its warm start; false if it is out of range.
    pub fn begin_warm(&mut self, symbol: u32) -> bool {
        let index = symbol as usize;
        let Some(state) = self.symbols.get(index) else {
            return false;
        };
        if state.warming {
            return true;
        }
        self.warming.push(Warming {
            symbol: index,
            live: Vec::new(),
            since_ms: self.now_ms,
            data: None,
        });
        self.symbols[index].warming = true;
        self.count_waiting();
        true
    }

    /// Takes a symbol's rebuilt state and replays it, at once or, for a symbol without a trade
    /// since `from_ms` yet, with its first trade (which gives the trade ids). False if the
    /// state does not fit the shard.
    pub fn finish_warm(&mut self, data: WarmStart) -> bool {
        if data.open.len() != self.n_intervals || !self.begin_warm(data.symbol) {
            return false;
        }
        let symbol = data.symbol as usize;
        if let Some(index) = self.warming.iter().position(|w| w.symbol == symbol) {
            self.warming[index].data = Some(data);
            self.try_warm(index);
        }
        true
    }

    /// Stops warming `symbol`: its klines stay as the live trades made them. The warm start
    /// could not be done (the REST data was incomplete); counted.
    pub fn abandon_warm(&mut self, symbol: u32) {
        if let Some(index) = self
            .warming
            .iter()
            .position(|w| w.symbol == symbol as usize)
        {
            let warming = self.warming.swap_remove(index);
            self.end_warming(&warming);
            self.stats.warm_starts_failed += 1;
        }
    }

    /// True while `symbol` waits for its rebuilt state.
    pub fn warming(&self, symbol: u32) -> bool {
        self.symbols.get(symbol as usize).is_some_and(|s| s.warming)
    }

    /// Keeps a live trade of a warming symbol, and finishes the warm start if its state was
    /// only waiting for a trade.
    pub(crate) fn buffer_warm(&mut self, trade: &AggTradePayload) {
        let symbol = trade.symbol as usize;
        let Some(index) = self.warming.iter().position(|w| w.symbol == symbol) else {
            return;
        };
        if self.buffered_trades >= self.gap_fill.max_buffered_trades {
            log::warn!("warm start of symbol {symbol} given up: too many live trades wait");
            self.abandon_warm(symbol as u32);
            return;
        }
        self.warming[index].live.push(*trade);
        self.buffered_trades += 1;
        if self.warming[index].data.is_some() {
            self.try_warm(index);
        }
    }

    /// Gives up the warm starts waiting for longer than the gap timeout.
    pub(crate) fn expire_warm(&mut self) {
        // Begun before the shard's clock first ran: the wait starts now.
        for warming in self.warming.iter_mut().filter(|w| w.since_ms == i64::MIN) {
            warming.since_ms = self.now_ms;
        }
        let deadline = self.now_ms.saturating_sub(self.gap_fill.timeout_ms);
        while let Some(index) = self.warming.iter().position(|w| w.since_ms < deadline) {
            let symbol = self.warming[index].symbol;
            log::warn!("warm start of symbol {symbol} given up: no rebuilt state in time");
            self.abandon_warm(symbol as u32);
        }
    }

    fn end_warming(&mut self, warming: &Warming) {
        self.symbols[warming.symbol].warming = false;
        self.buffered_trades -= warming.live.len();
        self.count_waiting();
    }

    /// Replays a warming symbol whose state has come, once there is a trade to take the trade
    /// ids from.
    fn try_warm(&mut self, index: usize) {
        let warming = &self.warming[index];
        let Some(data) = &warming.data else {
            return;
        };
        // Live trades before `from_ms` are in the rebuilt klines already.
        let live = warming
            .live
            .iter()
            .filter(|t| t.trade_time_ms >= data.from_ms);
        let mut replay: Vec<AggTradePayload> = data.trades.iter().chain(live).copied().collect();
        if replay.is_empty() {
            return;
        }
        replay.sort_by_key(|t| t.agg_id);
        replay.dedup_by_key(|t| t.agg_id);
        let warming = self.warming.swap_remove(index);
        self.end_warming(&warming);
        let Some(data) = warming.data else {
            return;
        };
        let symbol = warming.symbol;
        // A gap the live trades showed meanwhile is part of what the replay rebuilds.
        if self.symbols[symbol].gap_pending
            && let Some(gap) = self.pending.iter().position(|g| g.symbol() == symbol)
        {
            self.take_gap(gap);
        }
        // Trades the live stream brought were counted when applied; the rest are new.
        let state = &self.symbols[symbol];
        let live = state.first_agg_id..=state.last_agg_id;
        let added = replay
            .iter()
            .filter(|t| state.last_agg_id == NO_AGG_ID || !live.contains(&t.agg_id))
            .count();
        self.stats.trades += added as u64;
        self.stats.warm_starts += 1;
        let first = replay[0];
        let start: Vec<Kline> = data
            .open
            .iter()
            .map(|kline| {
                let mut kline = *kline;
                if kline.count > 0 {
                    kline.first_trade_id = first.first_trade_id - kline.count;
                    kline.last_trade_id = first.first_trade_id - 1;
                }
                kline
            })
            .collect();
        self.replay_from(
            symbol,
            &start,
            first.agg_id - 1,
            &mut replay.iter().copied(),
            true,
        );
    }
}
