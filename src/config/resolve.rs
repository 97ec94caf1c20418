//! From the file as written to [`Settings`]: every key checked, defaults applied, cross-key
//! rules enforced. The first problem found is returned, naming its key.

use std::time::Duration;

use super::backfill::{BINANCE_WEIGHT_PER_MINUTE, backfill, tail_check_every};
use super::connection::connection;
use super::error::{ConfigError, invalid};
use super::exchange::{market, redundant_ws_url, rest_url, ws_url};
use super::gateway::gateway;
use super::intervals::intervals;
use super::latency::latency;
use super::partition::partition;
use super::range::in_range;
use super::schema::Config;
use super::settings::{Settings, SymbolSelection};
use super::symbols::{quote_asset, symbols};
use super::threads::threads;

/// Most symbols state can be preallocated for.
pub const MAX_SYMBOLS: u32 = 1_000_000;

impl Config {
    /// Validates the config into [`Settings`].
    ///
    /// `available_cores` are the core ids this machine offers, from
    /// [`available_cores`](super::available_cores) taken on the main thread before any
    /// pinning; every configured core id must be one of them (and below 1024).
    ///
    /// # Errors
    ///
    /// A [`ConfigError::Invalid`] naming the file (when known), the key, the value and what is
    /// valid.
    pub fn resolve(&self, available_cores: &[usize]) -> Result<Settings, ConfigError> {
        self.resolve_unnamed(available_cores)
            .map_err(|error| error.in_file(self.origin.as_deref()))
    }

    fn resolve_unnamed(&self, available_cores: &[usize]) -> Result<Settings, ConfigError> {
        let exchange = &self.exchange;
        let market = market(&exchange.market)?;
        let ws_url = ws_url(exchange.ws_url.as_deref(), market)?;
        let rest_url = rest_url(exchange.rest_url.as_deref(), market)?;
        let symbols = symbols(&exchange.symbols)?;
        let partition = partition(exchange.partition.as_deref())?;
        let quote_asset = quote_asset(&exchange.quote_asset)?;
        let max_symbols: u32 = in_range(
            "exchange.max_symbols",
            exchange.max_symbols,
            1..=i64::from(MAX_SYMBOLS),
            "symbols state is preallocated for",
        )?;
        if let SymbolSelection::List(list) = &symbols {
            let followed = list.iter().filter(|s| partition.contains(s)).count();
            if followed == 0 {
                return Err(invalid(
                    "exchange.partition",
                    format!("\"{partition}\""),
                    format!(
                        "none of the {} symbols listed in exchange.symbols falls in this \
                         partition; list more symbols, use fewer partitions or symbols = \"all\"",
                        list.len()
                    ),
                ));
            }
            if followed > max_symbols as usize {
                let which = if partition.is_whole() {
                    String::new()
                } else {
                    format!(" that fall in partition {partition}")
                };
                return Err(invalid(
                    "exchange.max_symbols",
                    max_symbols,
                    format!(
                        "must be at least the {followed} symbols listed in exchange.symbols{which}"
                    ),
                ));
            }
        }
        let streams_per_connection = in_range(
            "exchange.streams_per_connection",
            exchange.streams_per_connection,
            1..=1_024,
            "Binance's limit per connection",
        )?;
        let exchange_info_refresh = refresh_period(exchange.exchange_info_refresh_s)?;
        let redundancy = in_range(
            "exchange.redundancy",
            exchange.redundancy,
            1..=4,
            "connections carrying each stream, 1 (no redundancy) to 4",
        )?;
        let redundant_ws_url =
            redundant_ws_url(exchange.redundant_ws_url.as_deref(), &ws_url, market)?;
        let klines = &self.klines;
        let intervals = intervals(&klines.intervals)?;
        let close_grace_ms = in_range(
            "klines.close_grace_ms",
            klines.close_grace_ms,
            0..=300_000,
            "milliseconds after a period ends before its kline closes",
        )?;
        let max_backlog = in_range(
            "klines.max_backlog",
            klines.max_backlog,
            1..=100_000_000,
            "closed klines held per consumer",
        )?;
        let threads = threads(&self.threads, available_cores)?;
        let connection = connection(&self.connection)?;
        let gateway = gateway(&self.gateway)?;
        let nats = super::nats::nats(&self.nats)?;
        let latency_sampling = latency(&self.latency)?;
        let backfill_weight_per_minute = backfill(&self.backfill)?;
        let tail_check_every = tail_check_every(&self.backfill)?;
        let over_binance =
            backfill_weight_per_minute.is_some_and(|w| i64::from(w) > BINANCE_WEIGHT_PER_MINUTE);
        let mut notes = threads.notes;
        if over_binance {
            notes.push(format!(
                "warning: backfill.weight_per_minute is above Binance's {BINANCE_WEIGHT_PER_MINUTE} \
                 per IP: fine for a local simulator, but Binance answers 429 and then bans"
            ));
        }
        if threads.shard_cores.len() > max_symbols as usize {
            notes.push(format!(
                "{} aggregator shards for exchange.max_symbols = {max_symbols}: shards \
                 {max_symbols} and up never get a symbol",
                threads.shard_cores.len()
            ));
        }
        Ok(Settings {
            market,
            ws_url,
            rest_url,
            symbols,
            partition,
            quote_asset,
            max_symbols,
            streams_per_connection,
            redundancy,
            redundant_ws_url,
            exchange_info_refresh,
            intervals,
            database: (!klines.database.trim().is_empty()).then(|| klines.database.trim().into()),
            gateway,
            nats,
            latency_sampling,
            backfill_weight_per_minute,
            tail_check_every,
            close_grace_ms,
            max_backlog,
            io_cores: threads.io_cores,
            shard_cores: threads.shard_cores,
            consumer_cores: threads.consumer_cores,
            idle: threads.idle,
            ring_capacity: threads.ring_capacity,
            connection,
            notes,
        })
    }
}

