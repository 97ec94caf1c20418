//! The kline book: every symbol's klines of every interval, the shard's clock, and the epochs
//! changes are stamped with.
//!
//! A trade of a symbol whose leaf is open for it ([`KlineBook::apply_fast`]) writes the leaf
//! and nothing else; every other trade takes [`KlineBook::apply`]. The clock closes periods of
//! the symbols that are due ([`KlineBook::tick`]). Repairs set a symbol's klines and replay
//! trades through [`KlineBook::begin_replay`], [`KlineBook::apply`] and
//! [`KlineBook::end_replay`]. Consumers read the open klines through [`OpenKlines`].

use super::delta_log::{DeltaLog, OpenKlines};
use super::due_queue::DueQueue;
use super::effects::{Effects, due_time};
use super::fold_tree::{FoldTree, MAX_NODES};
use super::leaf::NO_AGG_ID;
use super::node::{INACTIVE, Node};
use super::open_cache::{Keep, OpenCache};
use super::protocol::KlineRecord;
use super::rebuild::set_klines;
use super::restore::RestoreError;
use super::rollover::{advance_each, advance_to};
use super::slow_path;
use super::stats::ShardStats;
use super::symbol_klines::{CacheState, SymbolHead, SymbolKlines, SymbolView};
use crate::interval::Interval;
use crate::kline::Kline;
use crate::trade::AggTradePayload;

/// Where each node of a symbol stood before a replay (its open time), to be put back there.
pub(crate) type Positions = [i64; MAX_NODES];

/// Every symbol's klines, flat: one head per symbol (its leaf, flags and leaf node) and its
/// coarse nodes (`symbol * coarse nodes per symbol + node - 1`).
#[derive(Debug)]
pub(crate) struct KlineBook {
    intervals: Vec<Interval>,
    tree: FoldTree,
    grace_ms: i64,
    heads: Vec<SymbolHead>,
    coarse: Vec<Node>,
    /// The newest tick or trade time.
    now_ms: i64,
    /// Changes are stamped with this; every delivery to a consumer ends one (starts at 1, so
    /// 0 means "never").
    epoch: u64,
    /// Epoch of the latest change.
    last_change: u64,
    /// True while a symbol is rebuilt by a replay: what it closes are corrections.
    rebuilding: bool,
    due: DueQueue,
    /// Every symbol's open klines without its leaf, ready for pulls.
    cache: OpenCache,
    /// The symbols changed, by the epoch they changed in (a symbol once per epoch from each of
    /// the fast and the slow paths), so a pull looks at them and not at every symbol.
    changes: Vec<(u64, u32)>,
    /// Every change in an epoch at or after this is in `changes`; a pull for changes before it
    /// looks at every symbol (after the list outgrew its bound, see [`MAX_CHANGES_PER_SYMBOL`]).
    changes_from: u64,
    /// Symbols gathered for the pull under way, sorted; reused.
    gathered: Vec<u32>,
    /// Per symbol, the serial of the last pull that gathered it; `pulls` counts them.
    gathered_at: Vec<u64>,
    pulls: u64,
}

/// Entries per symbol the list of changed symbols may hold before it is given up for a scan of
/// every symbol: a consumer that stops pulling holds the list's start back.
const MAX_CHANGES_PER_SYMBOL: usize = 8;

impl KlineBook {
    /// A book of `n_symbols` symbols over `intervals`, closing periods `grace_ms` after they end.
    pub(crate) fn new(intervals: Vec<Interval>, n_symbols: usize, grace_ms: i64) -> KlineBook {
        let tree = FoldTree::new(&intervals);
        let cache = OpenCache::new(n_symbols, intervals.len());
        KlineBook {
            coarse: vec![Node::NEW; n_symbols * (tree.len() - 1)],
            tree,
            intervals,
            grace_ms,
            heads: vec![SymbolHead::NEW; n_symbols],
            now_ms: i64::MIN,
            epoch: 1,
            last_change: 0,
            rebuilding: false,
            due: DueQueue::new(n_symbols),
            cache,
            changes: Vec::with_capacity(n_symbols),
            changes_from: 1,
            gathered: Vec::with_capacity(n_symbols),
            gathered_at: vec![0; n_symbols],
            pulls: 0,
        }
    }

