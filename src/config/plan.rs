//! The resolved plan: which symbols ride which connection, which shard owns each symbol, and
//! which core every thread runs on.
//!
//! Symbols fill connections in list order, `streams_per_connection` streams each; with
//! `symbols = "all"`, connection 0 also carries `!miniTicker@arr` (to spot new symbols), which
//! counts against its limit. A symbol's global index is its position in the list (symbols found
//! at run time take the next free index), and [`shard_of`](crate::aggregator::routing::shard_of) maps it to a shard and a local slot.

use std::collections::HashSet;

use crate::aggregator::routing::shard_of;

use super::error::{ConfigError, invalid, quoted};
use super::plan_notes::core_sharing_notes;
use super::settings::{Settings, SymbolSelection};

/// The stream that reports every symbol's 24 h ticker once a second: new symbols show up here.
pub const MINI_TICKER_STREAM: &str = "!miniTicker@arr";

/// The aggTrade stream name of `symbol` (`btcusdt@aggTrade`, `币安人生usdt@aggTrade`: only
/// ASCII letters are lower-cased, as Binance does).
#[must_use]
pub fn trade_stream(symbol: &str) -> String {
    format!("{}@aggTrade", crate::symbol_name::stream_case(symbol))
}

/// One WebSocket connection and the io thread that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionPlan {
    /// Connection number, from 0.
    pub index: usize,
    /// Core of its io thread; `None` = unpinned.
    pub core: Option<usize>,
    /// Stream names to subscribe, in order (the miniTicker stream first, when present).
    pub streams: Vec<String>,
    /// Symbols whose trades arrive here, in order.
    pub symbols: Vec<String>,
    /// Where it connects.
    pub url: String,
    /// The connection this one carries the same symbols as: its own index for the first of
    /// each group, the first's for the extra ones of `exchange.redundancy`.
    pub group: usize,
}

/// One aggregator shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlan {
    /// Shard number, from 0.
    pub index: usize,
    /// Core of its thread; `None` = unpinned.
    pub core: Option<usize>,
    /// Symbols its state is preallocated for: `ceil(max_symbols / n_shards)`.
    pub max_symbols: u32,
    /// Its symbols known at start: (global index, symbol); the local index is `global / n`.
    pub symbols: Vec<(u32, String)>,
}

/// Every thread, connection and shard of a run, derived from [`Settings`] and the symbol list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The settings the plan was built from.
    pub settings: Settings,
    /// Whether the symbol list is known: false for `symbols = "all"` before exchangeInfo, in
    /// which case `connections` is empty and shards list no symbols.
    pub symbols_resolved: bool,
    /// How many symbols were selected before `exchange.partition` kept its share (the planned
    /// ones); 0 while the list is not resolved.
    pub selected: usize,
    /// Connections in order, one io thread each.
    pub connections: Vec<ConnectionPlan>,
    /// Aggregator shards in order.
    pub shards: Vec<ShardPlan>,
    /// Cores for consumer threads; empty = unpinned.
    pub consumer_cores: Vec<usize>,
    /// Warnings and remarks for the operator.
    pub notes: Vec<String>,
}

impl Plan {
    /// Plans a run. `symbols` is the resolved list for `symbols = "all"` (from exchangeInfo);
    /// `None` means the settings' own list, or for `"all"` a plan without connections that
    /// says the list is resolved at start. Only the symbols in the settings' partition are
    /// planned, in list order.
    ///
    /// # Errors
    ///
    /// When the list holds more symbols than `exchange.max_symbols`, or a symbol twice.
    pub fn new(settings: &Settings, symbols: Option<&[String]>) -> Result<Plan, ConfigError> {
        let with_mini_ticker = settings.symbols == SymbolSelection::All;
        let symbols = match (symbols, &settings.symbols) {
            (Some(list), _) => Some(list),
            (None, SymbolSelection::List(list)) => Some(list.as_slice()),
            (None, SymbolSelection::All) => None,
        };
        let selected = symbols.map_or(0, <[String]>::len);
        let partitioned = symbols.map(|list| settings.partition.select(list));
        let symbols = partitioned.as_deref();
        if let Some(list) = symbols {
            check_symbol_list(settings, list)?;
        }
        let connections = symbols.map_or_else(Vec::new, |list| {
            plan_connections(settings, list, with_mini_ticker)
        });
        let shards = plan_shards(settings, symbols.unwrap_or_default());
        let mut notes = settings.notes.clone();
        let io_threads = if symbols.is_some() {
            connections.len()
        } else {
            max_connections(settings)
        };
        notes.extend(core_sharing_notes(settings, io_threads));
        Ok(Plan {
            settings: settings.clone(),
            symbols_resolved: symbols.is_some(),
            selected,
            connections,
            shards,
            consumer_cores: settings.consumer_cores.clone(),
            notes,
        })
    }
}

