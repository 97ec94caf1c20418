//! The backfill thread: fetches the missing trades of every gap the shards found from the
//! exchange's REST `aggTrades`, page by page within the request-weight budget, and hands them
//! to the shard that owns the symbol through a ring of its own (see
//! [`crate::pipeline::FillLinks`]). The shard merges them exactly
//! ([`crate::aggregator::Shard::fill_trade`]). A gap that cannot be closed (the exchange no
//! longer has the trades, or keeps failing) is given up, so the shard counts and logs what
//! never came; a 429 or 418 pauses every call for as long as its `Retry-After` says.
//!
//! It also rebuilds the open klines of symbols at start (the warm start), and checks the tails
//! of symbols after a reconnect and on a slow sweep: trades lost at the end of a symbol's
//! stream show no gap until the symbol trades again, so their REST klines are compared with
//! the shard's and what the exchange has more is fetched and claimed (see `tail_job`).

mod budget;
mod client;
mod gap_job;
mod kline_page;
mod page;
mod stats;
mod tail_job;
mod tail_plan;
mod tail_queue;
mod warm_job;
mod warm_plan;
mod weights;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

pub use budget::WeightBudget;
pub use client::{FetchError, From, KLINES_LIMIT, PAGE_LIMIT, RestClient};
pub use kline_page::parse_klines;
pub use page::parse_page;
pub use stats::BackfillStats;
pub use tail_plan::{KlineCheck, QUIET_MS, TailPlan, Verdict, loss_suspected};
pub use tail_queue::RECONNECT_DELAY_MS;
pub use warm_plan::{KlineRange, WarmPlan, open_klines, plan};
pub use weights::RestWeights;

use crate::aggregator::Gap;
use crate::config::Market;
use crate::interval::Interval;
use crate::pipeline::FillLinks;
use tail_job::TailChecks;

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
    /// The engine's intervals, in its order: what a warm start rebuilds.
    pub intervals: Vec<Interval>,
    /// Symbols (engine-wide indices) whose open klines are rebuilt at start, in order.
    pub warm: Vec<u32>,
    /// Check the tails of a reconnected connection's symbols (and sweep, see
    /// `tail_check_every`) for trades lost with no later trade to show it. Needs `intervals`.
    pub tail_checks: bool,
    /// Check every symbol's tail once per this, spread over it; `None` sweeps never.
    pub tail_check_every: Option<Duration>,
}

impl BackfillConfig {
    /// The defaults for `rest_url`: gaps, no warm start, and tail checks (after reconnects and
    /// every 10 minutes) once `intervals` says what to check.
    pub fn new(rest_url: &str, market: Market) -> BackfillConfig {
        BackfillConfig {
            rest_url: rest_url.to_owned(),
            market,
            weight_per_minute: 1_200,
            timeout: Duration::from_secs(10),
            max_failures: 5,
            intervals: Vec::new(),
            warm: Vec::new(),
            tail_checks: true,
            tail_check_every: Some(DEFAULT_TAIL_CHECK_EVERY),
        }
    }
}

/// How often the sweep checks every symbol's tail by default.
pub const DEFAULT_TAIL_CHECK_EVERY: Duration = Duration::from_secs(600);

/// The running backfill thread.
pub struct BackfillHandle {
    thread: JoinHandle<()>,
    /// Its counters, for `/metrics` and status lines.
    pub stats: Arc<BackfillStats>,
    warm_requests: Sender<u32>,
}

impl BackfillHandle {
    /// Where to send a symbol (engine-wide index, its name already in the thread's names)
    /// whose open klines should be rebuilt: a symbol listed while the engine runs. It is warmed
    /// after those already queued.
    pub fn warm_requests(&self) -> Sender<u32> {
        self.warm_requests.clone()
    }

