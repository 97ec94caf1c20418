//! The backfill thread: fetches the missing trades of every gap the shards found from the
//! exchange's REST `aggTrades`, page by page within the request-weight budget, and hands them
//! to the shard that owns the symbol through a ring of its own (see
//! [`crate::pipeline::FillLinks`]). The shard merges them exactly
//! ([`crate::aggregator::Shard::fill_trade`]). A gap that cannot be closed (the exchange no
//! longer has the trades, or keeps failing) is given up, so the shard counts and logs what
//! never came; a 429 or 418 pauses every call for as long as its `Retry-After` says.

mod budget;
mod client;
mod kline_page;
mod page;
mod stats;
mod warm_plan;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use budget::WeightBudget;
pub use client::{
    AGG_TRADES_WEIGHT, FetchError, From, KLINES_LIMIT, KLINES_WEIGHT, PAGE_LIMIT, RestClient,
};
pub use kline_page::parse_klines;
pub use page::parse_page;
pub use stats::BackfillStats;
pub use warm_plan::{KlineRange, WarmPlan, open_klines, plan};

use crate::aggregator::Gap;
use crate::config::Market;
use crate::pipeline::FillLinks;

/// Where and how fast the backfill fetches.
#[derive(Debug, Clone)]
pub struct BackfillConfig {
    /// The exchange's REST base, e.g. `https://fapi.binance.com`.
    pub rest_url: String,
    /// Which REST path serves aggregate trades.
    pub market: Market,
    /// Request weight the backfill may spend per minute. Binance allows 2,400 per IP for
    /// everything; the default, 1,200, leaves the rest to other clients of the address.
    pub weight_per_minute: u32,
    /// Longest wait for one page.
    pub timeout: Duration,
    /// Failed calls in a row (transport errors, 5xx) after which a gap is given up.
    pub max_failures: u32,
}

impl BackfillConfig {
    /// The defaults for `rest_url`.
    pub fn new(rest_url: &str, market: Market) -> BackfillConfig {
        BackfillConfig {
            rest_url: rest_url.to_owned(),
            market,
            weight_per_minute: 1_200,
            timeout: Duration::from_secs(10),
            max_failures: 5,
        }
    }
}

/// The running backfill thread.
pub struct BackfillHandle {
    thread: JoinHandle<()>,
    /// Its counters, for `/metrics` and status lines.
    pub stats: Arc<BackfillStats>,
}

impl BackfillHandle {
    /// Waits up to `timeout` for the thread to end after its stop flag was set; a thread still
    /// in a REST call then is left to end with its call.
    pub fn join(self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.thread.is_finished() && Instant::now() < deadline {
            thread::sleep(IDLE_WAIT.min(Duration::from_millis(5)));
        }
        if self.thread.is_finished() {
            if self.thread.join().is_err() {
                log::error!("the backfill thread panicked");
            }
        } else {
            log::warn!("the backfill thread is still in a REST call; not waiting for it");
        }
    }
}

/// How long the thread sleeps when it has nothing to do, and at most in one go.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// Starts the backfill thread; `names[i]` is the exchange's name of symbol index `i`. It runs
/// until `stop` is set.
pub fn spawn(
    config: BackfillConfig,
    links: FillLinks,
    names: Arc<RwLock<Vec<String>>>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<BackfillHandle> {
    let stats = Arc::new(BackfillStats::default());
    let mut worker = Worker {
        client: RestClient::new(&config.rest_url, config.market, config.timeout),
        budget: WeightBudget::new(config.weight_per_minute, Instant::now()),
        config,
        links,
        names,
        stats: Arc::clone(&stats),
        jobs: VecDeque::new(),
    };
    let thread = thread::Builder::new()
        .name("klagg-backfill".into())
        .spawn(move || worker.run(&stop))?;
    Ok(BackfillHandle { thread, stats })
}

/// One gap being fetched.
struct Job {
    symbol: u32,
    /// Next agg id to ask for.
    next_id: i64,
    /// Last missing agg id.
    to_id: i64,
    /// Some ids were not in the exchange's answers: the shard must give the gap up.
    incomplete: bool,
    /// Failed calls in a row.
    failures: u32,
}

struct Worker {
    config: BackfillConfig,
    client: RestClient,
    budget: WeightBudget,
    links: FillLinks,
    names: Arc<RwLock<Vec<String>>>,
    stats: Arc<BackfillStats>,
    jobs: VecDeque<Job>,
}

impl Worker {
    fn run(&mut self, stop: &AtomicBool) {
        let mut gaps: Vec<Gap> = Vec::new();
        while !stop.load(Ordering::Acquire) {
            self.links.take_gaps(&mut gaps);
            for gap in gaps.drain(..) {
                BackfillStats::add(&self.stats.gaps_taken, 1);
                self.jobs.push_back(Job {
                    symbol: gap.symbol,
                    next_id: gap.from_agg_id,
                    to_id: gap.to_agg_id,
                    incomplete: false,
                    failures: 0,
                });
            }
            if self.jobs.is_empty() {
                thread::sleep(IDLE_WAIT);
                continue;
            }
            if let Err(wait) = self.budget.try_spend(AGG_TRADES_WEIGHT, Instant::now()) {
                thread::sleep(wait.min(IDLE_WAIT));
                continue;
            }
            self.fetch_next_page();
        }
    }

    /// Fetches the next page of the oldest job and hands its trades over.
    fn fetch_next_page(&mut self) {
        let Some(job) = self.jobs.front_mut() else {
            return;
        };
        let name = self
            .names
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(job.symbol as usize)
            .cloned();
        let Some(name) = name else {
            log::error!(
                "backfill: no name for symbol index {}; gap given up",
                job.symbol
            );
            self.finish_front(false);
            return;
        };
        BackfillStats::add(&self.stats.calls, 1);
        let mut trades = Vec::new();
        let fetched = self
            .client
            .agg_trades(&name, From::Id(job.next_id))
            .and_then(|body| {
                parse_page(&body, job.symbol, &mut trades).map_err(FetchError::Permanent)
            });
        match fetched {
            Ok(()) => {
                job.failures = 0;
                let mut progressed = false;
                let asked = job.next_id;
                for trade in trades.iter().filter(|t| t.agg_id >= asked) {
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
            Err(FetchError::RateLimited(wait)) => {
                BackfillStats::add(&self.stats.rate_limited, 1);
                log::warn!("backfill: rate limited by the exchange; pausing for {wait:?}");
                self.budget.pause(wait, Instant::now());
            }
            Err(FetchError::Banned(wait)) => {
                BackfillStats::add(&self.stats.rate_limited, 1);
                log::error!("backfill: the exchange banned this address; pausing for {wait:?}");
                self.budget.pause(wait, Instant::now());
            }
            Err(FetchError::Transient(why)) => {
                BackfillStats::add(&self.stats.failures, 1);
                job.failures += 1;
                if job.failures >= self.config.max_failures {
                    log::error!(
                        "backfill of {name}: {why}; gap given up after {} tries",
                        job.failures
                    );
                    self.finish_front(false);
                } else {
                    log::warn!("backfill of {name}: {why}; trying again");
                    let backoff = Duration::from_millis(100 << job.failures.min(6));
                    self.budget.pause(backoff, Instant::now());
                }
            }
            Err(FetchError::Permanent(why)) => {
                BackfillStats::add(&self.stats.failures, 1);
                log::error!("backfill of {name}: {why}; gap given up");
                self.finish_front(false);
            }
        }
    }

    /// Ends the oldest job. A gap whose every trade was sent needs nothing more: the shard
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
