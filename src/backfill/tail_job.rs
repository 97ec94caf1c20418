//! The backfill thread's tail checks: for each symbol due, the shard's view of its tail, one
//! page of REST klines to compare with, and when the exchange has trades past the shard's
//! last, those trades page by page, each page announced to the shard by a tail claim before
//! its trades go the way of a gap's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::tail_plan::{KlineCheck, TailPlan, Verdict, loss_suspected};
use super::tail_queue::{MAX_TRIES, RECONNECT_DELAY_MS, TailQueue};
use super::{BackfillStats, From, PAGE_LIMIT, Worker, parse_klines, parse_page};
use crate::aggregator::TailView;
use crate::pipeline::{TailAnswer, now_ms};
use crate::trade::AggTradePayload;

/// Longest wait for a shard's answer to a probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// How often the answer is looked for meanwhile.
const PROBE_POLL: Duration = Duration::from_millis(1);

/// Most pages of trades one tail check fetches (10,000 trades): a loss larger than that is
/// left for the next check.
const MAX_PAGES: usize = 10;

/// The backfill's state for tail checks.
pub(super) struct TailChecks {
    plan: TailPlan,
    queue: TailQueue,
    next_probe: u64,
    answers: Vec<TailAnswer>,
    reconnected: Vec<u32>,
}

impl TailChecks {
    /// Checks planned by `plan`, with a sweep every `sweep_every`.
    pub(super) fn new(plan: TailPlan, sweep_every: Option<Duration>) -> TailChecks {
        TailChecks {
            plan,
            queue: TailQueue::new(sweep_every),
            next_probe: 0,
            answers: Vec::new(),
            reconnected: Vec::new(),
        }
    }
}

impl Worker {
    /// Queues the checks the reconnects since the last call and the sweep ask for; the sweep
    /// waits while symbols wait for their warm start, which rebuilds them anyway.
    pub(super) fn schedule_tail_checks(&mut self) {
        let Some(tail) = &mut self.tail else {
            return;
        };
        let now = now_ms();
        self.links.take_reconnected(&mut tail.reconnected);
        for symbol in tail.reconnected.drain(..) {
            tail.queue.push(symbol, now + RECONNECT_DELAY_MS, 0);
        }
        if !self.warm.is_empty() {
            return;
        }
        let symbols = self
            .names
            .read()
            .map_or(0, |names| u32::try_from(names.len()).unwrap_or(u32::MAX));
        tail.queue.sweep(symbols, now);
    }

    /// True if a tail check is due and the budget has the weight of its klines call now.
    pub(super) fn tail_check_due(&mut self) -> bool {
        let Some(tail) = &self.tail else {
            return false;
        };
        tail.queue.any_due(now_ms()) && self.budget.can_spend(self.weights.klines, Instant::now())
    }

    /// Checks the tail of the symbol due first.
    pub(super) fn check_next_tail(&mut self, stop: &AtomicBool) {
        let Some(due) = self.tail.as_mut().and_then(|t| t.queue.pop_due(now_ms())) else {
            return;
        };
        // A symbol no longer followed has no name.
        let Some(name) = self.name(due.symbol) else {
            return;
        };
        let view = self.probe(due.symbol, stop);
        let Some(tail) = &mut self.tail else {
            return;
        };
        let Some(view) = view else {
            log::debug!("tail check of {name}: its shard did not answer");
            if due.tries + 1 < MAX_TRIES {
                tail.queue
                    .push(due.symbol, now_ms() + RECONNECT_DELAY_MS, due.tries + 1);
            }
            return;
        };
        match tail.plan.judge(&view.tail, now_ms()) {
            Verdict::Compare(check) => {
                let spent = BackfillStats::get(&self.stats.rest_weight);
                if let Err(why) = self.compare_tail(due.symbol, &name, &check, stop) {
                    log::warn!("tail check of {name}: {why}");
                }
                let spent = BackfillStats::get(&self.stats.rest_weight) - spent;
                BackfillStats::add(&self.stats.tail_rest_weight, spent);
            }
            Verdict::Later(at_ms) if due.tries + 1 < MAX_TRIES => {
                tail.queue.push(due.symbol, at_ms, due.tries + 1);
            }
            Verdict::Later(_) => BackfillStats::add(&self.stats.tail_skipped, 1),
            Verdict::Skip(why) => {
                log::trace!("tail check of {name} skipped: {why}");
                BackfillStats::add(&self.stats.tail_skipped, 1);
            }
        }
    }

    /// The shard's view of `symbol`'s tail, asked for through its fill ring; `None` if it
    /// does not answer in time.
    fn probe(&mut self, symbol: u32, stop: &AtomicBool) -> Option<TailView> {
        let tail = self.tail.as_mut()?;
        let id = tail.next_probe;
        tail.next_probe += 1;
        if !self.links.probe(symbol, id) {
            return None;
        }
        let deadline = Instant::now() + PROBE_TIMEOUT;
        loop {
            let tail = self.tail.as_mut()?;
            self.links.take_tail_answers(&mut tail.answers);
            // Answers to probes given up on before are of no use any more.
            let answer = tail.answers.drain(..).find(|a| a.id == id);
            if let Some(answer) = answer {
                return Some(answer.view);
            }
            if Instant::now() >= deadline || stop.load(Ordering::Acquire) {
                return None;
            }
            thread::sleep(PROBE_POLL);
        }
    }

