//! Which WebSocket paths exist and what a connection starts subscribed to:
//! `/market/stream?streams=a/b` (combined envelope) and `/market/ws[/a/b]` (raw events). Stream
//! names arrive percent-encoded when their symbol is not ASCII (`%E5%B8%81...usdt@aggTrade`),
//! in the query and in the path alike.

use super::encode::Form;
use super::http::query_pairs;
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

/// Resolves a WebSocket request's path and query.
pub(crate) fn route(
    path: &str,
    query: &str,
    symbols: &SymbolTable,
    max_streams: usize,
) -> Result<Route, Refusal> {
    let (form, names) = match path {
        "/market/stream" | "/market/stream/" => {
            let streams = query_pairs(query)
                .into_iter()
                .find(|(name, _)| name == "streams")
                .map(|(_, value)| value)
                .unwrap_or_default();
            (Form::Combined, streams)
        }
        "/market/ws" | "/market/ws/" => (Form::Raw, String::new()),
        _ => match path.strip_prefix("/market/ws/") {
            Some(names) => {
                let names = percent::decode(names)
                    .map_err(|e| Refusal::BadStreams(format!("Invalid request: {names}: {e}")))?;
                (Form::Raw, names.into_owned())
            }
            None => return Err(Refusal::NotFound),
        },
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
    use crate::sim::SymbolSpec;

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
        )
        .unwrap();
        assert_eq!(combined.form, Form::Combined);
        assert_eq!(
            combined.streams,
            [StreamId::AggTrade(1), StreamId::MiniTickers]
        );
        let raw = route("/market/ws/btcusdt@aggTrade", "", &symbols, 1024).unwrap();
        assert_eq!(
            (raw.form, raw.streams),
            (Form::Raw, vec![StreamId::AggTrade(0)])
        );
        assert!(
            route("/market/ws", "", &symbols, 1024)
                .unwrap()
                .streams
                .is_empty()
        );
        assert!(
            route("/market/stream", "", &symbols, 1024)
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
        let combined = route("/market/stream", &query, &symbols, 1024).unwrap();
        let both = [StreamId::AggTrade(2), StreamId::AggTrade(0)];
        assert_eq!(combined.streams, both);
        let path = format!("/market/ws/{encoded}/btcusdt@aggTrade");
        assert_eq!(route(&path, "", &symbols, 1024).unwrap().streams, both);
        assert!(matches!(
            route("/market/ws/%E5%B8usdt@aggTrade", "", &symbols, 1024),
            Err(Refusal::BadStreams(_))
        ));
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
                route(path, "", &symbols, 1024),
                Err(Refusal::NotFound),
                "{path}"
            );
        }
        assert!(matches!(
            route("/market/ws/xrpusdt@aggTrade", "", &symbols, 1024),
            Err(Refusal::BadStreams(_))
        ));
        assert!(matches!(
            route(
                "/market/stream",
                "streams=btcusdt@aggTrade/ethusdt@aggTrade",
                &symbols,
                1
            ),
            Err(Refusal::BadStreams(_))
        ));
    }
}
