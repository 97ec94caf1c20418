//! The shipped config files, and the config API end to end: load, resolve, plan, print.

use std::path::{Path, PathBuf};

use klagg::config::{
    self, Config, ConfigError, MINI_TICKER_STREAM, Plan, Settings, SymbolSelection,
};
use klagg::idle::IdleStrategy;
use klagg::interval::Interval;

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
}

fn sixteen_cores() -> Vec<usize> {
    (0..16).collect()
}

fn resolve(text: &str, cores: &[usize]) -> Result<Settings, ConfigError> {
    config::parse(text, "test.toml")?.resolve(cores)
}

#[test]
fn default_toml_is_the_built_in_default_on_two_cores() {
    let settings = config::load(&shipped("default.toml"))
        .unwrap()
        .resolve(&[0, 1])
        .unwrap();
    assert_eq!(settings, Config::default().resolve(&[0, 1]).unwrap());
    assert_eq!(settings.symbols, SymbolSelection::All);
    assert_eq!(settings.intervals, Interval::standard());
    assert_eq!(settings.io_cores, [0]);
    assert_eq!(settings.shard_cores, [Some(1)]);
    assert_eq!(settings.consumer_cores, [0]);
    assert!(matches!(settings.idle, IdleStrategy::Park(_)));
    assert!(settings.notes.is_empty());
}

#[test]
fn bare_metal_example_resolves_on_a_sixteen_core_host() {
    let settings = config::load(&shipped("bare-metal.example.toml"))
        .unwrap()
        .resolve(&sixteen_cores())
        .unwrap();
    assert_eq!(settings.io_cores, [2, 3, 4, 5]);
    assert_eq!(settings.shard_cores, [Some(6), Some(7)]);
    assert_eq!(settings.consumer_cores, [8]);
    assert_eq!(settings.idle, IdleStrategy::Spin);
    // One io thread per connection: even a full max_symbols needs no more connections than
    // there are io cores.
    assert_eq!(config::max_connections(&settings), settings.io_cores.len());
    let plan = Plan::new(&settings, None).unwrap();
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
}

#[test]
fn bare_metal_example_names_the_missing_core_on_a_small_machine() {
    let error = config::load(&shipped("bare-metal.example.toml"))
        .unwrap()
        .resolve(&[0, 1])
        .unwrap_err();
    let message = error.to_string();
    assert!(message.ends_with("bare-metal.example.toml: threads.io_cores[0] = 2: no such core; this machine has cores 0, 1"), "{message}");
}

#[test]
fn empty_text_is_the_default() {
    let config = config::parse("", "empty.toml").unwrap();
    assert_eq!(config.origin.as_deref(), Some("empty.toml"));
    assert_eq!(
        config.resolve(&[0, 1]).unwrap(),
        Config::default().resolve(&[0, 1]).unwrap()
    );
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let error = resolve("[threads]\nio_cores = [0]\nshard_cores = [1]\n", &[0, 1]).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, ConfigError::Syntax { .. }));
    assert!(
        message.starts_with("test.toml: TOML parse error at line 3, column 1 (in table [threads])"),
        "{message}"
    );
    assert!(message.contains("unknown field `shard_cores`"), "{message}");
    let error = resolve("[exchanges]\n", &[0, 1]).unwrap_err();
    assert!(
        error.to_string().contains("unknown field `exchanges`"),
        "{error}"
    );
}

#[test]
fn every_kind_of_error_names_key_value_and_what_is_valid() {
    let cases = [
        (
            "[threads]\nio_cores = [7]",
            "test.toml: threads.io_cores[0] = 7: no such core; this machine has cores 0, 1",
        ),
        (
            "[threads]\naggregator_cores = [1, 9]",
            "test.toml: threads.aggregator_cores[1] = 9: no such core; this machine has cores 0, 1",
        ),
        (
            "[exchange]\nstreams_per_connection = 2000",
            "test.toml: exchange.streams_per_connection = 2000: must be 1..=1024 (Binance's limit \
             per connection)",
        ),
        (
            "[exchange]\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\nmax_symbols = 1",
            "test.toml: exchange.max_symbols = 1: must be at least the 2 symbols listed in \
             exchange.symbols",
        ),
        (
            "[threads]\nidle = \"park\"\npark_us = 2000000",
            "test.toml: threads.park_us = 2000000: must be 1..=1000000 (microseconds to park when \
             idle = \"park\")",
        ),
        (
            "[connection]\nstale_timeout_s = 1\nread_tick_ms = 1000",
            "test.toml: connection.stale_timeout_s = 1: must be longer than \
             connection.read_tick_ms = 1000 ms, the tick on which staleness is noticed",
        ),
        (
            "[exchange]\nws_url = \"https://example.com\"",
            "test.toml: exchange.ws_url = \"https://example.com\": wrong scheme; expected a URL \
             starting with ws:// or wss://, e.g. \"wss://fstream.binance.com/market/stream\"",
        ),
        (
            "[exchange]\nmarket = \"spot\"\nrest_url = \"ftp://x\"",
            "test.toml: exchange.rest_url = \"ftp://x\": wrong scheme; expected a URL starting \
             with http:// or https://, e.g. \"https://api.binance.com\"",
        ),
    ];
    for (text, message) in cases {
        let error = resolve(text, &[0, 1]).unwrap_err();
        assert_eq!(error.to_string(), message, "{text}");
    }
    let error = resolve("[exchange]\nsymbols = [\"BTCUSDT\", \"BTC/USDT\"]", &[0, 1]).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "test.toml: exchange.symbols[1] = \"BTC/USDT\": the name has '/'; {}",
            klagg::symbol_name::VALID
        )
    );
    assert!(
        error
            .to_string()
            .ends_with("such as BTCUSDT or 币安人生USDT"),
        "{error}"
    );
    let error = resolve("[klines]\nintervals = [\"1m\", \"1h\", \"2w\"]", &[0, 1]).unwrap_err();
    assert_eq!(error.key(), Some("klines.intervals[2]"));
    assert!(
        error.to_string().starts_with(
            "test.toml: klines.intervals[2] = \"2w\": invalid interval \"2w\": valid intervals \
             are 1s 1m 3m"
        ),
        "{error}"
    );
}