    /// Asks the REST klines about a symbol's tail and fetches what they show lost.
    fn compare_tail(
        &mut self,
        symbol: u32,
        name: &str,
        check: &KlineCheck,
        stop: &AtomicBool,
    ) -> Result<(), String> {
        let interval = check.interval.to_string();
        let body = self.call(self.weights.klines, stop, |client| {
            client.klines(name, &interval, check.shard.open_time, check.until_ms)
        })?;
        BackfillStats::add(&self.stats.tail_checks, 1);
        if !loss_suspected(check, &parse_klines(&body)?) {
            return Ok(());
        }
        BackfillStats::add(&self.stats.tail_suspected, 1);
        let sent = self.fetch_tail(symbol, name, check, stop)?;
        if sent > 0 {
            log::info!(
                "tail check of {name}: {sent} trades after agg id {} never came; merging them",
                check.last_agg_id
            );
        }
        Ok(())
    }

    /// Fetches `symbol`'s trades after the shard's last one, up to the check's time, and hands
    /// them over page by page, each announced by a tail claim; returns how many were sent.
    fn fetch_tail(
        &mut self,
        symbol: u32,
        name: &str,
        check: &KlineCheck,
        stop: &AtomicBool,
    ) -> Result<u64, String> {
        let mut next = check.last_agg_id + 1;
        let mut sent = 0;
        for _ in 0..MAX_PAGES {
            let body = self.call(self.weights.agg_trades, stop, |client| {
                client.agg_trades(name, From::Id(next))
            })?;
            let mut page = Vec::new();
            parse_page(&body, symbol, &mut page)?;
            let (run, more) = claimable(&page, next, check.until_ms);
            let (Some(first), Some(last)) = (run.first(), run.last()) else {
                break;
            };
            if !self.links.claim_tail(symbol, first.agg_id, last.agg_id) {
                return Err("the shard is gone".to_owned());
            }
            for trade in run {
                if !self.links.send_trade(*trade) {
                    return Err("the shard is gone".to_owned());
                }
            }
            let n = run.len() as u64;
            sent += n;
            BackfillStats::add(&self.stats.tail_trades_sent, n);
            next = last.agg_id + 1;
            if !more {
                break;
            }
        }
        Ok(sent)
    }
}

/// Of a page of trades asked for from agg id `next`, the run a tail claim can announce: from
/// the first at or after `next`, consecutive, made by `until_ms`. Also whether the next page
/// may hold more (this one was full and the run went to its end).
fn claimable(page: &[AggTradePayload], next: i64, until_ms: i64) -> (&[AggTradePayload], bool) {
    let start = page.partition_point(|t| t.agg_id < next);
    let run = &page[start..];
    let len = run
        .iter()
        .enumerate()
        .take_while(|&(i, t)| {
            t.trade_time_ms <= until_ms && (i == 0 || t.agg_id == run[i - 1].agg_id + 1)
        })
        .count();
    let more = start + len == page.len() && page.len() >= PAGE_LIMIT as usize;
    (&run[..len], more)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(ids: &[(i64, i64)]) -> Vec<AggTradePayload> {
        ids.iter()
            .map(|&(agg_id, trade_time_ms)| AggTradePayload {
                agg_id,
                trade_time_ms,
                ..AggTradePayload::default()
            })
            .collect()
    }

    fn ids(run: &[AggTradePayload]) -> Vec<i64> {
        run.iter().map(|t| t.agg_id).collect()
    }

    #[test]
    fn a_claim_covers_the_consecutive_trades_made_by_the_check() {
        let trades = page(&[(4, 10), (5, 20), (6, 30), (8, 40)]);
        let (run, more) = claimable(&trades, 5, 100);
        assert_eq!((ids(run), more), (vec![5, 6], false), "stops at a hole");
        let (run, _) = claimable(&trades, 4, 25);
        assert_eq!(
            ids(run),
            [4, 5],
            "trades after the check are the live stream's"
        );
        let (run, _) = claimable(&trades, 7, 100);
        assert_eq!(ids(run), [8], "the exchange lost 7: claimed from 8");
        assert!(claimable(&trades, 9, 100).0.is_empty());
    }

    #[test]
    fn a_full_page_taken_whole_asks_for_the_next() {
        let full: Vec<(i64, i64)> = (1..=i64::from(PAGE_LIMIT)).map(|id| (id, id)).collect();
        let trades = page(&full);
        assert!(claimable(&trades, 1, i64::MAX).1);
        assert!(!claimable(&trades, 1, 500).1);
    }
}
