//! The io thread of one connection: frame bytes in, exact payloads pushed to the shards' rings.
//!
//! Per trade frame the work is: an in-place parse, a symbol lookup in a table this thread owns,
//! and a ring push. Everything else (new symbols, subscription changes, counters for others to
//! read) happens on the connection's tick, between reads.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use rtrb::Producer;

use crate::idle::IdleStrategy;
use crate::ingress::connection::{ConnectionEvent, Control, FrameHandler, SubscriptionRequests};
use crate::ingress::mini_ticker;
use crate::ingress::parser::{ParsedFrame, TradeParser};
use crate::ingress::symbols::Route;
use crate::latency::Stage;
use crate::trade::AggTradePayload;

use super::io_stats::IoStats;
use super::probe::StampWriter;
use super::reconnect_notices::ReconnectNotices;
use super::thread_waker::ThreadWaker;
use crate::config::trade_stream;

/// What the engine asks of an io thread between reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoCommand {
    /// Start handling `symbol` (global index `index`) and subscribe to its trades.
    AddSymbol { symbol: String, index: u32 },
    /// Stop handling `symbol` and unsubscribe.
    RemoveSymbol { symbol: String },
}

/// What an io thread tells the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoEvent {
    /// The ticker stream named a symbol this io thread had not seen there before.
    SymbolSeen(String),
}

/// An io thread's way into one shard: the ring it pushes to, and how it wakes the shard.
pub struct ShardLink {
    /// The ring this io thread alone pushes to.
    pub ring: Producer<AggTradePayload>,
    /// Wakes the shard's thread when trades were pushed (once per batch of frames).
    pub wakeup: Arc<ThreadWaker>,
    /// Trades were pushed since the last wake.
    pushed: bool,
    /// Trades parsed since the last push, pushed together: one copy into the ring and one
    /// store of its tail per batch instead of one per trade (allocated once, never grown).
    staged: Vec<AggTradePayload>,
}

/// Most trades staged for one shard before they are pushed without waiting for the batch's
/// end: bounds what a long batch adds to a trade's latency (a few microseconds).
const STAGED_MAX: usize = 32;

impl ShardLink {
    /// The link to a shard through `ring`, whose thread `wakeup` wakes.
    pub fn new(ring: Producer<AggTradePayload>, wakeup: Arc<ThreadWaker>) -> ShardLink {
        ShardLink {
            ring,
            wakeup,
            pushed: false,
            staged: Vec::with_capacity(STAGED_MAX),
        }
    }
}

/// The [`FrameHandler`] of one connection.
pub struct IoWorker {
    parser: TradeParser,
    rings: Vec<ShardLink>,
    idle: IdleStrategy,
    stop: Arc<AtomicBool>,
    commands: Receiver<IoCommand>,
    events: Sender<IoEvent>,
    /// Symbols already reported from the ticker stream (the ticker path is once a second, not
    /// per trade, so a set of names is fine there).
    seen_in_tickers: HashSet<String>,
    /// Refreshed on ticks; only bad-input logging reads it, so per-frame accuracy is moot.
    now: Instant,
    stats: Arc<IoStats>,
    local: LocalCounters,
    /// Frames seen at the last tick: no new frame since means the read timed out (idle).
    frames_at_tick: u64,
    /// Frames seen when the cold tick work last ran.
    frames_at_housekeeping: u64,
    /// Stamps each trade's frame-read time when latency is being measured.
    probe: Option<StampWriter>,
    /// Tells the backfill which symbols to check after a reconnect.
    reconnects: Option<ReconnectNotices>,
}

/// While frames stream in, the cold tick work (clock, commands, counters) runs once per this
/// many frames; idle ticks run it at most this often (a spinning thread ticks millions of
/// times a second, a blocking read every read tick).
const HOUSEKEEPING_EVERY: u64 = 256;
const IDLE_HOUSEKEEPING_EVERY: std::time::Duration = std::time::Duration::from_millis(1);

/// Counters kept in plain integers on the hot path and published to [`IoStats`] on ticks.
#[derive(Debug, Default, Clone, Copy)]
struct LocalCounters {
    frames: u64,
    trades: u64,
    ring_full_waits: u64,
    longest_wait_ns: u64,
    dropped_abandoned: u64,
}

