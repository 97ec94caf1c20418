//! The server's symbol table and stream names: what a client may subscribe to, and the
//! names each symbol is known by (REST `BTCUSDT`, streams `btcusdt@aggTrade`).

use std::collections::HashMap;

use crate::config::Market;
use crate::egress::Decimals;
use crate::sim::SymbolSpec;
use crate::symbol_name;

/// The ticker stream: every listed symbol's 24h mini ticker once a second.
pub(crate) const MINI_TICKER_STREAM: &str = "!miniTicker@arr";
/// Suffix of a symbol's trade stream.
const AGG_TRADE_SUFFIX: &str = "@aggTrade";
/// The quote asset assumed for names that end in it; others take their last 4 characters.
const USDT: &str = "USDT";

/// A stream a connection can subscribe to, resolved once so publishing never touches names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamId {
    /// `<symbol>@aggTrade` of the symbol with this index.
    AggTrade(u32),
    /// `!miniTicker@arr`.
    MiniTickers,
}

/// One symbol and every name derived from it, computed once at start.
#[derive(Debug, Clone)]
pub(crate) struct SymbolInfo {
    /// The symbol as the market source describes it.
    pub(crate) spec: SymbolSpec,
    /// `btcusdt@aggTrade`.
    pub(crate) agg_trade_stream: String,
    /// `BTC` for `BTCUSDT`.
    pub(crate) base_asset: String,
    /// `USDT` for `BTCUSDT`.
    pub(crate) quote_asset: String,
    /// How its numbers are written: USD-M with the spec's decimals, spot with 8 each.
    pub(crate) decimals: Decimals,
}

impl SymbolInfo {
    /// Derives the stream name and the assets from the spec, numbers written the USD-M way.
    #[cfg(test)]
    pub(crate) fn new(spec: SymbolSpec) -> SymbolInfo {
        SymbolInfo::for_market(spec, Market::Usdm)
    }

    /// Derives the stream name and the assets from the spec, numbers written as `market` does.
    pub(crate) fn for_market(spec: SymbolSpec, market: Market) -> SymbolInfo {
        let name = spec.name.as_str();
        let split = if name.ends_with(USDT) {
            name.len() - USDT.len()
        } else {
            // Char boundary safe: find the start of the 4th character from the end.
            name.char_indices()
                .rev()
                .nth(3)
                .map_or(0, |(index, _)| index)
        };
        SymbolInfo {
            agg_trade_stream: format!("{}{AGG_TRADE_SUFFIX}", symbol_name::stream_case(name)),
            base_asset: name[..split].to_string(),
            quote_asset: name[split..].to_string(),
            decimals: match market {
                Market::Usdm => Decimals::new(spec.price_decimals, spec.quantity_decimals),
                Market::Spot => Decimals::SPOT,
            },
            spec,
        }
    }
}

/// Every symbol the server knows (listed or not yet), indexed like the market's [`SymbolSpec`]s.
#[derive(Debug)]
pub(crate) struct SymbolTable {
    symbols: Vec<SymbolInfo>,
    /// Exchange name (`BTCUSDT`) to index, for REST parameters.
    by_name: HashMap<String, u32>,
    /// Stream name (`btcusdt@aggTrade`) to index, for subscriptions.
    by_stream: HashMap<String, u32>,
}

impl SymbolTable {
    /// Builds the table of a USD-M market; a repeated name keeps its first index.
    #[cfg(test)]
    pub(crate) fn new(specs: Vec<SymbolSpec>) -> SymbolTable {
        SymbolTable::for_market(specs, Market::Usdm)
    }

    /// Builds the table of `market`; a repeated name keeps its first index.
    pub(crate) fn for_market(specs: Vec<SymbolSpec>, market: Market) -> SymbolTable {
        let symbols: Vec<SymbolInfo> = specs
            .into_iter()
            .map(|spec| SymbolInfo::for_market(spec, market))
            .collect();
        let mut by_name = HashMap::with_capacity(symbols.len());
        let mut by_stream = HashMap::with_capacity(symbols.len());
        for (index, symbol) in symbols.iter().enumerate() {
            let index = index as u32;
            by_name.entry(symbol.spec.name.clone()).or_insert(index);
            by_stream
                .entry(symbol.agg_trade_stream.clone())
                .or_insert(index);
        }
        SymbolTable {
            symbols,
            by_name,
            by_stream,
        }
    }

