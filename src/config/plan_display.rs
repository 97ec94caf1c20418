//! The plan as `klagg check-config` prints it: threads and their cores first (what an operator
//! checks against `isolcpus`), then connections and shards with their symbols, then warnings.

use std::fmt::{self, Display, Formatter};

use super::plan::{MINI_TICKER_STREAM, Plan, max_connections};
use super::settings::{Market, SymbolSelection};
use crate::backfill::TailPlan;
use crate::pipeline::plan_threads;

/// Items shown before a long list is cut to "... and N more".
const SHOWN_ITEMS: usize = 10;
/// Rows (threads, connections, shards) shown before the rest are summed up.
const SHOWN_ROWS: usize = 32;

impl Display for Plan {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_summary(f, self)?;
        writeln!(f)?;
        self.write_threads(f)?;
        writeln!(f)?;
        self.write_connections(f)?;
        writeln!(f)?;
        self.write_shards(f)?;
        if !self.notes.is_empty() {
            writeln!(f)?;
            writeln!(f, "notes")?;
            for note in &self.notes {
                writeln!(f, "  - {note}")?;
            }
        }
        Ok(())
    }
}

fn write_summary(f: &mut Formatter<'_>, plan: &Plan) -> fmt::Result {
    let settings = &plan.settings;
    let intervals: Vec<String> = settings.intervals.iter().map(ToString::to_string).collect();
    writeln!(f, "market     {}", settings.market)?;
    writeln!(f, "ws         {}", settings.ws_url)?;
    write!(f, "rest       {}", settings.rest_url)?;
    match settings.exchange_info_refresh {
        Some(period) => writeln!(f, " (exchangeInfo every {} s)", period.as_secs())?,
        None => writeln!(f, " (exchangeInfo at start only)")?,
    }
    match &settings.symbols {
        SymbolSelection::All => writeln!(
            f,
            "symbols    all TRADING {} {}; state for up to {}",
            settings.quote_asset,
            match settings.market {
                Market::Usdm => "perpetual contracts",
                Market::Spot => "spot symbols",
            },
            settings.max_symbols
        )?,
        SymbolSelection::List(list) => writeln!(
            f,
            "symbols    {} listed; state for up to {}",
            list.len(),
            settings.max_symbols
        )?,
    }
    write_partition(f, plan)?;
    writeln!(
        f,
        "intervals  {} ({})",
        intervals.len(),
        intervals.join(" ")
    )?;
    writeln!(
        f,
        "klines     close {} ms after the period; up to {} closed klines held per consumer",
        settings.close_grace_ms, settings.max_backlog
    )?;
    match &settings.database {
        Some(path) => writeln!(
            f,
            "database   {} (every closed kline, SQLite WAL)",
            path.display()
        )?,
        None => writeln!(f, "database   none: closed klines are not kept on disk")?,
    }
    match &settings.gateway {
        Some(g) => {
            let api = crate::gateway::rest_api::RestApi::of(settings.market);
            writeln!(
                f,
                "gateway    ws://{0}{1} and http://{0}{2}, push every {3} ms",
                g.bind,
                api.streams,
                api.klines,
                g.push_interval.as_millis()
            )?;
        }
        None => writeln!(f, "gateway    none: klines are not served")?,
    }
    match settings.latency_sampling {
        Some(s) => writeln!(
            f,
            "latency    one trade in {} stamped (/metrics)",
            s.every()
        )?,
        None => writeln!(f, "latency    not measured")?,
    }
    match settings.backfill_weight_per_minute {
        Some(weight) => {
            writeln!(
                f,
                "backfill   gaps filled from {}, up to {weight} request weight a minute",
                settings.rest_url
            )?;
            match TailPlan::new(settings.market, &settings.intervals) {
                Ok(_) => writeln!(
                    f,
                    "tails      checked after reconnects{}",
                    settings
                        .tail_check_every
                        .map(|every| format!(" and every {} s", every.as_secs()))
                        .unwrap_or_default()
                )?,
                Err(why) => writeln!(f, "tails      not checked: {why}")?,
            }
        }
        None => writeln!(f, "backfill   off: gaps are counted, not filled")?,
    }
    writeln!(f, "idle       {}", settings.idle)?;
    writeln!(
        f,
        "rings      {} payloads per (io thread, shard) ring",
        settings.ring_capacity
    )
}

/// The partition line: which share of the selected symbols this klagg follows, and how many
/// that is once the list is known.
fn write_partition(f: &mut Formatter<'_>, plan: &Plan) -> fmt::Result {
    let partition = plan.settings.partition;
    if partition.is_whole() {
        return Ok(());
    }
    write!(
        f,
        "partition  {partition}: the symbols whose FNV-1a 64 hash h of the name gives \
         (h * {}) >> 64 = {}; ",
        partition.count(),
        partition.index()
    )?;
    if plan.symbols_resolved {
        let followed: usize = plan.shards.iter().map(|shard| shard.symbols.len()).sum();
        writeln!(f, "{followed} of the {} selected", plan.selected)
    } else {
        writeln!(
            f,
            "about 1 in {} of those exchangeInfo lists at start, and of new listings",
            partition.count()
        )
    }
}