    /// The intervals kept; a record's `interval` indexes this list.
    pub(crate) fn intervals(&self) -> &[Interval] {
        &self.intervals
    }

    /// Symbol indices `0..n_symbols()` are kept.
    pub(crate) fn n_symbols(&self) -> usize {
        self.heads.len()
    }

    /// The shard's clock.
    pub(crate) fn now(&self) -> i64 {
        self.now_ms
    }

    /// Applies `trade` if the leaf of its symbol is open for it: the next agg id, in the
    /// leaf's second, of a symbol in step and not held. Returns false (having changed
    /// nothing) for every other trade, invalid ones included. The caller moves the clock on to
    /// the trade's time ([`KlineBook::advance_clock`]) and counts it before anything reads
    /// either: a batch does so once for a run of such trades rather than per trade.
    #[inline(always)]
    pub(crate) fn apply_fast(&mut self, trade: &AggTradePayload) -> bool {
        let Some(head) = self.heads.get_mut(trade.symbol as usize) else {
            return false;
        };
        let leaf = &mut head.leaf;
        if !(leaf.takes(trade) & trade.is_valid()) {
            return false;
        }
        if leaf.stamp != self.epoch {
            // The symbol's first trade of the epoch: the later ones find both already done.
            self.changes.push((self.epoch, trade.symbol));
            self.last_change = self.epoch;
        }
        leaf.add(trade, self.epoch);
        true
    }

    /// Applies `trade` if it is the next agg id of a symbol whose leaf is open to trades, in a
    /// later second than the leaf's but before any coarse period of the symbol ends: the
    /// trade the fast path leaves most often (a symbol's first trade of a second). The leaf's
    /// second closes and the trade opens its own. Returns false, having changed nothing, for
    /// every other trade. The caller counts the trade.
    pub(crate) fn apply_next_second(
        &mut self,
        trade: &AggTradePayload,
        log: &mut DeltaLog,
        stats: &mut ShardStats,
    ) -> bool {
        let Some(head) = self.heads.get(trade.symbol as usize) else {
            return false;
        };
        let follows = head.leaf.is_next(trade) & (head.leaf.last_agg_id != NO_AGG_ID);
        if !(follows & trade.is_valid()) || !slow_path::rolls(head, trade) {
            return false;
        }
        let symbol = trade.symbol as usize;
        self.now_ms = self.now_ms.max(trade.trade_time_ms);
        let mut fx = self.effects(log, stats);
        let mut s = klines_of(&mut self.heads, &mut self.coarse, &self.tree, symbol);
        slow_path::roll(&mut s, trade, &mut fx);
        self.changed(symbol);
        true
    }

    /// Applies a valid trade of a symbol in range that follows its last agg id (a live trade
    /// the fast path did not take, or a replayed one), by every interval's full rule.
    pub(crate) fn apply(
        &mut self,
        trade: &AggTradePayload,
        log: &mut DeltaLog,
        stats: &mut ShardStats,
    ) {
        let symbol = trade.symbol as usize;
        self.now_ms = self.now_ms.max(trade.trade_time_ms);
        let mut fx = self.effects(log, stats);
        let mut s = klines_of(&mut self.heads, &mut self.coarse, &self.tree, symbol);
        let in_step = slow_path::apply(&mut s, trade, &mut fx);
        self.changed(symbol);
        if !in_step {
            self.settle(symbol);
        }
    }