    /// Number of symbols.
    pub(crate) fn len(&self) -> usize {
        self.symbols.len()
    }

    /// The symbol with this index.
    pub(crate) fn get(&self, index: u32) -> Option<&SymbolInfo> {
        self.symbols.get(index as usize)
    }

    /// Every symbol, by index.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &SymbolInfo> {
        self.symbols.iter()
    }

    /// The index of an exchange name such as `BTCUSDT` (exact case, as Binance's REST wants).
    pub(crate) fn by_name(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// Resolves a stream name; `None` for anything that is not a stream of a known symbol.
    pub(crate) fn parse_stream(&self, name: &str) -> Option<StreamId> {
        if name == MINI_TICKER_STREAM {
            return Some(StreamId::MiniTickers);
        }
        self.by_stream.get(name).copied().map(StreamId::AggTrade)
    }

    /// The canonical name of a stream, as `LIST_SUBSCRIPTIONS` and the combined envelope say it.
    pub(crate) fn stream_name(&self, stream: StreamId) -> &str {
        match stream {
            StreamId::MiniTickers => MINI_TICKER_STREAM,
            StreamId::AggTrade(index) => self
                .get(index)
                .map_or("", |symbol| symbol.agg_trade_stream.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> SymbolSpec {
        SymbolSpec {
            name: name.into(),
            price_decimals: 2,
            quantity_decimals: 3,
            listed_at_ms: None,
        }
    }

    #[test]
    fn assets_split_at_usdt_or_the_last_four_characters() {
        let btc = SymbolInfo::new(spec("BTCUSDT"));
        assert_eq!(
            (btc.base_asset.as_str(), btc.quote_asset.as_str()),
            ("BTC", "USDT")
        );
        let eth = SymbolInfo::new(spec("ETHBUSD"));
        assert_eq!(
            (eth.base_asset.as_str(), eth.quote_asset.as_str()),
            ("ETH", "BUSD")
        );
        let short = SymbolInfo::new(spec("ABC"));
        assert_eq!(
            (short.base_asset.as_str(), short.quote_asset.as_str()),
            ("", "ABC")
        );
    }

    #[test]
    fn streams_resolve_by_exact_name() {
        let table = SymbolTable::new(vec![spec("BTCUSDT"), spec("ETHUSDT")]);
        assert_eq!(
            table.parse_stream("ethusdt@aggTrade"),
            Some(StreamId::AggTrade(1))
        );
        assert_eq!(
            table.parse_stream("!miniTicker@arr"),
            Some(StreamId::MiniTickers)
        );
        assert_eq!(table.parse_stream("ETHUSDT@aggTrade"), None);
        assert_eq!(table.parse_stream("ethusdt@trade"), None);
        assert_eq!(table.parse_stream("xrpusdt@aggTrade"), None);
        assert_eq!(table.stream_name(StreamId::AggTrade(0)), "btcusdt@aggTrade");
        assert_eq!(table.by_name("BTCUSDT"), Some(0));
        assert_eq!(table.by_name("btcusdt"), None);
    }

    #[test]
    fn non_ascii_names_lower_case_only_their_ascii_letters() {
        let table = SymbolTable::new(vec![spec("币安人生USDT")]);
        assert_eq!(
            table.stream_name(StreamId::AggTrade(0)),
            "币安人生usdt@aggTrade"
        );
        assert_eq!(
            table.parse_stream("币安人生usdt@aggTrade"),
            Some(StreamId::AggTrade(0))
        );
        assert_eq!(table.by_name("币安人生USDT"), Some(0));
        let info = table.get(0).unwrap();
        assert_eq!(
            (info.base_asset.as_str(), info.quote_asset.as_str()),
            ("币安人生", "USDT")
        );
    }
}