impl Plan {
    /// One line per thread: its core and the stages it runs (stages given the same core share
    /// one thread and are stepped in turn), then the threads that are always apart.
    fn write_threads(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "threads (one per core: stages given the same core run in one thread; idle {})",
            self.settings.idle
        )?;
        let mut stages: Vec<(Option<usize>, String, bool)> = Vec::new();
        if self.symbols_resolved {
            for connection in &self.connections {
                let what = format!("io connection {}", connection.index);
                stages.push((connection.core, what, true));
            }
        } else {
            for i in 0..max_connections(&self.settings) {
                let what = format!("io connection {i} (if planned)");
                stages.push((self.settings.io_core_for(i), what, true));
            }
        }
        for shard in &self.shards {
            stages.push((shard.core, format!("shard {}", shard.index), false));
        }
        if self.settings.gateway.is_some() {
            let core = self.consumer_cores.first().copied();
            stages.push((core, "gateway".to_owned(), false));
        }
        let threads = plan_threads(&stages, self.settings.idle);
        for thread in threads.iter().take(SHOWN_ROWS) {
            writeln!(f, "  {thread}")?;
        }
        more_rows(f, threads.len(), "threads")?;
        if self.settings.database.is_some() {
            writeln!(
                f,
                "  unpinned: sink (SQLite writes may block: a thread of its own)"
            )?;
        }
        if self.settings.backfill_weight_per_minute.is_some() {
            writeln!(
                f,
                "  unpinned: backfill (REST calls block: a thread of its own)"
            )?;
        }
        writeln!(f, "  main thread: status line and symbol manager")
    }

    fn write_connections(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let per_connection = self.settings.streams_per_connection;
        writeln!(f, "connections (at most {per_connection} streams each)")?;
        let redundancy = self.settings.redundancy;
        if redundancy > 1 {
            writeln!(
                f,
                "  each stream on {redundancy} connections (exchange.redundancy), the extra ones \
                 to {}",
                self.settings.redundant_ws_url
            )?;
        }
        if !self.symbols_resolved {
            return writeln!(
                f,
                "  planned at start from exchangeInfo: connection 0 carries {MINI_TICKER_STREAM} \
                 and {} symbols, each further connection {per_connection}",
                per_connection - 1
            );
        }
        for connection in self.connections.iter().take(SHOWN_ROWS) {
            let mini = if connection.streams.first().map(String::as_str) == Some(MINI_TICKER_STREAM)
            {
                format!("{MINI_TICKER_STREAM} + ")
            } else {
                String::new()
            };
            if connection.group != connection.index {
                writeln!(
                    f,
                    "  connection {} on {}: the symbols of connection {} again",
                    connection.index,
                    core(connection.core),
                    connection.group
                )?;
                continue;
            }
            writeln!(
                f,
                "  connection {} on {}: {} streams: {mini}{} symbols: {}",
                connection.index,
                core(connection.core),
                connection.streams.len(),
                connection.symbols.len(),
                abbreviated(&connection.symbols)
            )?;
        }
        more_rows(f, self.connections.len(), "connections")
    }

    fn write_shards(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let n = self.shards.len();
        writeln!(
            f,
            "shards (symbol #i on shard i % {n}, slot i / {n}; state for {} symbols each)",
            self.shards.first().map_or(0, |shard| shard.max_symbols)
        )?;
        for shard in self.shards.iter().take(SHOWN_ROWS) {
            write!(f, "  shard {} on {}: ", shard.index, core(shard.core))?;
            if self.symbols_resolved {
                let symbols: Vec<String> = shard
                    .symbols
                    .iter()
                    .map(|(global, symbol)| format!("#{global} {symbol}"))
                    .collect();
                writeln!(f, "{} symbols: {}", symbols.len(), abbreviated(&symbols))?;
            } else {
                writeln!(f, "symbols assigned at start")?;
            }
        }
        more_rows(f, self.shards.len(), "shards")
    }
}

/// "... and N more {what}" after the first [`SHOWN_ROWS`] of `total` rows.
fn more_rows(f: &mut Formatter<'_>, total: usize, what: &str) -> fmt::Result {
    if total > SHOWN_ROWS {
        writeln!(f, "  ... and {} more {what}", total - SHOWN_ROWS)?;
    }
    Ok(())
}

fn core(core: Option<usize>) -> String {
    core.map_or_else(|| "unpinned".to_owned(), |id| format!("core {id}"))
}

/// The first [`SHOWN_ITEMS`] items, then `... and N more`.
fn abbreviated<T: Display>(items: &[T]) -> String {
    let shown: Vec<String> = items
        .iter()
        .take(SHOWN_ITEMS)
        .map(ToString::to_string)
        .collect();
    let mut text = shown.join(", ");
    if items.len() > SHOWN_ITEMS {
        text.push_str(&format!(" ... and {} more", items.len() - SHOWN_ITEMS));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut() {
        let items: Vec<u32> = (0..25).collect();
        assert_eq!(
            abbreviated(&items),
            "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 ... and 15 more"
        );
        assert_eq!(abbreviated(&items[..3]), "0, 1, 2");
        assert_eq!(abbreviated::<u32>(&[]), "");
    }
}