impl IoWorker {
    /// An io worker pushing to `rings` (link `i` feeds shard `i`); the parser's symbol table
    /// is set to route over them.
    pub fn new(
        mut parser: TradeParser,
        rings: Vec<ShardLink>,
        idle: IdleStrategy,
        stop: Arc<AtomicBool>,
        commands: Receiver<IoCommand>,
        events: Sender<IoEvent>,
        stats: Arc<IoStats>,
    ) -> IoWorker {
        parser.symbols_mut().set_shards(rings.len());
        IoWorker {
            parser,
            rings,
            idle,
            stop,
            commands,
            events,
            seen_in_tickers: HashSet::new(),
            now: Instant::now(),
            stats,
            local: LocalCounters::default(),
            frames_at_tick: 0,
            frames_at_housekeeping: 0,
            probe: None,
            reconnects: None,
        }
    }

    /// Tells `notices` about every reconnect, with the symbols the connection carries then.
    pub fn with_reconnect_notices(mut self, notices: ReconnectNotices) -> IoWorker {
        self.reconnects = Some(notices);
        self
    }

    /// Measures latency from now on: the frame read and the ring push of each trade the probe
    /// picks are stamped.
    pub fn with_probe(mut self, probe: StampWriter) -> IoWorker {
        self.probe = Some(probe);
        self
    }

    /// Stages a trade for its shard (`route` from the symbol table), pushing the shard's
    /// staged trades once there are [`STAGED_MAX`]; [`IoWorker::on_tick`] pushes the rest.
    #[inline]
    fn stage(&mut self, mut trade: AggTradePayload, route: Route) {
        trade.symbol = route.local;
        let shard = route.shard as usize;
        let Some(link) = self.rings.get_mut(shard) else {
            // The table routes over exactly `rings.len()` shards; unreachable.
            self.local.dropped_abandoned += 1;
            return;
        };
        link.staged.push(trade);
        if link.staged.len() >= STAGED_MAX {
            self.push_staged(shard);
        }
    }

    /// Pushes every shard's staged trades.
    #[inline]
    fn push_all_staged(&mut self) {
        for shard in 0..self.rings.len() {
            if !self.rings[shard].staged.is_empty() {
                self.push_staged(shard);
            }
        }
    }

    /// Pushes shard `shard`'s staged trades to its ring in one chunk, waiting while the ring is
    /// full: a full ring slows this connection down, it never loses a trade. Only a shard that
    /// is gone drops them.
    fn push_staged(&mut self, shard: usize) {
        let link = &mut self.rings[shard];
        link.pushed = true;
        let staged = &link.staged[..];
        let (pushed, mut rest) = link.ring.push_partial_slice(staged);
        self.local.trades += pushed.len() as u64;
        if !rest.is_empty() {
            // The shard must drain before there is room: wake it now, not at the batch's end.
            link.wakeup.wake();
            let started = Instant::now();
            self.local.ring_full_waits += 1;
            while !rest.is_empty() {
                if link.ring.is_abandoned() {
                    self.local.dropped_abandoned += rest.len() as u64;
                    break;
                }
                self.idle.idle();
                let (pushed, left) = link.ring.push_partial_slice(rest);
                self.local.trades += pushed.len() as u64;
                rest = left;
            }
            let waited = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.local.longest_wait_ns = self.local.longest_wait_ns.max(waited);
        }
        link.staged.clear();
    }

    /// Stamps a trade (global symbol index) passing `stage` now.
    fn stamp(&mut self, stage: Stage, trade: &AggTradePayload) {
        if let Some(probe) = &mut self.probe {
            let at = probe.now_ns();
            probe.stamp(
                stage,
                trade.symbol,
                trade.last_trade_id,
                at,
                trade.event_time_ms,
            );
        }
    }

    fn report_new_symbols(&mut self, frame: &[u8]) {
        let seen = &mut self.seen_in_tickers;
        let events = &self.events;
        let parser = &self.parser;
        let result = mini_ticker::for_each_symbol(frame, |symbol| {
            if parser.symbols().get(symbol.as_bytes()).is_none() && !seen.contains(symbol) {
                seen.insert(symbol.to_owned());
                let _ = events.try_send(IoEvent::SymbolSeen(symbol.to_owned()));
            }
        });
        if let Err(e) = result {
            self.parser.record_bad(e.reason(), frame, self.now);
        }
    }

