//! Which symbols `klagg run` follows at start, how their numbers are written, and what the
//! gateway's `exchangeInfo` says of them.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::{Market, Plan, Settings, SymbolSelection};
use crate::egress::Decimals;
use crate::gateway::Listing;
use crate::ingress::exchange_info::{self, ListedSymbol};

use super::RunError;
use super::refused::RefusedSymbols;

/// Timeout of REST calls made at start-up.
const REST_TIMEOUT: Duration = Duration::from_secs(10);

/// Fractional digits used for a USD-M symbol the exchange did not describe: exact, if long.
pub const FALLBACK_DECIMALS: Decimals = Decimals::new(8, 8);

/// How a market writes a symbol's numbers when its exchangeInfo entry says nothing: spot always
/// writes 8 decimals ([`Decimals::SPOT`]), USD-M's fallback is [`FALLBACK_DECIMALS`].
#[must_use]
pub fn default_decimals(market: Market) -> Decimals {
    match market {
        Market::Usdm => FALLBACK_DECIMALS,
        Market::Spot => Decimals::SPOT,
    }
}

/// What [`resolve`] found.
#[derive(Debug)]
pub struct Resolved {
    /// The symbols to follow, in order.
    pub symbols: Vec<String>,
    /// What the exchange says of every symbol it lists.
    pub described: Described,
    /// Selected symbols whose names klagg cannot follow (logged already).
    pub refused: RefusedSymbols,
}

/// The symbols to follow, and the decimals of every symbol the exchange lists.
///
/// `symbols = "all"` needs exchangeInfo; with a list it is only asked for the decimals the
/// gateway writes, and a failure there is a warning. Selected names that break
/// [`crate::symbol_name`]'s rule are left out, logged and counted in [`Resolved::refused`] (a
/// listed one was checked with the config). [`Resolved::symbols`] are all selected symbols;
/// [`Plan::new`] keeps those of `exchange.partition`.
pub fn resolve(settings: &Settings) -> Result<Resolved, RunError> {
    log::info!("asking {} for exchangeInfo", settings.rest_url);
    let listing = exchange_info::fetch(&settings.rest_url, settings.market, REST_TIMEOUT);
    let listed: Vec<ListedSymbol> = match (&settings.symbols, listing) {
        (_, Ok(listed)) => listed,
        (SymbolSelection::All, Err(e)) => return Err(RunError::ExchangeInfo(e)),
        (SymbolSelection::List(_), Err(e)) => {
            log::warn!("{e}; klines are served with 8 decimals");
            Vec::new()
        }
    };
    let decimals = listed
        .iter()
        .filter(|_| settings.market == Market::Usdm)
        .filter_map(|s| {
            Some((
                s.symbol.clone(),
                Decimals::new(s.price_decimals?, s.quantity_decimals?),
            ))
        })
        .collect();
    let listings = listed.iter().filter_map(gateway_listing).collect();
    let mut refused = RefusedSymbols::new();
    let symbols = match &settings.symbols {
        SymbolSelection::List(list) => list.clone(),
        SymbolSelection::All => {
            let selected: Vec<String> = listed
                .into_iter()
                .filter(|s| s.is_selected(settings.market, &settings.quote_asset))
                .map(|s| s.symbol)
                .collect();
            let selected = refused.keep_followable(selected, "exchangeInfo");
            if selected.is_empty() {
                return Err(RunError::NoSymbols(format!(
                    "exchangeInfo lists no TRADING {} symbol quoted in {}",
                    settings.market, settings.quote_asset
                )));
            }
            selected
        }
    };
    let partition = settings.partition;
    if !partition.is_whole() {
        // The plan keeps the partition's share; say here how large it is.
        let followed = symbols.iter().filter(|s| partition.contains(s)).count();
        if followed == 0 {
            log::warn!(
                "none of the {} selected symbols falls in exchange.partition {partition}: \
                 following none until a new listing does",
                symbols.len()
            );
        } else {
            log::info!(
                "exchange.partition {partition}: following {followed} of the {} selected symbols",
                symbols.len()
            );
        }
    }
    Ok(Resolved {
        symbols,
        described: Described { decimals, listings },
        refused,
    })
}

/// What the exchange's exchangeInfo says of the symbols it lists, for the gateway.
#[derive(Debug, Default)]
pub struct Described {
    /// The decimals of every symbol the exchange lists (USD-M; spot writes 8 for all).
    pub decimals: HashMap<String, Decimals>,
    /// The assets and steps of every symbol the exchange lists.
    pub listings: HashMap<String, Listing>,
}

/// What the gateway lists of a symbol the exchange described with both assets and both steps.
fn gateway_listing(listed: &ListedSymbol) -> Option<(String, Listing)> {
    if listed.base_asset.is_empty() || listed.quote_asset.is_empty() {
        return None;
    }
    let margin = if listed.margin_asset.is_empty() {
        &listed.quote_asset
    } else {
        &listed.margin_asset
    };
    Some((
        listed.symbol.clone(),
        Listing {
            base_asset: listed.base_asset.clone(),
            quote_asset: listed.quote_asset.clone(),
            margin_asset: margin.clone(),
            tick_size: listed.tick_size.clone()?,
            step_size: listed.step_size.clone()?,
        },
    ))
}

/// Symbol names by global index, as the plan placed them.
pub fn names(plan: &Plan) -> Vec<String> {
    let mut names = Vec::new();
    for (name, index) in plan.symbol_indices() {
        let index = index as usize;
        if names.len() <= index {
            names.resize(index + 1, String::new());
        }
        names[index] = name.to_owned();
    }
    names
}
