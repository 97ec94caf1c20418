//! The backfill thread's gaps: the missing trades of each, page by page from REST aggTrades,
//! handed to the shard of the symbol.

use std::sync::atomic::AtomicBool;

use super::{BackfillStats, From, Worker, parse_page};

impl Worker {
    /// Fetches the next page of the oldest gap and hands its trades over.
    pub(super) fn fetch_next_page(&mut self, stop: &AtomicBool) {
        let Some(job) = self.jobs.front() else {
            return;
        };
        let (symbol, from) = (job.symbol, job.next_id);
        let Some(name) = self.name(symbol) else {
            log::error!("backfill: no name for symbol index {symbol}; gap given up");
            self.finish_front(false);
            return;
        };
        let mut trades = Vec::new();
        let fetched = self
            .call(self.weights.agg_trades, stop, |client| {
                client.agg_trades(&name, From::Id(from))
            })
            .and_then(|body| parse_page(&body, symbol, &mut trades));
        if let Err(why) = fetched {
            log::error!("backfill of {name} from agg id {from}: {why}; gap given up");
            self.finish_front(false);
            return;
        }
        let Some(job) = self.jobs.front_mut() else {
            return;
        };
        let mut progressed = false;
        for trade in trades.iter().filter(|t| t.agg_id >= from) {
            if trade.agg_id > job.to_id {
                break;
            }
            job.incomplete |= trade.agg_id != job.next_id;
            job.next_id = trade.agg_id + 1;
            progressed = true;
            if !self.links.send_trade(*trade) {
                return;
            }
            BackfillStats::add(&self.stats.trades_sent, 1);
        }
        let past_gap = trades.last().is_some_and(|t| t.agg_id > job.to_id);
        if job.next_id > job.to_id {
            self.finish_front(true);
        } else if !progressed || past_gap {
            // The exchange has no more of the gap's ids.
            job.incomplete = true;
            self.finish_front(true);
        }
    }

    /// Ends the oldest gap. One whose every trade was sent needs nothing more: the shard
    /// completes it with the last one. Otherwise the shard is told to give it up.
    fn finish_front(&mut self, fetched: bool) {
        let Some(job) = self.jobs.pop_front() else {
            return;
        };
        if fetched && !job.incomplete {
            BackfillStats::add(&self.stats.gaps_fetched, 1);
        } else {
            BackfillStats::add(&self.stats.gaps_given_up, 1);
            self.links.give_up(job.symbol);
        }
    }
}