    /// Waits up to `timeout` for the thread to end after its stop flag was set; a thread still
    /// in a REST call then is left to end with its call.
    pub fn join(self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.thread.is_finished() && Instant::now() < deadline {
            thread::sleep(JOIN_POLL);
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

/// How often [`BackfillHandle::join`] looks whether the thread has ended.
const JOIN_POLL: Duration = Duration::from_millis(5);

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
    let warm: VecDeque<u32> = config.warm.iter().copied().collect();
    let (warm_requests, requested) = crossbeam_channel::unbounded();
    let mut worker = Worker {
        requested,
        warm_total: warm.len(),
        warm,
        tail: tail_checks(&config),
        weights: RestWeights::of(config.market),
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
    Ok(BackfillHandle {
        thread,
        stats,
        warm_requests,
    })
}

/// The tail checks `config` asks for, if they can work; says once why not.
fn tail_checks(config: &BackfillConfig) -> Option<TailChecks> {
    if !config.tail_checks {
        return None;
    }
    if config.intervals.is_empty() {
        log::info!("trailing-gap detection is off: the backfill was given no intervals");
        return None;
    }
    match TailPlan::new(config.market, &config.intervals) {
        Ok(plan) => Some(TailChecks::new(plan, config.tail_check_every)),
        Err(why) => {
            log::warn!("trailing-gap detection is off: {why}");
            None
        }
    }
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
}

struct Worker {
    config: BackfillConfig,
    client: RestClient,
    budget: WeightBudget,
    /// What each call costs on this market.
    weights: RestWeights,
    links: FillLinks,
    names: Arc<RwLock<Vec<String>>>,
    stats: Arc<BackfillStats>,
    jobs: VecDeque<Job>,
    /// Symbols still to warm, in order.
    warm: VecDeque<u32>,
    /// How many symbols were queued to warm, for progress lines.
    warm_total: usize,
    /// Symbols listed while running, to warm after the queue.
    requested: Receiver<u32>,
    /// Tail checks, unless they are off.
    tail: Option<TailChecks>,
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
                });
            }
            for symbol in self.requested.try_iter() {
                self.warm.push_back(symbol);
                self.warm_total += 1;
            }
            self.schedule_tail_checks();
            // Gaps first: each is a page or two, and their klines are wrong until filled. Tail
            // checks last: mostly a klines call that finds nothing.
            if !self.jobs.is_empty() {
                self.fetch_next_page(stop);
            } else if !self.warm.is_empty() {
                self.warm_next(stop);
            } else if self.tail_check_due() {
                self.check_next_tail(stop);
            } else {
                thread::sleep(IDLE_WAIT);
            }
        }
    }

    /// The exchange's name of symbol index `symbol`.
    fn name(&self, symbol: u32) -> Option<String> {
        self.names
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(symbol as usize)
            .filter(|name| !name.is_empty())
            .cloned()
    }

    /// One REST call within the weight budget: waits for the weight, pauses every call for a
    /// 429's or 418's `Retry-After`, and tries a transient failure again, up to
    /// `max_failures` in a row.
    fn call(
        &mut self,
        weight: u32,
        stop: &AtomicBool,
        request: impl Fn(&RestClient) -> Result<Vec<u8>, FetchError>,
    ) -> Result<Vec<u8>, String> {
        let mut failures = 0;
        loop {
            if stop.load(Ordering::Acquire) {
                return Err("stopping".to_owned());
            }
            if let Err(wait) = self.budget.try_spend(weight, Instant::now()) {
                thread::sleep(wait.min(IDLE_WAIT));
                continue;
            }
            BackfillStats::add(&self.stats.calls, 1);
            BackfillStats::add(&self.stats.rest_weight, u64::from(weight));
            match request(&self.client) {
                Ok(body) => return Ok(body),
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
                    failures += 1;
                    if failures >= self.config.max_failures {
                        return Err(format!("{why} ({failures} tries)"));
                    }
                    log::warn!("backfill: {why}; trying again");
                    let backoff = Duration::from_millis(100 << failures.min(6));
                    self.budget.pause(backoff, Instant::now());
                }
                Err(FetchError::Permanent(why)) => {
                    BackfillStats::add(&self.stats.failures, 1);
                    return Err(why);
                }
            }
        }
    }
}
