//! The engine's TOML config (`klagg run --config FILE`): schema, validation and the resolved
//! pinning plan.
//!
//! Three steps, each its own type, so a caller can stop at any of them:
//!
//! 1. [`load`] / [`parse`] read the text into [`Config`], the file as written (every key
//!    optional; unknown keys rejected, so a typo cannot silently fall back to a default).
//! 2. [`Config::resolve`] checks every value against its range and the machine's cores and
//!    gives [`Settings`]: typed values with defaults applied.
//! 3. [`Plan::new`] places symbols on connections and shards and threads on cores; its
//!    `Display` is what `klagg check-config` prints.
//!
//! Every error names the file, the key as a dotted path, the bad value and what is valid.

mod backfill;
mod connection;
mod cores;
mod cpu_affinity;
mod cpu_list;
mod error;
mod exchange;
mod gateway;
mod intervals;
mod latency;
mod nats;
mod partition;
mod plan;
mod plan_display;
mod plan_notes;
mod range;
mod resolve;
mod schema;
mod settings;
mod symbols;
mod syntax;
mod threads;

use std::path::Path;

pub use cores::{CORE_ID_LIMIT, available_cores, format_cores, isolated_cores};
pub use cpu_affinity::CpuAffinity;
pub use cpu_list::parse_cpu_list;
pub use error::ConfigError;
pub use nats::{NatsConfig, NatsSettings};
pub use partition::{MAX_PARTITIONS, Partition, fnv1a_64, partition_of};
pub use plan::{
    ConnectionPlan, MINI_TICKER_STREAM, Plan, ShardPlan, max_connections, trade_stream,
};
pub use resolve::MAX_SYMBOLS;
pub use schema::{
    BackfillConfig, Config, ConnectionConfig, ExchangeConfig, GatewayConfig, KlinesConfig,
    StringOrList, ThreadsConfig,
};
pub use settings::{ConnectionSettings, GatewaySettings, Market, Settings, SymbolSelection};
pub use threads::MAX_SHARDS;

/// Reads and parses the config file at `path` (not yet validated: see [`Config::resolve`]).
///
/// # Errors
///
/// [`ConfigError::Read`] if the file cannot be read, [`ConfigError::Syntax`] (naming the file,
/// line and key) if it is not valid TOML or does not match the schema.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: origin.clone(),
        error,
    })?;
    parse(&text, &origin)
}

/// Parses config text; `origin` (usually the file name) prefixes every later error message.
///
/// # Errors
///
/// [`ConfigError::Syntax`] with toml's message, which names the line, column and key, and the
/// table it is in.
pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let mut config: Config = toml::from_str(text).map_err(|error| ConfigError::Syntax {
        origin: origin.to_owned(),
        message: syntax::describe(text, &error),
    })?;
    config.origin = Some(origin.to_owned());
    Ok(config)
}

/// What `klagg check-config --config FILE` prints: loads the file, validates it against this
/// machine's cores and describes the plan (with `symbols = "all"` left to be resolved at start,
/// so no network is needed), and ends with the `CPUAffinity=` line of its systemd unit.
///
/// # Errors
///
/// The first problem found, as a [`ConfigError`] naming the file and key.
pub fn check_config(path: &Path) -> Result<String, ConfigError> {
    let available = available_cores();
    let settings = load(path)?.resolve(&available)?;
    let plan = Plan::new(&settings, None)
        .map_err(|error| error.in_file(Some(&path.display().to_string())))?;
    let isolated = isolated_cores();
    let default_mask: Vec<usize> = available
        .into_iter()
        .filter(|core| !isolated.contains(core))
        .collect();
    let affinity = CpuAffinity::new(&settings, &default_mask);
    Ok(format!(
        "{plan}\nsystemd (deploy/klagg.service)\n  {affinity}\n"
    ))
}
