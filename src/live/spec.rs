//! From a config plan to the engine's wiring.

use std::collections::HashMap;

use crate::config::{ConnectionSettings, Plan};
use crate::ingress::connection::ConnectionOptions;
use crate::pipeline::{ConnectionSpec, EngineSpec};

/// The engine a plan describes, with `consumers` consumers registered.
pub fn engine_spec(plan: &Plan, consumers: usize) -> EngineSpec {
    let settings = &plan.settings;
    let global: HashMap<&str, u32> = plan
        .shards
        .iter()
        .flat_map(|shard| {
            shard
                .symbols
                .iter()
                .map(|(index, name)| (name.as_str(), *index))
        })
        .collect();
    let connections = plan
        .connections
        .iter()
        .map(|c| {
            let trade_streams: Vec<String> = c
                .symbols
                .iter()
                .map(|s| crate::config::trade_stream(s))
                .collect();
            ConnectionSpec {
                core: c.core,
                url: c.url.clone(),
                symbols: c
                    .symbols
                    .iter()
                    .map(|s| (s.clone(), global[s.as_str()]))
                    .collect(),
                extra_streams: c
                    .streams
                    .iter()
                    .filter(|s| !trade_streams.contains(s))
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    EngineSpec {
        shard: settings.shard_config(),
        max_symbols: settings.max_symbols,
        shard_cores: plan.shards.iter().map(|s| s.core).collect(),
        connections,
        idle: settings.idle,
        ring_capacity: settings.ring_capacity,
        connection: connection_options(&settings.connection),
        consumers,
        probe: settings.latency_sampling,
        restore: Vec::new(),
    }
}

/// The connection settings of the config as the connection layer takes them.
pub fn connection_options(settings: &ConnectionSettings) -> ConnectionOptions {
    ConnectionOptions {
        connect_timeout: settings.connect_timeout,
        read_tick: settings.read_tick,
        ping_interval: settings.ping_interval,
        stale_timeout: settings.stale_timeout,
        max_message_bytes: settings.max_message_bytes,
        rotate_after: settings.rotate_after,
        subscribe_per_s: settings.subscribe_per_s,
        ..ConnectionOptions::default()
    }
}
