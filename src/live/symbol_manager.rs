//! Symbols that come and go while the engine runs (`symbols = "all"`).
//!
//! The ticker stream (`!miniTicker@arr`) names every symbol with a ticker once a second; an
//! io thread reports the names it has not seen. Here they are checked against exchangeInfo
//! (a new name is not necessarily a TRADING perpetual in our quote asset), given the next
//! free global index, and handed to a connection with room; a name klagg cannot follow (see
//! [`crate::symbol_name`]) is logged once and counted instead. A periodic exchangeInfo refresh
//! also unsubscribes symbols that stopped trading. With `exchange.partition`, only names in
//! this klagg's partition are followed: the rule depends on the name alone, so each new
//! listing lands on exactly one of the hosts that share the market. All of it runs on the control thread: no
//! lock or lookup by name ever reaches the io threads' hot path.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::config::{Market, Partition, Plan, SymbolSelection};
use crate::ingress::exchange_info::{self, ListedSymbol};
use crate::pipeline::{Engine, IoEvent};

use super::refused::RefusedSymbols;

/// Shortest time between two exchangeInfo requests made for newly seen symbols (exchangeInfo
/// weighs 1 of Binance's 2,400 per minute; once per 10 s is nothing).
const MIN_FETCH_GAP: Duration = Duration::from_secs(10);

/// Timeout of one exchangeInfo request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Where each symbol lives, and where new ones go.
#[derive(Debug)]
pub struct SymbolManager {
    follow_new: bool,
    /// The share of the selected symbols followed here.
    partition: Partition,
    market: Market,
    quote_asset: String,
    rest_url: String,
    refresh_every: Option<Duration>,
    max_symbols: u32,
    streams_per_connection: usize,
    /// Symbol -> (global index, connection group).
    active: HashMap<String, (u32, usize)>,
    /// Symbols unsubscribed after they stopped trading; their index stays reserved.
    retired: HashMap<String, u32>,
    /// Streams on each connection group.
    streams: Vec<usize>,
    /// The connections of each group, which all carry its symbols (`exchange.redundancy`).
    groups: Vec<Vec<usize>>,
    next_index: u32,
    /// Names seen in tickers, not yet checked against exchangeInfo.
    pending: HashSet<String>,
    last_fetch: Option<Instant>,
    next_refresh: Option<Instant>,
    /// Names by global index, shared with consumers that store or serve klines by name.
    names: Arc<RwLock<Vec<String>>>,
    /// Where new symbols go for their warm start, if the backfill runs.
    warm_requests: Option<Sender<u32>>,
    /// Selected names that cannot be followed.
    refused: RefusedSymbols,
}

impl SymbolManager {
    /// Starts from the symbols a plan placed; new ones get the indices after theirs, and their
    /// names are added to `names` before the engine is told about them.
    pub fn new(plan: &Plan, names: Arc<RwLock<Vec<String>>>) -> SymbolManager {
        let settings = &plan.settings;
        let global: HashMap<&str, u32> = plan.symbol_indices().collect();
        let mut active = HashMap::with_capacity(global.len());
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut streams = Vec::new();
        for connection in &plan.connections {
            if connection.group == connection.index {
                for name in &connection.symbols {
                    active.insert(name.clone(), (global[name.as_str()], connection.group));
                }
                streams.push(connection.streams.len());
                groups.push(Vec::new());
            }
            if let Some(group) = groups.get_mut(connection.group) {
                group.push(connection.index);
            }
        }
        SymbolManager {
            follow_new: settings.symbols == SymbolSelection::All,
            partition: settings.partition,
            market: settings.market,
            quote_asset: settings.quote_asset.clone(),
            rest_url: settings.rest_url.clone(),
            refresh_every: settings.exchange_info_refresh,
            max_symbols: settings.max_symbols,
            streams_per_connection: settings.streams_per_connection,
            active,
            retired: HashMap::new(),
            streams,
            groups,
            next_index: global.len() as u32,
            pending: HashSet::new(),
            last_fetch: None,
            next_refresh: settings
                .exchange_info_refresh
                .map(|every| Instant::now() + every),
            names,
            warm_requests: None,
            refused: RefusedSymbols::new(),
        }
    }

    /// Goes on from the names refused at start (so they are neither logged nor counted twice).
    pub fn with_refused(mut self, refused: RefusedSymbols) -> SymbolManager {
        self.refused = refused;
        self
    }

    /// Selected symbols left out because klagg cannot follow their names.
    pub fn refused(&self) -> usize {
        self.refused.count()
    }

