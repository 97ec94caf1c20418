//! A running simulator: the server plus the market thread that feeds it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::market::Recorder;
use super::server::{ServerConfig, SimServer, SimServerStats};
use super::tail_loss::{Silence, TailLoss};
use super::types::{MarketSource, SimTrade, SymbolSpec};
use super::write_stamps::WriteStamps;
use crate::pipeline::now_ms;

/// How often the market thread wakes to publish what is due. Sleeping this long between polls
/// keeps a 2-core machine usable; trades due in between go out together, with their own times.
const POLL_EVERY: Duration = Duration::from_millis(1);

/// [`POLL_EVERY`] in the market's milliseconds.
const POLL_EVERY_MS: i64 = 1;

/// Most a rate market's trade may be older than its sending (see [`catch_up`]).
const MAX_SEND_LAG_MS: i64 = 100;

/// Longest wait for the connections' queues to empty before a staged drop.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

/// How often the ticker stream is sent (Binance: once a second).
const TICKERS_EVERY: Duration = Duration::from_secs(1);

/// What to simulate.
pub struct SimulationConfig {
    /// The server's protocol rules and faults.
    pub server: ServerConfig,
    /// Where trades come from.
    pub source: Box<dyn MarketSource>,
    /// Write every published trade as Data Vision CSV into this directory.
    pub record: Option<PathBuf>,
    /// Keep every published trade in memory, for [`Simulation::trades`] (the demo's check).
    pub keep_trades: bool,
}

/// A simulator running on its own threads.
pub struct Simulation {
    server: Option<SimServer>,
    market: Option<JoinHandle<MarketOutcome>>,
    stop: Arc<AtomicBool>,
    trades: Arc<Mutex<Vec<SimTrade>>>,
    symbols: Vec<SymbolSpec>,
    /// Given to the next market thread.
    write_stamps: Option<WriteStamps>,
    /// Given to the next market thread.
    stop_after_sent: Option<u64>,
    /// Trailing losses for the market thread to stage, each with where its trades go.
    tail_losses: Sender<(TailLoss, Sender<Vec<SimTrade>>)>,
    /// Taken by the next market thread.
    staged: Receiver<(TailLoss, Sender<Vec<SimTrade>>)>,
}

/// What the market thread did.
#[derive(Debug, Default)]
pub struct MarketOutcome {
    /// Trades published.
    pub published: u64,
    /// Files the recorder wrote.
    pub recorded: Vec<PathBuf>,
    /// A recorder error, if writing failed (publishing went on).
    pub record_error: Option<String>,
    /// True when the source ran out (or the trade limit was reached) before the simulation
    /// was stopped.
    pub exhausted: bool,
    /// The write stamps, when they were asked for.
    pub write_stamps: Option<WriteStamps>,
}

/// Everything a simulation did, returned when it stops.
#[derive(Debug)]
pub struct SimulationReport {
    /// The server's counters.
    pub server: SimServerStats,
    /// The market thread's outcome.
    pub market: MarketOutcome,
    /// Every published trade, when the simulation kept them.
    pub trades: Vec<SimTrade>,
}

impl std::fmt::Display for SimulationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "published {} trades; {}",
            self.market.published, self.server
        )?;
        for path in &self.market.recorded {
            write!(f, "\nrecorded {}", path.display())?;
        }
        if let Some(e) = &self.market.record_error {
            write!(f, "\nrecording failed: {e}")?;
        }
        Ok(())
    }
}

impl Simulation {
    /// Starts the server and the market thread.
    pub fn start(config: SimulationConfig) -> std::io::Result<Simulation> {
        let mut sim = Simulation::serve(config.server, config.source.symbols().to_vec())?;
        sim.start_market(config.source, config.record, config.keep_trades)?;
        Ok(sim)
    }

    /// Starts the server only, for `symbols`; trades flow once [`Simulation::start_market`] is
    /// called (so a client can connect and subscribe before the first trade).
    pub fn serve(server: ServerConfig, symbols: Vec<SymbolSpec>) -> std::io::Result<Simulation> {
        let server = SimServer::start(server, symbols.clone())?;
        let (tail_losses, staged) = crossbeam_channel::unbounded();
        Ok(Simulation {
            tail_losses,
            staged,
            server: Some(server),
            market: None,
            stop: Arc::new(AtomicBool::new(false)),
            trades: Arc::new(Mutex::new(Vec::new())),
            symbols,
            write_stamps: None,
            stop_after_sent: None,
        })
    }