impl Plan {
    /// Every planned symbol with its global index.
    pub fn symbol_indices(&self) -> impl Iterator<Item = (&str, u32)> {
        self.shards.iter().flat_map(|shard| {
            shard
                .symbols
                .iter()
                .map(|(index, name)| (name.as_str(), *index))
        })
    }
}

/// Connections needed when `max_symbols` symbols are followed (the bound for `"all"`).
#[must_use]
pub fn max_connections(settings: &Settings) -> usize {
    let mini = usize::from(settings.symbols == SymbolSelection::All);
    (settings.max_symbols as usize + mini).div_ceil(settings.streams_per_connection)
        * settings.redundancy
}

/// A resolved list must fit the preallocated state and name each symbol once.
fn check_symbol_list(settings: &Settings, list: &[String]) -> Result<(), ConfigError> {
    if list.len() > settings.max_symbols as usize {
        return Err(invalid(
            "exchange.max_symbols",
            settings.max_symbols,
            format!(
                "the exchange lists {} {} symbols{}; raise max_symbols to at least that",
                list.len(),
                settings.quote_asset,
                if settings.partition.is_whole() {
                    String::new()
                } else {
                    format!(" in partition {}", settings.partition)
                }
            ),
        ));
    }
    let mut seen = HashSet::with_capacity(list.len());
    for symbol in list {
        if !seen.insert(symbol.as_str()) {
            return Err(invalid(
                "exchange.symbols",
                quoted(symbol),
                "listed twice; each symbol may appear once",
            ));
        }
    }
    Ok(())
}

/// The groups of connections that share out the symbols, then, with `exchange.redundancy`,
/// the same groups again (without the ticker stream, which one connection is enough for),
/// each connection on an io thread of its own.
fn plan_connections(settings: &Settings, list: &[String], mini: bool) -> Vec<ConnectionPlan> {
    let mut connections = plan_groups(settings, list, mini);
    let groups = connections.len();
    for copy in 1..settings.redundancy {
        for group in 0..groups {
            let first = &connections[group];
            let index = copy * groups + group;
            let redundant = ConnectionPlan {
                index,
                core: settings.io_core_for(index),
                streams: first
                    .streams
                    .iter()
                    .filter(|s| s.as_str() != MINI_TICKER_STREAM)
                    .cloned()
                    .collect(),
                symbols: first.symbols.clone(),
                url: settings.redundant_ws_url.clone(),
                group,
            };
            connections.push(redundant);
        }
    }
    connections
}

fn plan_groups(settings: &Settings, list: &[String], mini: bool) -> Vec<ConnectionPlan> {
    let per_connection = settings.streams_per_connection;
    let new_connection = |index: usize| ConnectionPlan {
        index,
        core: settings.io_core_for(index),
        streams: Vec::with_capacity(per_connection),
        symbols: Vec::new(),
        url: settings.ws_url.clone(),
        group: index,
    };
    let mut connections = Vec::new();
    let mut current = new_connection(0);
    if mini {
        current.streams.push(MINI_TICKER_STREAM.to_owned());
    }
    for symbol in list {
        if current.streams.len() == per_connection {
            let next = new_connection(current.index + 1);
            connections.push(std::mem::replace(&mut current, next));
        }
        current.streams.push(trade_stream(symbol));
        current.symbols.push(symbol.clone());
    }
    if !current.streams.is_empty() {
        connections.push(current);
    }
    connections
}