    /// Moves the clock on to `now_ms` (it never goes back).
    pub(crate) fn advance_clock(&mut self, now_ms: i64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    /// Advances the clock to `now_ms` and closes every period that ended more than the close
    /// grace before it, opening the next one empty at the previous close. Symbols waiting for a
    /// gap's trades are left as they are until the gap ends.
    pub(crate) fn tick(&mut self, now_ms: i64, log: &mut DeltaLog, stats: &mut ShardStats) {
        self.now_ms = self.now_ms.max(now_ms);
        let until = now_ms.saturating_sub(self.grace_ms);
        while let Some(symbol) = self.due.pop_due(now_ms) {
            // Closing them empty would be wrong: the gap's replay closes them once the trades
            // are in (and queues the symbol again).
            self.heads[symbol].state.due_at = i64::MAX;
            if self.heads[symbol].state.gap_pending {
                continue;
            }
            let mut fx = Effects {
                log: &mut *log,
                stats: &mut *stats,
                epoch: self.epoch,
                now_ms: self.now_ms,
                grace_ms: self.grace_ms,
                rebuilding: self.rebuilding,
            };
            let mut s = klines_of(&mut self.heads, &mut self.coarse, &self.tree, symbol);
            if advance_to(&mut s, until, &mut fx) {
                self.changed(symbol);
            }
            self.settle(symbol);
        }
    }

    /// Last agg id applied or claimed for `symbol` (`NO_AGG_ID` before any).
    #[inline]
    pub(crate) fn last_agg_id(&self, symbol: usize) -> i64 {
        self.heads[symbol].leaf.last_agg_id
    }

    /// First agg id applied live for `symbol` (`NO_AGG_ID` before any).
    pub(crate) fn first_agg_id(&self, symbol: usize) -> i64 {
        self.heads[symbol].state.first_agg_id
    }

    /// Records the agg id of the symbol's first live trade.
    pub(crate) fn note_first_agg_id(&mut self, symbol: usize, agg_id: i64) {
        self.heads[symbol].state.first_agg_id = agg_id;
    }

    /// Moves the symbol's last agg id up to `to` without a trade (a claim, ids given up): live
    /// copies of the ids below are then fills or duplicates.
    pub(crate) fn raise_last_agg_id(&mut self, symbol: usize, to: i64) {
        let leaf = &mut self.heads[symbol].leaf;
        if to > leaf.last_agg_id {
            leaf.seal();
            leaf.last_agg_id = to;
            self.settle(symbol);
        }
    }

    /// Marks `symbol` held for a repair (its trades take the slow path and are kept), and
    /// waiting for a gap's trades (its empty periods are not closed meanwhile).
    pub(crate) fn set_hold(&mut self, symbol: usize, held: bool, gap_pending: bool) {
        let state = &mut self.heads[symbol].state;
        state.held = held;
        state.gap_pending = gap_pending;
        self.settle(symbol);
    }

    /// True while `symbol` is held for a repair.
    #[inline]
    pub(crate) fn is_held(&self, symbol: usize) -> bool {
        self.heads[symbol].state.held
    }

    /// True while `symbol` waits for a gap's trades.
    #[inline]
    pub(crate) fn gap_pending(&self, symbol: usize) -> bool {
        self.heads[symbol].state.gap_pending
    }

    /// The open kline of a symbol and interval index, if the symbol has traded.
    pub(crate) fn open_kline(&self, symbol: usize, interval: usize) -> Option<Kline> {
        if symbol >= self.heads.len() || interval >= self.intervals.len() {
            return None;
        }
        let node = self.tree.node_of(interval);
        let s = self.view(symbol);
        s.node(node).is_active().then(|| s.open_kline(node))
    }

    /// For each interval, the kline holding the symbol's last trade.
    pub(crate) fn tail_klines(&self, symbol: usize) -> Vec<Kline> {
        let s = self.view(symbol);
        (0..self.intervals.len())
            .map(|interval| s.kline_holding_last_trade(self.tree.node_of(interval)))
            .collect()
    }

    /// For each node, the kline holding the symbol's last trade: where a gap's replay starts.
    pub(crate) fn start_klines(&self, symbol: usize) -> Vec<Kline> {
        let s = self.view(symbol);
        (0..self.tree.len())
            .map(|node| s.kline_holding_last_trade(node))
            .collect()
    }

    /// Per node, the kline of its interval in `by_interval` (in the shard's interval order);
    /// a leaf no interval publishes gets none and opens with the first replayed trade.
    pub(crate) fn node_klines(&self, by_interval: &[Kline]) -> Vec<Kline> {
        (0..self.tree.len())
            .map(|node| match self.tree.output(node) {
                Some(interval) => by_interval[interval as usize],
                None => Kline::empty(INACTIVE, INACTIVE, 0),
            })
            .collect()
    }

    /// Sets `symbol`'s klines to `start` (one per node) as they stood after agg id `after`,
    /// for trades after it to be replayed with [`KlineBook::apply`]; what closes until
    /// [`KlineBook::end_replay`] is a correction. Returns where the nodes stood.
    pub(crate) fn begin_replay(&mut self, symbol: usize, start: &[Kline], after: i64) -> Positions {
        let mut before = [INACTIVE; MAX_NODES];
        let s = self.view(symbol);
        for (node, at) in before.iter_mut().enumerate().take(self.tree.len()) {
            *at = s.node(node).open_time;
        }
        self.rebuilding = true;
        let epoch = self.epoch;
        let mut s = self.klines(symbol);
        set_klines(&mut s, start, after, epoch);
        self.changed(symbol);
        self.settle(symbol);
        before
    }

    /// Ends a replay: each node moves on to the period it was in before, closing the periods
    /// in between as corrections.
    pub(crate) fn end_replay(
        &mut self,
        symbol: usize,
        before: &Positions,
        log: &mut DeltaLog,
        stats: &mut ShardStats,
    ) {
        let mut fx = self.effects(log, stats);
        let mut s = klines_of(&mut self.heads, &mut self.coarse, &self.tree, symbol);
        advance_each(&mut s, before, &mut fx);
        self.rebuilding = false;
        self.changed(symbol);
        self.settle(symbol);
    }

    /// Makes `kline` the open kline of (`symbol`, `interval`) before any live trade.
    pub(crate) fn restore(
        &mut self,
        symbol: usize,
        interval: usize,
        kline: &Kline,
    ) -> Result<(), RestoreError> {
        if symbol >= self.heads.len() || interval >= self.intervals.len() {
            return Err(RestoreError::OutOfRange);
        }
        let target = self.tree.node_of(interval);
        let rule = self.intervals[interval];
        let epoch = self.epoch;
        let s = self.view(symbol);
        if s.node(target).is_active() {
            return Err(RestoreError::AlreadyLive);
        }
        if rule.open_time(kline.open_time) != kline.open_time
            || rule.close_time(kline.open_time) != kline.close_time
        {
            return Err(RestoreError::NotAPeriod);
        }
        // The other nodes keep what they hold; the pieces are split again around the new one.
        let klines: Vec<Kline> = (0..self.tree.len())
            .map(|node| match node {
                _ if node == target => *kline,
                _ if s.node(node).is_active() => s.open_kline(node),
                _ => Kline::empty(INACTIVE, INACTIVE, 0),
            })
            .collect();
        let after = s.head.leaf.last_agg_id;
        let mut s = self.klines(symbol);
        set_klines(&mut s, &klines, after, epoch);
        self.changed(symbol);
        self.settle(symbol);
        Ok(())
    }

    /// Notes a change to `symbol` off the fast path in this epoch: for the pulls, and on the
    /// list of changed symbols (once per epoch).
    fn changed(&mut self, symbol: usize) {
        self.last_change = self.epoch;
        let state = &mut self.heads[symbol].state;
        if state.listed != self.epoch {
            state.listed = self.epoch;
            self.changes.push((self.epoch, symbol as u32));
        }
        if self.changes.len() > MAX_CHANGES_PER_SYMBOL * self.heads.len().max(1) {
            // Pulls for changes up to now look at every symbol instead.
            self.changes.clear();
            self.changes_from = self.epoch + 1;
        }
    }

    /// The symbols (sorted) whose open klines may have changed after `since`: those on the
    /// list, or every symbol when the list does not reach back that far.
    fn gather_changed(&mut self, since: u64) {
        self.gathered.clear();
        if since == 0 || since + 1 < self.changes_from {
            self.gathered.extend(0..self.heads.len() as u32);
            return;
        }
        self.pulls += 1;
        let first = self.changes.partition_point(|&(epoch, _)| epoch <= since);
        for &(_, symbol) in &self.changes[first..] {
            let at = &mut self.gathered_at[symbol as usize];
            if *at != self.pulls {
                *at = self.pulls;
                self.gathered.push(symbol);
            }
        }
        self.gathered.sort_unstable();
    }

    /// After a change to `symbol` off the fast path: opens or closes its gate and queues it
    /// for the clock if it comes due earlier than it is queued for.
    fn settle(&mut self, symbol: usize) {
        let rebuilding = self.rebuilding;
        let mut s = klines_of(&mut self.heads, &mut self.coarse, &self.tree, symbol);
        s.update_gate(rebuilding);
        if let Some(close) = s.view().next_close() {
            let due = due_time(close, self.grace_ms);
            let state = &mut self.heads[symbol].state;
            if due < state.due_at {
                state.due_at = due;
                self.due.schedule(symbol, due);
            }
        }
    }

    fn view(&self, symbol: usize) -> SymbolView<'_> {
        view_of(&self.heads, &self.coarse, &self.tree, symbol)
    }