/// `exchange.exchange_info_refresh_s`: 0 = never, else a period that stays well inside
/// Binance's REST weight limits.
fn refresh_period(seconds: i64) -> Result<Option<Duration>, ConfigError> {
    match seconds {
        0 => Ok(None),
        10..=86_400 => Ok(Some(Duration::from_secs(seconds.unsigned_abs()))),
        _ => Err(invalid(
            "exchange.exchange_info_refresh_s",
            seconds,
            "must be 0 (never) or 10..=86400 seconds",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use crate::idle::IdleStrategy;
    use crate::interval::Interval;

    const TWO: [usize; 2] = [0, 1];

    fn resolve_text(text: &str) -> Result<Settings, ConfigError> {
        parse(text, "t.toml")?.resolve(&TWO)
    }

    fn error_of(text: &str) -> String {
        resolve_text(text).unwrap_err().to_string()
    }

    #[test]
    fn empty_text_is_the_default_usdm_all_config() {
        let settings = resolve_text("").unwrap();
        assert_eq!(settings, Config::default().resolve(&TWO).unwrap());
        assert_eq!(settings.market, crate::config::Market::Usdm);
        assert_eq!(settings.ws_url, "wss://fstream.binance.com/market/stream");
        assert_eq!(settings.rest_url, "https://fapi.binance.com");
        assert_eq!(settings.symbols, SymbolSelection::All);
        assert_eq!(settings.quote_asset, "USDT");
        assert_eq!(settings.max_symbols, 1024);
        assert_eq!(settings.streams_per_connection, 200);
        assert_eq!(
            settings.exchange_info_refresh,
            Some(Duration::from_secs(300))
        );
        assert_eq!(settings.intervals, Interval::standard());
        assert_eq!(settings.close_grace_ms, 1_500);
        assert_eq!(settings.max_backlog, 1_000_000);
        assert_eq!(settings.io_cores, [0]);
        assert_eq!(settings.shard_cores, [Some(1)]);
        assert_eq!(settings.consumer_cores, [0]);
        assert_eq!(
            settings.idle,
            IdleStrategy::Park(Duration::from_micros(200))
        );
        assert_eq!(settings.ring_capacity, 65_536);
        assert_eq!(settings.connection.subscribe_per_s, 5);
        assert!(settings.notes.is_empty());
    }

    #[test]
    fn spot_gets_spot_urls() {
        let settings = resolve_text("[exchange]\nmarket = \"spot\"\n").unwrap();
        assert_eq!(settings.ws_url, "wss://stream.binance.com:9443/stream");
        assert_eq!(settings.rest_url, "https://api.binance.com");
    }

    #[test]
    fn exchange_errors_name_file_key_value_and_what_is_valid() {
        let cases = [
            (
                "[exchange]\nstreams_per_connection = 2000\n",
                "t.toml: exchange.streams_per_connection = 2000: must be 1..=1024 (Binance's \
                 limit per connection)",
            ),
            (
                "[exchange]\nmax_symbols = 0\n",
                "t.toml: exchange.max_symbols = 0: must be 1..=1000000 (symbols state is \
                 preallocated for)",
            ),
            (
                "[exchange]\nmax_symbols = 1000001\n",
                "t.toml: exchange.max_symbols = 1000001: must be 1..=1000000 (symbols state is \
                 preallocated for)",
            ),
            (
                "[exchange]\nsymbols = [\"BTCUSDT\", \"ETHUSDT\", \"SOLUSDT\"]\nmax_symbols = 2\n",
                "t.toml: exchange.max_symbols = 2: must be at least the 3 symbols listed in \
                 exchange.symbols",
            ),
            (
                "[exchange]\nexchange_info_refresh_s = 5\n",
                "t.toml: exchange.exchange_info_refresh_s = 5: must be 0 (never) or 10..=86400 \
                 seconds",
            ),
            (
                "[klines]\nclose_grace_ms = -1\n",
                "t.toml: klines.close_grace_ms = -1: must be 0..=300000 (milliseconds after a \
                 period ends before its kline closes)",
            ),
            (
                "[klines]\nmax_backlog = 0\n",
                "t.toml: klines.max_backlog = 0: must be 1..=100000000 (closed klines held per \
                 consumer)",
            ),
            (
                "[threads]\nio_cores = [7]\n",
                "t.toml: threads.io_cores[0] = 7: no such core; this machine has cores 0, 1",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(error_of(text), message, "{text}");
        }
        assert!(
            error_of("[klines]\nintervals = [\"1m\", \"1h\", \"2w\"]\n").starts_with(
                "t.toml: klines.intervals[2] = \"2w\": invalid interval \"2w\": valid intervals are"
            )
        );
    }

    #[test]
    fn refresh_zero_means_never() {
        let settings = resolve_text("[exchange]\nexchange_info_refresh_s = 0\n").unwrap();
        assert_eq!(settings.exchange_info_refresh, None);
    }

    #[test]
    fn shards_beyond_max_symbols_are_noted() {
        let text = "[exchange]\nsymbols = [\"BTCUSDT\"]\nmax_symbols = 2\n\
                    [threads]\naggregator_cores = []\naggregator_shards = 3\n";
        let settings = resolve_text(text).unwrap();
        assert_eq!(settings.shard_cores, [None, None, None]);
        assert_eq!(settings.shard_max_symbols(), 1);
        assert_eq!(settings.notes.len(), 1, "{:?}", settings.notes);
        assert!(settings.notes[0].contains("never get a symbol"));
    }

    #[test]
    fn shard_config_carries_the_kline_rules() {
        let text = "[klines]\nintervals = [\"1m\"]\nclose_grace_ms = 250\nmax_backlog = 10\n\
                    [threads]\naggregator_cores = [0, 1]\n";
        let settings = resolve_text(text).unwrap();
        let shard = settings.shard_config();
        assert_eq!(shard.max_symbols, 512);
        assert_eq!(shard.close_grace_ms, 250);
        assert_eq!(shard.max_backlog, 10);
        assert_eq!(shard.intervals.len(), 1);
        assert!(shard.validate().is_ok());
    }
}
