//! The backfill thread's warm starts: for each symbol, its open klines rebuilt from REST
//! klines and the REST trades since their minute, handed to the symbol's shard, with a
//! progress line as the symbols go by.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use super::{BackfillStats, From, PAGE_LIMIT, Worker, open_klines, parse_klines, parse_page, plan};
use crate::aggregator::WarmStart;
use crate::pipeline::now_ms;
use crate::trade::AggTradePayload;

/// Tries of one symbol whose REST klines are not complete yet (a minute just ended).
const WARM_TRIES: u32 = 5;

/// Wait between those tries.
const WARM_RETRY: Duration = Duration::from_secs(1);

impl Worker {
    /// Warms the next symbol of the queue.
    pub(super) fn warm_next(&mut self, stop: &AtomicBool) {
        let Some(symbol) = self.warm.pop_front() else {
            return;
        };
        let Some(name) = self.name(symbol) else {
            log::error!("warm start: no name for symbol index {symbol}");
            return;
        };
        // From here on the shard keeps the symbol's live trades: whatever it took before is in
        // what the REST calls below return.
        self.links.begin_warm(symbol);
        match self.fetch_warm(symbol, &name, stop) {
            Ok(state) => {
                BackfillStats::add(&self.stats.warm_fetched, 1);
                self.links.finish_warm(state);
            }
            Err(why) => {
                BackfillStats::add(&self.stats.warm_failed, 1);
                log::error!(
                    "warm start of {name}: {why}; its open klines hold only the trades seen live"
                );
                self.links.abort_warm(symbol);
            }
        }
        let done = self.warm_total - self.warm.len();
        if self.warm.is_empty() || done.is_multiple_of(25) {
            log::info!("warm start: {done} of {} symbols", self.warm_total);
        }
    }

    fn fetch_warm(
        &mut self,
        symbol: u32,
        name: &str,
        stop: &AtomicBool,
    ) -> Result<WarmStart, String> {
        let intervals = self.config.intervals.clone();
        let mut tries = 0;
        loop {
            let plan = plan(&intervals, now_ms());
            let mut fetched = Vec::with_capacity(plan.ranges.len());
            for range in &plan.ranges {
                let body = self.call(self.weights.klines, stop, |client| {
                    client.klines(name, range.interval, range.start_ms, range.end_ms - 1)
                })?;
                fetched.push(parse_klines(&body)?);
            }
            match open_klines(&intervals, &plan, &fetched) {
                Ok(open) => {
                    let trades = self.trades_since(symbol, name, plan.from_ms, stop)?;
                    return Ok(WarmStart {
                        symbol,
                        from_ms: plan.from_ms,
                        open,
                        trades,
                    });
                }
                Err(why) => {
                    tries += 1;
                    if tries >= WARM_TRIES {
                        return Err(why);
                    }
                    log::debug!("warm start of {name}: {why}; trying again");
                    if !stop.load(Ordering::Acquire) {
                        thread::sleep(WARM_RETRY);
                    }
                }
            }
        }
    }

    /// Every trade of `symbol` from `from_ms` on, as far as the exchange has them.
    fn trades_since(
        &mut self,
        symbol: u32,
        name: &str,
        from_ms: i64,
        stop: &AtomicBool,
    ) -> Result<Vec<AggTradePayload>, String> {
        let mut trades: Vec<AggTradePayload> = Vec::new();
        let mut from = From::Time(from_ms);
        loop {
            let body = self.call(self.weights.agg_trades, stop, |client| {
                client.agg_trades(name, from)
            })?;
            let before = trades.len();
            parse_page(&body, symbol, &mut trades)?;
            match trades.last() {
                Some(last) if trades.len() - before == PAGE_LIMIT as usize => {
                    from = From::Id(last.agg_id + 1);
                }
                _ => return Ok(trades),
            }
        }
    }
}