    /// Stamps each picked trade when a connection has written its frame, and has the next
    /// market thread count what it sends (see [`WriteStamps`]).
    pub fn stamp_writes(&mut self, stamps: WriteStamps) {
        if let Some(server) = &self.server {
            server.stamp_writes(stamps.written());
        }
        self.write_stamps = Some(stamps);
    }

    /// Makes the next market thread stop once it has sent this many trades to connections
    /// (trades no connection subscribed to do not count). Until then it also waits while a
    /// connection's send queue is half full, so a reader that cannot keep up slows the market
    /// down instead of being dropped as too slow: the rate reached is the reader's.
    pub fn stop_after_sent(&mut self, trades: u64) {
        self.stop_after_sent = Some(trades);
    }

    /// Starts publishing the trades of `source` (whose symbols must be the served ones).
    pub fn start_market(
        &mut self,
        source: Box<dyn MarketSource>,
        record: Option<PathBuf>,
        keep_trades: bool,
    ) -> std::io::Result<()> {
        let Some(server) = &self.server else {
            return Ok(());
        };
        let recorder = match &record {
            Some(dir) => Some(Recorder::create(dir, &self.symbols)?),
            None => None,
        };
        let core = server.config_cores().first().copied();
        let thread = MarketThread {
            source,
            publisher: server.publisher(),
            recorder,
            keep: keep_trades.then(|| Arc::clone(&self.trades)),
            stop: Arc::clone(&self.stop),
            symbols: self.symbols.clone(),
            write_stamps: self.write_stamps.take(),
            stop_after_sent: self.stop_after_sent.take(),
            send_queue: server.config_send_queue(),
            silence: Silence::new(self.symbols.len()),
            tail_losses: self.staged.clone(),
        };
        self.market = Some(
            thread::Builder::new()
                .name("klagg-sim-market".into())
                .spawn(move || {
                    crate::pipeline::pin_current_thread("sim-market", core);
                    thread.run()
                })?,
        );
        Ok(())
    }