    fn klines(&mut self, symbol: usize) -> SymbolKlines<'_> {
        klines_of(&mut self.heads, &mut self.coarse, &self.tree, symbol)
    }

    fn effects<'a>(&self, log: &'a mut DeltaLog, stats: &'a mut ShardStats) -> Effects<'a> {
        Effects {
            log,
            stats,
            epoch: self.epoch,
            now_ms: self.now_ms,
            grace_ms: self.grace_ms,
            rebuilding: self.rebuilding,
        }
    }
}

/// One symbol's klines, borrowed out of the book's arrays to be changed: the open-kline
/// cache no longer holds them.
fn klines_of<'a>(
    heads: &'a mut [SymbolHead],
    coarse: &'a mut [Node],
    tree: &'a FoldTree,
    symbol: usize,
) -> SymbolKlines<'a> {
    let n = tree.len() - 1;
    heads[symbol].state.cache = CacheState::Stale;
    SymbolKlines {
        symbol: symbol as u32,
        head: &mut heads[symbol],
        coarse: &mut coarse[symbol * n..(symbol + 1) * n],
        tree,
    }
}

/// One symbol's klines, read-only.
fn view_of<'a>(
    heads: &'a [SymbolHead],
    coarse: &'a [Node],
    tree: &'a FoldTree,
    symbol: usize,
) -> SymbolView<'a> {
    let n = tree.len() - 1;
    SymbolView {
        head: &heads[symbol],
        coarse: &coarse[symbol * n..(symbol + 1) * n],
        tree,
    }
}

