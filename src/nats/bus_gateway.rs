//! `klagg gateway --nats URL`: the gateway, fed from the bus instead of an engine. It serves
//! the same Binance-compatible WebSocket streams and REST klines with no exchange connection,
//! so clients can be spread over as many gateway hosts as needed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use super::bus::{BusConfig, start_bus_feed};
use crate::egress::Decimals;
use crate::gateway::rest_api::RestApi;
use crate::gateway::{Catalog, Gateway, GatewayConfig, LiveSymbols};

/// What `klagg gateway` serves and from where.
#[derive(Debug, Clone)]
pub struct BusGatewayOptions {
    /// The bus to read.
    pub bus: BusConfig,
    /// Where to serve.
    pub bind: SocketAddr,
    /// Closed klines kept per symbol and interval for REST.
    pub history_per_slot: usize,
}

/// Serves klines from the bus until `stop` is set.
///
/// # Errors
///
/// The bus cannot be read or the address cannot be bound.
pub fn serve_from_bus(options: &BusGatewayOptions, stop: &Arc<AtomicBool>) -> Result<(), String> {
    let market = options.bus.market;
    let intervals = options.bus.intervals.clone();
    let feed = start_bus_feed(options.bus.clone(), Arc::clone(stop))?;
    let decimals = Arc::clone(&feed.decimals);
    let fallback = match market {
        crate::config::Market::Spot => Decimals::SPOT,
        crate::config::Market::Usdm => Decimals::new(2, 3),
    };
    let catalog = Catalog {
        symbols: Vec::new(),
        intervals,
        live: Some(LiveSymbols {
            names: Arc::clone(&feed.names),
            decimals: Arc::new(move |name: &str| {
                decimals
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(name)
                    .copied()
                    .unwrap_or(fallback)
            }),
        }),
    };
    let config = GatewayConfig {
        bind: options.bind,
        // Held pulls: the feed answers as soon as a message arrives.
        push_interval: Duration::ZERO,
        history_per_slot: options.history_per_slot,
        market,
        ..GatewayConfig::default()
    };
    let gateway = Gateway::spawn(config, feed.consumer, catalog, Arc::clone(stop))
        .map_err(|e| format!("gateway on {}: {e}", options.bind))?;
    let api = RestApi::of(market);
    println!(
        "serving klines from {} on ws://{2}{0} and http://{2}{1}",
        api.streams,
        api.klines,
        gateway.addr(),
    );
    log::info!("reading the bus at {}", options.bus.url);
    while !stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(100));
    }
    if gateway.join().is_err() {
        log::error!("the gateway thread panicked");
    }
    let _ = feed.thread.join();
    Ok(())
}