    /// Stops publishing (the server stays up) and returns what the market thread did.
    pub fn stop_market(&mut self) -> MarketOutcome {
        self.stop.store(true, Ordering::Release);
        self.market
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Stages a trailing loss in the running market (see [`TailLoss`]): the symbol's next
    /// `unsent` trades go to REST only, the oldest connection is dropped right after them if
    /// asked, and the symbol (or every symbol) trades no more. Returns the lost trades, or `None` if the
    /// market thread did not take the request within `timeout`.
    pub fn lose_tail(&self, loss: TailLoss, timeout: Duration) -> Option<Vec<SimTrade>> {
        self.market.as_ref()?;
        let (reply, lost) = crossbeam_channel::bounded(1);
        self.tail_losses.send((loss, reply)).ok()?;
        lost.recv_timeout(timeout).ok()
    }

    /// Where clients connect (WebSocket and REST).
    pub fn addr(&self) -> SocketAddr {
        self.server
            .as_ref()
            .map_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)), SimServer::addr)
    }

    /// The Binance API the simulator speaks.
    pub fn market(&self) -> crate::config::Market {
        self.server
            .as_ref()
            .map_or(crate::config::Market::Usdm, SimServer::market)
    }

    /// The combined-stream URL an engine connects to (see [`SimServer::stream_url`]).
    pub fn stream_url(&self) -> String {
        self.server.as_ref().map_or_else(
            || format!("ws://{}/market/stream", self.addr()),
            SimServer::stream_url,
        )
    }

    /// Waits (sleeping, up to `timeout`) until `clients` WebSocket clients have connected, so
    /// the market can start once they subscribed; returns whether they did.
    pub fn wait_for_clients(&self, clients: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.stats().connections_accepted < clients {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Waits (sleeping, up to `timeout`) until every frame queued to a connection has been
    /// written, so stopping the server then cuts off nothing that was sent; returns whether
    /// it got there.
    pub fn wait_until_written(&self, timeout: Duration) -> bool {
        let Some(server) = &self.server else {
            return true;
        };
        let publisher = server.publisher();
        let deadline = Instant::now() + timeout;
        while publisher.backlog() > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Every symbol the market trades or will list.
    pub fn symbols(&self) -> &[SymbolSpec] {
        &self.symbols
    }

    /// Drops the WebSocket connection open the longest (see
    /// [`SimServer::drop_oldest_connection`]); false if none is open.
    pub fn drop_oldest_connection(&self) -> bool {
        self.server
            .as_ref()
            .is_some_and(SimServer::drop_oldest_connection)
    }

    /// The server's counters now.
    pub fn stats(&self) -> SimServerStats {
        self.server
            .as_ref()
            .map(SimServer::stats)
            .unwrap_or_default()
    }

    /// A copy of every trade published so far (only with `keep_trades`).
    pub fn trades(&self) -> Vec<SimTrade> {
        self.trades.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// True once the source has nothing more to send.
    pub fn finished(&self) -> bool {
        self.market.as_ref().is_some_and(JoinHandle::is_finished)
    }

    /// Stops the market thread and the server.
    pub fn stop(mut self) -> SimulationReport {
        let market = self.stop_market();
        let server = self.server.take().map(|s| {
            let stats = s.stats();
            s.stop();
            stats
        });
        let trades = self
            .trades
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        SimulationReport {
            server: server.unwrap_or_default(),
            market,
            trades,
        }
    }
}

impl Drop for Simulation {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.market.take() {
            let _ = h.join();
        }
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

/// The market thread's state.
struct MarketThread {
    source: Box<dyn MarketSource>,
    publisher: super::server::Publisher,
    recorder: Option<Recorder>,
    keep: Option<Arc<Mutex<Vec<SimTrade>>>>,
    stop: Arc<AtomicBool>,
    symbols: Vec<SymbolSpec>,
    write_stamps: Option<WriteStamps>,
    stop_after_sent: Option<u64>,
    /// Capacity of each connection's send queue.
    send_queue: usize,
    /// Symbols that trade no more, and each one's last trade.
    silence: Silence,
    /// Trailing losses to stage.
    tail_losses: Receiver<(TailLoss, Sender<Vec<SimTrade>>)>,
}

impl MarketThread {
    /// Sleeps while some connection's queue is more than half full (or until stopped).
    fn wait_for_room(&self) {
        while self.publisher.backlog() > self.send_queue / 2 && !self.stop.load(Ordering::Acquire) {
            thread::sleep(Duration::from_micros(200));
        }
    }

    /// Stages the trailing losses asked for: their trades are made and recorded but sent to
    /// no connection, and the oldest connection drops right after them if asked.
    fn stage_tail_losses(&mut self, now: i64, outcome: &mut MarketOutcome) {
        while let Ok((loss, reply)) = self.tail_losses.try_recv() {
            let lost = self.silence.stage(&loss, now);
            for trade in &lost {
                self.publisher.publish_unsent(trade, trade.time_ms);
                if let Some(recorder) = &mut self.recorder
                    && let Err(e) = recorder.record(trade)
                {
                    outcome.record_error.get_or_insert_with(|| e.to_string());
                }
            }
            outcome.published += lost.len() as u64;
            if let Some(keep) = &self.keep
                && let Ok(mut kept) = keep.lock()
            {
                kept.extend_from_slice(&lost);
            }
            if loss.drop_connection {
                // What was sent before goes out first: the loss is the unsent trades, no more.
                let deadline = Instant::now() + FLUSH_WAIT;
                while self.publisher.backlog() > 0 && Instant::now() < deadline {
                    thread::sleep(POLL_EVERY);
                }
                self.publisher.drop_oldest_connection();
            }
            let _ = reply.send(lost);
        }
    }

    fn run(mut self) -> MarketOutcome {
        let mut outcome = MarketOutcome::default();
        let mut due = Vec::with_capacity(4096);
        let mut listed: Vec<bool> = self
            .symbols
            .iter()
            .map(|s| s.listed_at_ms.is_none())
            .collect();
        for (index, _) in listed.iter().enumerate().filter(|(_, l)| **l) {
            self.publisher.list_symbol(index as u32);
        }
        let mut last_tickers = Instant::now();
        let mut sent = 0u64;
        let limit = self.stop_after_sent.unwrap_or(u64::MAX);
        let counted = self.stop_after_sent.is_some();
        let mut clock = SendClock::new(now_ms());
        while !self.stop.load(Ordering::Acquire) && sent < limit {
            let now = now_ms();
            for (index, spec) in self.symbols.iter().enumerate() {
                if !listed[index] && spec.listed_at_ms.is_some_and(|at| now >= at) {
                    listed[index] = true;
                    self.publisher.list_symbol(index as u32);
                }
            }
            self.stage_tail_losses(now, &mut outcome);
            due.clear();
            let more = self.source.poll(clock.source_time(now, counted), &mut due);
            due.retain(|trade| self.silence.keeps(trade));
            let mut published = 0;
            for trade in &mut due {
                if sent >= limit {
                    break;
                }
                // Checked every quarter queue, waiting below half: never more than 3/4 full.
                if self.stop_after_sent.is_some() && published % (self.send_queue / 4).max(1) == 0 {
                    self.wait_for_room();
                }
                published += 1;
                let event_ms = if counted {
                    clock.retime(trade)
                } else {
                    catch_up(trade, now);
                    now
                };
                self.silence.saw(trade);
                if self.publisher.publish(trade, event_ms) {
                    sent += 1;
                    if let Some(stamps) = &mut self.write_stamps {
                        stamps.sent();
                    }
                }
                if let Some(recorder) = &mut self.recorder
                    && let Err(e) = recorder.record(trade)
                {
                    outcome.record_error.get_or_insert_with(|| e.to_string());
                }
            }
            outcome.published += published as u64;
            if let Some(keep) = &self.keep
                && let Ok(mut kept) = keep.lock()
            {
                kept.extend_from_slice(&due[..published]);
            }
            if last_tickers.elapsed() >= TICKERS_EVERY {
                last_tickers = Instant::now();
                self.publisher.publish_mini_tickers(now);
            }
            if !more || sent >= limit {
                outcome.exhausted = true;
                break;
            }
            if !clock.behind(now) {
                thread::sleep(POLL_EVERY);
            }
        }
        outcome.write_stamps = self.write_stamps.take();
        if let Some(recorder) = self.recorder {
            match recorder.finish() {
                Ok(paths) => outcome.recorded = paths,
                Err(e) => {
                    outcome.record_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        outcome
    }
}

/// The market thread's clocks: how far the source has been polled, and, for a counted market,
/// the time stamped on the last trade sent.
///
/// A counted market sends as fast as its slowest reader takes trades, which may be slower than
/// the source's rate. Polled up to the wall clock, each poll would then cover the time the last
/// batch took to send, batches would grow without bound and trades would reach the engine long
/// after their own times, as late trades. So a counted market polls its source one
/// [`POLL_EVERY`] at a time, and stamps each trade with the time it is sent, as an exchange
/// does.
struct SendClock {
    /// The source has been polled up to here.
    polled_ms: i64,
    /// Time of the last trade sent by a counted market (never decreasing).
    sent_ms: i64,
}

impl SendClock {
    fn new(now_ms: i64) -> SendClock {
        SendClock {
            polled_ms: now_ms,
            sent_ms: i64::MIN,
        }
    }

    /// Up to when the source is polled next: the wall clock, or for a counted market at most
    /// one poll's stretch further than the last.
    fn source_time(&mut self, now_ms: i64, counted: bool) -> i64 {
        self.polled_ms = if counted {
            now_ms.min(self.polled_ms + POLL_EVERY_MS)
        } else {
            now_ms
        };
        self.polled_ms
    }

    /// True while the source has not been polled up to `now_ms`: a counted market that fell
    /// behind polls again at once instead of sleeping.
    fn behind(&self, now_ms: i64) -> bool {
        self.polled_ms < now_ms
    }

    /// Gives `trade` the time it is sent at (never before the last trade's) and returns it as
    /// its event time.
    fn retime(&mut self, trade: &mut SimTrade) -> i64 {
        self.sent_ms = self.sent_ms.max(now_ms());
        trade.time_ms = self.sent_ms;
        self.sent_ms
    }
}

/// A trade of a rate market that fell behind the clock (its thread was not scheduled, or the
/// machine paused) is made at most [`MAX_SEND_LAG_MS`] before `now_ms`, when it is sent: an
/// exchange publishes a trade as it matches it, not seconds later. Times stay in order, since
/// `now_ms` never goes back.
fn catch_up(trade: &mut SimTrade, now_ms: i64) {
    trade.time_ms = trade.time_ms.max(now_ms - MAX_SEND_LAG_MS);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade_at(time_ms: i64) -> SimTrade {
        SimTrade {
            symbol: 0,
            agg_id: 1,
            price: 1,
            quantity: 1,
            first_trade_id: 1,
            last_trade_id: 1,
            time_ms,
            is_buyer_maker: false,
        }
    }

    #[test]
    fn a_market_behind_the_clock_sends_trades_at_most_a_little_old_and_in_order() {
        let mut on_time = trade_at(10_000);
        catch_up(&mut on_time, 10_050);
        assert_eq!(on_time.time_ms, 10_000);
        // A 3 s pause: the trades due meanwhile go out as of now, in their order.
        let mut late: Vec<SimTrade> = [7_000, 8_500, 9_990].map(trade_at).to_vec();
        for trade in &mut late {
            catch_up(trade, 10_000);
        }
        let times: Vec<i64> = late.iter().map(|t| t.time_ms).collect();
        assert_eq!(times, [9_900, 9_900, 9_990]);
    }
}