impl OpenKlines for KlineBook {
    fn collect_changed(&mut self, since: u64, out: &mut Vec<KlineRecord>) {
        self.gather_changed(since);
        // One growth for the whole pull rather than doublings that copy what is already in.
        out.reserve(self.gathered.len() * self.intervals.len());
        for at in 0..self.gathered.len() {
            let symbol = self.gathered[at] as usize;
            let head = &self.heads[symbol];
            if head.leaf.stamp.max(head.state.stamp) <= since {
                continue;
            }
            // A trade changes every open kline of its symbol.
            let traded = head.leaf.stamp > since;
            let keep = match head.state.cache {
                CacheState::Fresh => Keep::Cached,
                stale => {
                    // Kept only for a symbol pulled twice between changes: see `open_cache`.
                    let (keep, next) = match stale {
                        CacheState::Stale => (Keep::ThisPull, CacheState::PulledOnce),
                        _ => (Keep::Cached, CacheState::Fresh),
                    };
                    let s = view_of(&self.heads, &self.coarse, &self.tree, symbol);
                    self.cache.compose(symbol, &s, keep);
                    self.heads[symbol].state.cache = next;
                    keep
                }
            };
            let leaf = self.heads[symbol].leaf.part();
            self.cache.collect(symbol, keep, &leaf, traded, since, out);
        }
    }

    fn delivered_through(&mut self, epoch: u64) {
        let done = self.changes.partition_point(|&(e, _)| e <= epoch);
        if done > 0 {
            self.changes.drain(..done);
        }
        self.changes_from = self.changes_from.max(epoch + 1);
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn end_epoch(&mut self) {
        self.epoch += 1;
    }

    fn last_change(&self) -> u64 {
        self.last_change
    }
}