    /// Has every symbol added from now on warmed (its open klines rebuilt from REST) by the
    /// backfill behind `requests` ([`crate::backfill::BackfillHandle::warm_requests`]).
    pub fn warm_new_symbols(&mut self, requests: Sender<u32>) {
        self.warm_requests = Some(requests);
    }

    /// Symbols followed right now.
    pub fn active(&self) -> usize {
        self.active.len()
    }

    /// Handles what the io threads reported and runs a due refresh.
    pub fn handle(&mut self, engine: &Engine, now: Instant) {
        while let Ok(IoEvent::SymbolSeen(name)) = engine.events().try_recv() {
            if self.follow_new
                && !self.active.contains_key(&name)
                && name.ends_with(&self.quote_asset)
                && self.partition.contains(&name)
            {
                self.pending.insert(name);
            }
        }
        let refresh_due = self.next_refresh.is_some_and(|at| now >= at);
        let new_names_waiting = !self.pending.is_empty()
            && self
                .last_fetch
                .is_none_or(|at| now.duration_since(at) >= MIN_FETCH_GAP);
        if !(refresh_due || new_names_waiting) {
            return;
        }
        self.last_fetch = Some(now);
        if let Some(every) = self.refresh_every {
            self.next_refresh = Some(now + every);
        }
        match exchange_info::fetch(&self.rest_url, self.market, FETCH_TIMEOUT) {
            Ok(listed) => self.apply_listing(engine, &listed, refresh_due),
            Err(e) => log::warn!("symbol refresh failed, will retry: {e}"),
        }
    }

    /// Adds pending (or, on a refresh, any) selected symbols of our partition we lack; on a
    /// refresh also drops followed symbols that are no longer selected.
    pub fn apply_listing(&mut self, engine: &Engine, listed: &[ListedSymbol], full_refresh: bool) {
        let selected: HashSet<&str> = listed
            .iter()
            .filter(|s| s.is_selected(self.market, &self.quote_asset))
            .filter(|s| self.partition.contains(&s.symbol))
            .map(|s| s.symbol.as_str())
            .collect();
        let candidates: Vec<String> = if full_refresh && self.follow_new {
            selected
                .iter()
                .filter(|s| !self.active.contains_key(**s))
                .map(|s| (*s).to_owned())
                .collect()
        } else {
            self.pending
                .iter()
                .filter(|s| selected.contains(s.as_str()))
                .cloned()
                .collect()
        };
        self.pending.clear();
        for name in self.refused.keep_followable(candidates, "exchangeInfo") {
            self.add(engine, name);
        }
        if full_refresh {
            let stopped: Vec<String> = self
                .active
                .keys()
                .filter(|s| !selected.contains(s.as_str()))
                .cloned()
                .collect();
            for name in stopped {
                self.remove(engine, &name);
            }
        }
    }

    fn add(&mut self, engine: &Engine, name: String) {
        let index = match self.retired.remove(&name) {
            Some(index) => index,
            None if self.next_index < self.max_symbols => {
                self.next_index += 1;
                self.next_index - 1
            }
            None => {
                log::error!(
                    "new symbol {name} not followed: all {} symbol slots are used; raise exchange.max_symbols",
                    self.max_symbols
                );
                return;
            }
        };
        let Some(group) = self
            .streams
            .iter()
            .position(|&n| n < self.streams_per_connection)
        else {
            log::error!(
                "new symbol {name} not followed: every connection carries {} streams; raise exchange.streams_per_connection or restart to open more connections",
                self.streams_per_connection
            );
            self.retired.insert(name, index);
            return;
        };
        if let Ok(mut names) = self.names.write() {
            if names.len() <= index as usize {
                names.resize(index as usize + 1, String::new());
            }
            names[index as usize].clone_from(&name);
        }
        let mut added = 0;
        for &connection in &self.groups[group] {
            added += usize::from(engine.add_symbol(connection, &name, index));
        }
        if added > 0 {
            log::info!(
                "following new symbol {name} (index {index}) on connection group {group} \
                 ({added} connection(s))"
            );
            self.streams[group] += 1;
            if let Some(requests) = &self.warm_requests
                && requests.send(index).is_err()
            {
                log::warn!("no warm start for {name}: the backfill has stopped");
            }
            self.active.insert(name, (index, group));
        }
    }

    fn remove(&mut self, engine: &Engine, name: &str) {
        let Some((index, group)) = self.active.remove(name) else {
            return;
        };
        let mut removed = 0;
        for &connection in &self.groups[group] {
            removed += usize::from(engine.remove_symbol(connection, name));
        }
        if removed > 0 {
            log::info!("symbol {name} stopped trading: unsubscribed");
            self.streams[group] -= 1;
        }
        self.retired.insert(name.to_owned(), index);
    }
}
