//! The consumer threads `klagg run` starts besides its status line: the SQLite sink, the kline
//! gateway and the NATS publisher, each a delta consumer of its own.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use crate::aggregator::ShardStats;
use crate::backfill::BackfillStats;
use crate::config::Settings;
use crate::gateway::rest_api::RestApi;
use crate::gateway::{
    Catalog, Gateway, GatewayConfig, GatewayHandle, LiveSymbols, MetricsFn, SPINNING_SOCKET_POLL,
};
use crate::idle::IdleStrategy;
use crate::latency::Latencies;
use crate::nats::{NatsHandle, NatsStats, PublisherConfig, spawn_publisher};
use crate::pipeline::{Engine, EngineBuilder, EngineConsumer, Stage};
use crate::store::{SinkHandle, SinkOptions, SinkStats, spawn_sink};

use super::RunError;
use super::symbols::{Described, default_decimals};

/// How many consumers the settings ask for besides the status line's.
pub fn wanted(settings: &Settings) -> usize {
    usize::from(settings.database.is_some())
        + usize::from(settings.gateway.is_some())
        + usize::from(settings.nats.is_some())
}

/// The running consumer threads.
pub struct Consumers {
    /// The SQLite sink, when klines are kept on disk.
    pub sink: Option<SinkHandle>,
    /// The gateway, when klines are served.
    pub gateway: Option<GatewayHandle>,
    /// The NATS publisher, when `[nats]` names servers.
    pub nats: Option<NatsHandle>,
}

/// Starts the sink and the gateway the settings ask for, from `consumers` (as many as
/// [`wanted`] says): the sink on a thread of its own (its writes may block), the gateway as a
/// stage of the engine's thread on the first consumer core (a thread of its own without one).
/// They stop when `stop` is set. `/metrics` includes what `observed` holds.
pub fn start(
    settings: &Settings,
    builder: &mut EngineBuilder,
    mut consumers: Vec<EngineConsumer>,
    names: &Arc<RwLock<Vec<String>>>,
    described: Described,
    observed: Observed,
    stop: &Arc<AtomicBool>,
) -> Result<Consumers, RunError> {
    // The gateway takes the last consumer: the one whose deliveries the latency probe stamps,
    // since the gateway is what delivers klines to users.
    let gateway_consumer = settings
        .gateway
        .is_some()
        .then(|| consumers.pop().expect("a consumer for the gateway"));
    let sink = match &settings.database {
        Some(path) => {
            let consumer = consumers.pop().expect("a consumer for the sink");
            let options = SinkOptions::default();
            Some(
                spawn_sink(
                    consumer,
                    path.clone(),
                    Arc::clone(names),
                    settings.intervals.clone(),
                    options,
                    Arc::clone(stop),
                )
                .map_err(RunError::Store)?,
            )
        }
        None => None,
    };
    let nats = match &settings.nats {
        Some(nats) => {
            let consumer = consumers.pop().expect("a consumer for the NATS publisher");
            let decimals = described.decimals.clone();
            let fallback = default_decimals(settings.market);
            let config = PublisherConfig {
                settings: nats.clone(),
                market: settings.market,
                intervals: settings.intervals.clone(),
                names: Arc::clone(names),
                decimals: Arc::new(move |name: &str| {
                    decimals.get(name).copied().unwrap_or(fallback)
                }),
            };
            let handle =
                spawn_publisher(consumer, config, Arc::clone(stop)).map_err(RunError::Gateway)?;
            log::info!("publishing klines to NATS at {}", nats.servers.join(","));
            Some(handle)
        }
        None => None,
    };
    let nats_stats = nats.as_ref().map(|n| Arc::clone(&n.stats));
    let gateway = match (&settings.gateway, gateway_consumer) {
        (Some(g), Some(consumer)) => {
            // The gateway follows the names the symbol manager adds, so a symbol listed while
            // klagg runs is served like the others.
            let Described { decimals, listings } = described;
            let fallback = default_decimals(settings.market);
            let catalog = Catalog {
                symbols: Vec::new(),
                intervals: settings.intervals.clone(),
                live: Some(LiveSymbols {
                    names: Arc::clone(names),
                    decimals: Arc::new(move |name: &str| {
                        decimals.get(name).copied().unwrap_or(fallback)
                    }),
                }),
            };
            let config = GatewayConfig {
                bind: g.bind,
                push_interval: g.push_interval,
                max_clients: g.max_clients,
                max_streams_per_client: g.max_streams_per_client,
                history_per_slot: g.history_per_slot,
                metrics: Some(metrics(
                    builder.engine(),
                    sink.as_ref().map(|s| Arc::clone(&s.stats)),
                    observed,
                    nats_stats,
                )),
                core: settings.consumer_cores.first().copied(),
                database: settings.database.clone(),
                market: settings.market,
                listing: Some(Arc::new(move |name: &str| listings.get(name).cloned())),
                socket_poll_every: match settings.idle {
                    IdleStrategy::Spin => SPINNING_SOCKET_POLL,
                    _ => Duration::ZERO,
                },
                ..GatewayConfig::default()
            };
            let core = config.core;
            let stop = Arc::clone(stop);
            let mut handle = None;
            builder
                .add_stage(core, |wake| {
                    let (stage, gateway) = Gateway::stage(config, consumer, catalog, stop, wake)?;
                    handle = Some(gateway);
                    Ok(Box::new(stage) as Box<dyn Stage>)
                })
                .map_err(|e| match e {
                    crate::pipeline::EngineError::Spawn(e) => RunError::Gateway(e),
                    other => RunError::Engine(other),
                })?;
            let handle = handle.expect("the gateway stage was made");
            let api = RestApi::of(settings.market);
            log::info!(
                "serving klines on ws://{0}{1} and http://{0}{2}",
                handle.addr(),
                api.streams,
                api.klines
            );
            Some(handle)
        }
        _ => None,
    };
    Ok(Consumers {
        sink,
        gateway,
        nats,
    })
}

/// What `/metrics` shows besides the engine's and the sink's counters, when there is one.
#[derive(Default)]
pub struct Observed {
    /// The latency histograms.
    pub latencies: Option<Arc<Mutex<Latencies>>>,
    /// The backfill's counters (REST weight, tail checks).
    pub backfill: Option<Arc<BackfillStats>>,
}

/// `/metrics`: the engine's counters as the threads last published them, the sink's, the
/// backfill's, and the latency histograms.
fn metrics(
    engine: &Engine,
    sink: Option<Arc<SinkStats>>,
    observed: Observed,
    nats: Option<Arc<NatsStats>>,
) -> MetricsFn {
    let Observed {
        latencies,
        backfill,
    } = observed;
    let io = engine.io_stats().to_vec();
    let shards = engine.shard_stats_handles();
    Arc::new(move || {
        let stats: Vec<ShardStats> = shards.iter().map(|s| s.get()).collect();
        let mut out = String::new();
        crate::metrics::render(&mut out, &io, &stats);
        if let Some(sink) = &sink {
            crate::metrics::render_sink(&mut out, sink);
        }
        if let Some(backfill) = &backfill {
            crate::metrics::render_backfill(&mut out, backfill);
        }
        if let Some(nats) = &nats {
            nats.render(&mut out);
        }
        if let Some(latencies) = &latencies {
            let latencies = latencies.lock().unwrap_or_else(PoisonError::into_inner);
            crate::metrics::render_latencies(&mut out, &latencies);
        }
        out
    })
}
