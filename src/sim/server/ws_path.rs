//! Which WebSocket paths exist and what a connection starts subscribed to: on USD-M
//! `/market/stream?streams=a/b` (combined envelope) and `/market/ws[/a/b]` (raw events), on spot
//! `/stream?streams=a/b` and `/ws[/a/b]`. Stream names arrive percent-encoded when their symbol
//! is not ASCII (`%E5%B8%81...usdt@aggTrade`), in the query and in the path alike.

use super::encode::Form;
use super::http::query_pairs;
use super::market_api::MarketApi;
use super::symbols::{StreamId, SymbolTable};
use crate::percent;

/// What a connection asked for in its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// How its frames are shaped.
    pub(crate) form: Form,
    /// Streams it is subscribed to from the start, in URL order, without repeats.
    pub(crate) streams: Vec<StreamId>,
}

/// Why a WebSocket request is refused before the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a stream path: HTTP 404.
    NotFound,
    /// A stream path with a bad stream list: HTTP 400 with this message.
    BadStreams(String),
}

/// Resolves a WebSocket request's path and query on `api`'s paths.
pub(crate) fn route(
    path: &str,
    query: &str,
    symbols: &SymbolTable,
    max_streams: usize,
    api: MarketApi,
) -> Result<Route, Refusal> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let (form, names) = if trimmed == api.combined_path {
        let streams = query_pairs(query)
            .into_iter()
            .find(|(name, _)| name == "streams")
            .map(|(_, value)| value)
            .unwrap_or_default();
        (Form::Combined, streams)
    } else if trimmed == api.raw_path {
        (Form::Raw, String::new())
    } else {
        let names = path
            .strip_prefix(api.raw_path)
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or(Refusal::NotFound)?;
        let names = percent::decode(names)
            .map_err(|e| Refusal::BadStreams(format!("Invalid request: {names}: {e}")))?;
        (Form::Raw, names.into_owned())
    };
    let mut streams = Vec::new();
    for name in names.split('/').filter(|name| !name.is_empty()) {
        let stream = symbols.parse_stream(name).ok_or_else(|| {
            Refusal::BadStreams(format!("Invalid request: unknown stream {name}"))
        })?;
        if !streams.contains(&stream) {
            streams.push(stream);
        }
    }
    if streams.len() > max_streams {
        return Err(Refusal::BadStreams(format!(
            "Invalid request: {} streams, at most {max_streams} per connection",
            streams.len()
        )));
    }
    Ok(Route { form, streams })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Market;
    use crate::sim::SymbolSpec;

    const USDM: MarketApi = MarketApi::of(Market::Usdm);

    fn symbols() -> SymbolTable {
        SymbolTable::new(
            ["BTCUSDT", "ETHUSDT", "币安人生USDT"]
                .map(|name| SymbolSpec {
                    name: name.into(),
                    price_decimals: 2,
                    quantity_decimals: 3,
                    listed_at_ms: None,
                })
                .to_vec(),
        )
    }

    #[test]
    fn combined_raw_and_bare_paths() {
        let symbols = symbols();
        let combined = route(
            "/market/stream",
            "streams=ethusdt@aggTrade/%21miniTicker%40arr/ethusdt@aggTrade",
            &symbols,
            1024,
            USDM,
        )
        .unwrap();
        assert_eq!(combined.form, Form::Combined);
        assert_eq!(
            combined.streams,
            [StreamId::AggTrade(1), StreamId::MiniTickers]
        );
        let raw = route("/market/ws/btcusdt@aggTrade", "", &symbols, 1024, USDM).unwrap();
        assert_eq!(
            (raw.form, raw.streams),
            (Form::Raw, vec![StreamId::AggTrade(0)])
        );
        assert!(
            route("/market/ws", "", &symbols, 1024, USDM)
                .unwrap()
                .streams
                .is_empty()
        );
        assert!(
            route("/market/stream", "", &symbols, 1024, USDM)
                .unwrap()
                .streams
                .is_empty()
        );
    }

    #[test]
    fn non_ascii_stream_names_are_percent_decoded() {
        let symbols = symbols();
        let encoded = "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@aggTrade";
        let query = format!("streams={encoded}/btcusdt@aggTrade");
        let combined = route("/market/stream", &query, &symbols, 1024, USDM).unwrap();
        let both = [StreamId::AggTrade(2), StreamId::AggTrade(0)];
        assert_eq!(combined.streams, both);
        let path = format!("/market/ws/{encoded}/btcusdt@aggTrade");
        assert_eq!(
            route(&path, "", &symbols, 1024, USDM).unwrap().streams,
            both
        );
        assert!(matches!(
            route("/market/ws/%E5%B8usdt@aggTrade", "", &symbols, 1024, USDM),
            Err(Refusal::BadStreams(_))
        ));
    }

    #[test]
    fn spot_streams_are_at_ws_and_stream() {
        let spot = MarketApi::of(Market::Spot);
        let symbols = symbols();
        let raw = route("/ws/btcusdt@aggTrade", "", &symbols, 1024, spot).unwrap();
        assert_eq!(
            (raw.form, raw.streams),
            (Form::Raw, vec![StreamId::AggTrade(0)])
        );
        let combined = route("/stream", "streams=ethusdt@aggTrade", &symbols, 1024, spot);
        assert_eq!(combined.unwrap().form, Form::Combined);
        assert!(route("/ws", "", &symbols, 1024, spot).is_ok());
        for usdm_path in ["/market/ws/btcusdt@aggTrade", "/market/stream", "/wss"] {
            assert_eq!(
                route(usdm_path, "", &symbols, 1024, spot),
                Err(Refusal::NotFound),
                "{usdm_path}"
            );
        }
    }

    #[test]
    fn refusals() {
        let symbols = symbols();
        for path in [
            "/ws/btcusdt@aggTrade",
            "/stream",
            "/",
            "/market",
            "/market/wss",
        ] {
            assert_eq!(
                route(path, "", &symbols, 1024, USDM),
                Err(Refusal::NotFound),
                "{path}"
            );
        }
        assert!(matches!(
            route("/market/ws/xrpusdt@aggTrade", "", &symbols, 1024, USDM),
            Err(Refusal::BadStreams(_))
        ));
        assert!(matches!(
            route(
                "/market/stream",
                "streams=btcusdt@aggTrade/ethusdt@aggTrade",
                &symbols,
                1,
                USDM
            ),
            Err(Refusal::BadStreams(_))
        ));
    }
}