    fn apply_command(&mut self, command: IoCommand, subscriptions: &mut SubscriptionRequests) {
        match command {
            IoCommand::AddSymbol { symbol, index } => {
                // A symbol that comes back after it was removed is still in the table.
                let known = self.parser.symbols().get(symbol.as_bytes()) == Some(index);
                match if known {
                    Ok(())
                } else {
                    self.parser.symbols_mut().insert(&symbol, index)
                } {
                    Ok(()) => {
                        subscriptions.subscribe(&trade_stream(&symbol));
                        if let Some(notices) = &mut self.reconnects {
                            notices.add(index);
                        }
                    }
                    Err(e) => log::error!("cannot add symbol {symbol} (index {index}): {e}"),
                }
            }
            IoCommand::RemoveSymbol { symbol } => {
                subscriptions.unsubscribe(&trade_stream(&symbol));
                if let (Some(notices), Some(index)) = (
                    &mut self.reconnects,
                    self.parser.symbols().get(symbol.as_bytes()),
                ) {
                    notices.remove(index);
                }
            }
        }
    }
}

impl Drop for IoWorker {
    /// Trades staged when the worker goes (every tick and event push them, so normally none)
    /// still reach their shards if there is room; a drop never waits for a shard.
    fn drop(&mut self) {
        for link in &mut self.rings {
            let _ = link.ring.push_partial_slice(&link.staged);
            link.wakeup.wake();
        }
    }
}

impl FrameHandler for IoWorker {
    #[inline]
    fn on_text(&mut self, payload: &[u8]) {
        self.local.frames += 1;
        match self.parser.parse(payload, self.now) {
            ParsedFrame::Trade(trade, route) => {
                let stamped = self
                    .probe
                    .as_ref()
                    .is_some_and(|p| p.picks(trade.last_trade_id));
                if stamped {
                    self.stamp(Stage::FrameRead, &trade);
                }
                self.stage(trade, route);
                if stamped {
                    // A measured trade is pushed at once, so `Pushed` means visible to the shard.
                    self.push_staged(route.shard as usize);
                    self.stamp(Stage::Pushed, &trade);
                }
            }
            ParsedFrame::MiniTickers => self.report_new_symbols(payload),
            _ => {}
        }
    }

    fn on_binary(&mut self, payload: &[u8]) {
        self.local.frames += 1;
        self.parser.parse_binary(payload, self.now);
    }

    fn on_event(&mut self, event: &ConnectionEvent) {
        // A socket that ended may not tick again for a while (backoff): push what it brought.
        self.push_all_staged();
        self.wake_shards();
        self.stats.record_event(event);
        if let Some(notices) = &mut self.reconnects {
            notices.on_event(event);
        }
        // A dropped connection may not tick again for a while (backoff): publish now.
        if matches!(event, ConnectionEvent::Disconnected { .. }) {
            self.publish_counters();
        }
    }

    fn on_tick(&mut self, subscriptions: &mut SubscriptionRequests) -> Control {
        self.push_all_staged();
        self.wake_shards();
        let idle_tick = self.local.frames == self.frames_at_tick;
        self.frames_at_tick = self.local.frames;
        let due = if idle_tick {
            self.now.elapsed() >= IDLE_HOUSEKEEPING_EVERY
        } else {
            self.local.frames - self.frames_at_housekeeping >= HOUSEKEEPING_EVERY
        };
        if due {
            self.frames_at_housekeeping = self.local.frames;
            self.housekeeping(subscriptions);
        }
        if self.stop.load(Ordering::Relaxed) {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

impl IoWorker {
    /// Wakes every shard this batch of frames pushed to: one wake-up per batch, not per trade
    /// (and none for a shard that is awake).
    #[inline]
    fn wake_shards(&mut self) {
        for link in &mut self.rings {
            if link.pushed {
                link.pushed = false;
                link.wakeup.wake();
            }
        }
    }

    /// The cold part of a tick: clock, commands from the engine, counters for others to read.
    fn housekeeping(&mut self, subscriptions: &mut SubscriptionRequests) {
        self.now = Instant::now();
        while let Ok(command) = self.commands.try_recv() {
            self.apply_command(command, subscriptions);
        }
        self.publish_counters();
    }

    /// Makes this thread's counters visible to the rest of the engine.
    fn publish_counters(&self) {
        let l = self.local;
        self.stats.publish(
            l.frames,
            l.trades,
            l.ring_full_waits,
            l.longest_wait_ns,
            l.dropped_abandoned,
        );
        self.stats.publish_bad_input(self.parser.counters());
    }
}