#[test]
fn core_id_1024_is_rejected_by_validation_alone() {
    // The machine list claims core 1024 exists: validation must still refuse it, by value,
    // because pinning to it would abort inside libc.
    let cores: Vec<usize> = (0..2048).collect();
    let error = resolve("[threads]\nio_cores = [0, 1024]", &cores).unwrap_err();
    assert_eq!(error.key(), Some("threads.io_cores[1]"));
    assert!(
        error
            .to_string()
            .starts_with("test.toml: threads.io_cores[1] = 1024: core ids must be below 1024"),
        "{error}"
    );
    assert!(resolve("[threads]\nio_cores = [1023]", &cores).is_ok());
}

#[test]
fn listed_symbols_spread_over_connections_and_shards() {
    let list: Vec<String> = (0..450).map(|i| format!("\"SYM{i}USDT\"")).collect();
    let text = format!(
        "[exchange]\nsymbols = [{}]\n[threads]\nio_cores = [2, 3]\naggregator_cores = [6, 7]\n",
        list.join(", ")
    );
    let settings = resolve(&text, &sixteen_cores()).unwrap();
    let plan = Plan::new(&settings, None).unwrap();
    let sizes: Vec<usize> = plan.connections.iter().map(|c| c.symbols.len()).collect();
    assert_eq!(sizes, [200, 200, 50]);
    assert_eq!(plan.shards[0].symbols.len(), 225);
    assert!(plan.shards[0].symbols.iter().all(|(i, _)| i % 2 == 0));
    assert!(plan.shards[1].symbols.iter().all(|(i, _)| i % 2 == 1));
    let text = plan.to_string();
    for expected in [
        "core 2: io connection 0, io connection 2\n",
        "core 0: gateway\n",
        "core 3: io connection 1 (blocks in its socket read)",
        "core 6: shard 0",
        "core 7: shard 1",
        "connection 2 on core 2: 50 streams: 50 symbols: SYM400USDT, ",
        "shard 1 on core 7: 225 symbols: #1 SYM1USDT, #3 SYM3USDT",
        "... and 215 more",
        "idle       park 200 µs",
        "rings      65536 payloads per (io thread, shard) ring",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn all_symbols_put_the_mini_ticker_on_connection_0() {
    let settings = resolve("", &[0, 1]).unwrap();
    let resolved: Vec<String> = (0..450).map(|i| format!("SYM{i}USDT")).collect();
    let plan = Plan::new(&settings, Some(&resolved)).unwrap();
    let streams: Vec<usize> = plan.connections.iter().map(|c| c.streams.len()).collect();
    assert_eq!(streams, [200, 200, 51]);
    assert_eq!(plan.connections[0].streams[0], MINI_TICKER_STREAM);
    assert_eq!(plan.connections[0].symbols.len(), 199);
    let text = plan.to_string();
    assert!(
        text.contains("200 streams: !miniTicker@arr + 199 symbols"),
        "{text}"
    );
}

#[test]
fn check_config_prints_the_plan_of_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unpinned.toml");
    // Unpinned, so the test passes on any machine.
    std::fs::write(
        &path,
        "[threads]\nio_cores = []\naggregator_cores = []\naggregator_shards = 2\nconsumer_cores = []\n",
    )
    .unwrap();
    let text = config::check_config(&path).unwrap();
    assert!(
        text.contains("unpinned: io connection 5 (if planned) (blocks in its socket read)"),
        "{text}"
    );
    assert!(text.contains("unpinned: shard 1\n"), "{text}");
    assert!(
        text.contains("planned at start from exchangeInfo"),
        "{text}"
    );

    std::fs::write(&path, "[threads]\nio_cores = [-3]\n").unwrap();
    let message = config::check_config(&path).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!(
            "{}: threads.io_cores[0] = -3: core ids are 0 or more",
            path.display()
        )),
        "{message}"
    );

    // Binance's non-ASCII symbols are listed as they are, their streams lower-cased the way
    // Binance does (ASCII letters only).
    std::fs::write(
        &path,
        "[exchange]\nsymbols = [\"币安人生usdt\", \"BTCUSDT\"]\n[threads]\nio_cores = []\n\
         aggregator_cores = []\nconsumer_cores = []\n",
    )
    .unwrap();
    let text = config::check_config(&path).unwrap();
    assert!(
        text.contains("2 streams: 2 symbols: 币安人生USDT, BTCUSDT"),
        "{text}"
    );

    let missing = dir.path().join("missing.toml");
    let error = config::check_config(&missing).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: cannot read", missing.display()))
    );
}