fn plan_shards(settings: &Settings, list: &[String]) -> Vec<ShardPlan> {
    let n_shards = settings.n_shards();
    let mut shards: Vec<ShardPlan> = settings
        .shard_cores
        .iter()
        .enumerate()
        .map(|(index, &core)| ShardPlan {
            index,
            core,
            max_symbols: settings.shard_max_symbols(),
            symbols: Vec::new(),
        })
        .collect();
    // The list is at most max_symbols (<= 1,000,000) long, so indices fit u32.
    for (global, symbol) in (0u32..).zip(list) {
        let (shard, _) = shard_of(global, n_shards);
        shards[shard].symbols.push((global, symbol.clone()));
    }
    shards
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn symbols(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("S{i}USDT")).collect()
    }

    fn settings(text: &str) -> Settings {
        crate::config::parse(text, "t.toml")
            .unwrap()
            .resolve(&(0..16).collect::<Vec<_>>())
            .unwrap()
    }

    fn listed(n: usize, threads: &str) -> Settings {
        let list: Vec<String> = symbols(n).iter().map(|s| format!("{s:?}")).collect();
        settings(&format!(
            "[exchange]\nsymbols = [{}]\n[threads]\n{threads}\n",
            list.join(", ")
        ))
    }

    #[test]
    fn listed_symbols_fill_connections_in_order() {
        let settings = listed(450, "io_cores = [2, 3]\naggregator_cores = [4, 5]");
        let plan = Plan::new(&settings, None).unwrap();
        assert!(plan.symbols_resolved);
        let sizes: Vec<usize> = plan.connections.iter().map(|c| c.streams.len()).collect();
        assert_eq!(sizes, [200, 200, 50]);
        let cores: Vec<Option<usize>> = plan.connections.iter().map(|c| c.core).collect();
        assert_eq!(cores, [Some(2), Some(3), Some(2)]);
        assert_eq!(plan.connections[0].streams[0], "s0usdt@aggTrade");
        assert_eq!(plan.connections[1].symbols[0], "S200USDT");
        assert!(
            plan.connections
                .iter()
                .all(|c| !c.streams.contains(&MINI_TICKER_STREAM.to_owned()))
        );
    }

    #[test]
    fn non_ascii_symbols_get_binance_s_stream_names() {
        let settings = settings("[exchange]\nsymbols = [\"币安人生usdt\", \"btcusdt\"]\n");
        let plan = Plan::new(&settings, None).unwrap();
        assert_eq!(plan.connections[0].symbols, ["币安人生USDT", "BTCUSDT"]);
        assert_eq!(
            plan.connections[0].streams,
            ["币安人生usdt@aggTrade", "btcusdt@aggTrade"]
        );
        assert_eq!(
            trade_stream("ÄUSDT"),
            "Äusdt@aggTrade",
            "ASCII letters only"
        );
    }

    #[test]
    fn redundancy_repeats_every_group_on_io_threads_of_its_own() {
        let list: Vec<String> = symbols(300).iter().map(|s| format!("{s:?}")).collect();
        let listed = settings(&format!(
            "[exchange]\nsymbols = [{}]\nredundancy = 2\n\
             redundant_ws_url = \"wss://fstream-mm.binance.com/market/stream\"\n\
             [threads]\nio_cores = [2, 3, 4, 5]\n",
            list.join(", ")
        ));
        let plan = Plan::new(&listed, None).unwrap();
        let shape: Vec<(usize, usize, Option<usize>, &str)> = plan
            .connections
            .iter()
            .map(|c| (c.index, c.group, c.core, c.url.as_str()))
            .collect();
        let main = "wss://fstream.binance.com/market/stream";
        let backup = "wss://fstream-mm.binance.com/market/stream";
        assert_eq!(
            shape,
            [
                (0, 0, Some(2), main),
                (1, 1, Some(3), main),
                (2, 0, Some(4), backup),
                (3, 1, Some(5), backup)
            ]
        );
        assert_eq!(plan.connections[2].symbols, plan.connections[0].symbols);
        assert_eq!(plan.connections[3].streams, plan.connections[1].streams);
        // One ticker stream is enough to spot new symbols.
        let all = settings("[exchange]\nredundancy = 2\n");
        let plan = Plan::new(&all, Some(&symbols(10))).unwrap();
        assert_eq!(plan.connections.len(), 2);
        assert_eq!(plan.connections[0].streams[0], MINI_TICKER_STREAM);
        assert_eq!(plan.connections[1].streams.len(), 10);
        assert_eq!(max_connections(&all), 12);
        let mut too_many = Config::default();
        too_many.exchange.redundancy = 5;
        assert!(
            too_many
                .resolve(&[0])
                .unwrap_err()
                .to_string()
                .starts_with("exchange.redundancy = 5: must be 1..=4")
        );
    }

    #[test]
    fn two_shards_take_even_and_odd_indices() {
        let settings = listed(5, "aggregator_cores = [4, 5]");
        let plan = Plan::new(&settings, None).unwrap();
        assert_eq!(plan.shards.len(), 2);
        assert_eq!(plan.shards[0].core, Some(4));
        assert_eq!(plan.shards[1].core, Some(5));
        assert_eq!(plan.shards[0].max_symbols, 512);
        let globals = |s: &ShardPlan| s.symbols.iter().map(|(g, _)| *g).collect::<Vec<_>>();
        assert_eq!(globals(&plan.shards[0]), [0, 2, 4]);
        assert_eq!(globals(&plan.shards[1]), [1, 3]);
        assert_eq!(plan.shards[1].symbols[0].1, "S1USDT");
    }

    #[test]
    fn mini_ticker_rides_connection_0_and_counts_against_its_limit() {
        let settings = settings("");
        let list = symbols(450);
        let plan = Plan::new(&settings, Some(&list)).unwrap();
        let sizes: Vec<(usize, usize)> = plan
            .connections
            .iter()
            .map(|c| (c.streams.len(), c.symbols.len()))
            .collect();
        assert_eq!(sizes, [(200, 199), (200, 200), (51, 51)]);
        assert_eq!(plan.connections[0].streams[0], MINI_TICKER_STREAM);
        assert_eq!(plan.connections[0].streams[1], "s0usdt@aggTrade");
        // An exchange with no matching symbol still gets the connection that spots new ones.
        let plan = Plan::new(&settings, Some(&[])).unwrap();
        assert_eq!(plan.connections.len(), 1);
        assert_eq!(plan.connections[0].streams, [MINI_TICKER_STREAM]);
    }

    #[test]
    fn unresolved_all_has_no_connections_yet() {
        let settings = Config::default().resolve(&[0, 1]).unwrap();
        let plan = Plan::new(&settings, None).unwrap();
        assert!(!plan.symbols_resolved);
        assert!(plan.connections.is_empty());
        assert_eq!(plan.shards.len(), 1);
        assert_eq!(plan.shards[0].max_symbols, 1024);
        assert_eq!(max_connections(&settings), 6); // (1024 + miniTicker) / 200, rounded up
    }

    #[test]
    fn too_many_or_repeated_resolved_symbols_are_errors() {
        let settings = settings("[exchange]\nmax_symbols = 3\n");
        let error = Plan::new(&settings, Some(&symbols(4))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "exchange.max_symbols = 3: the exchange lists 4 USDT symbols; raise max_symbols to \
             at least that"
        );
        let twice = ["AUSDT".to_owned(), "AUSDT".to_owned()];
        let error = Plan::new(&settings, Some(&twice)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "exchange.symbols = \"AUSDT\": listed twice; each symbol may appear once"
        );
    }

    #[test]
    fn spin_on_a_shared_core_is_a_warning() {
        let settings = listed(3, "idle = \"spin\"\nio_cores = [0]\naggregator_cores = [0]");
        let plan = Plan::new(&settings, None).unwrap();
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
        assert!(
            plan.notes[0].starts_with(
                "warning: idle = \"spin\" and core 0 runs the io thread of connection 0, \
                 aggregator shard 0 and consumer threads: a spinning thread starves"
            ),
            "{}",
            plan.notes[0]
        );
        let alone = listed(
            3,
            "idle = \"spin\"\nio_cores = [2]\naggregator_cores = [3]\nconsumer_cores = [4]",
        );
        assert!(Plan::new(&alone, None).unwrap().notes.is_empty());
        // Parking threads may share cores freely.
        let parked = listed(3, "io_cores = [0]\naggregator_cores = [0]");
        assert!(Plan::new(&parked, None).unwrap().notes.is_empty());
    }
}
