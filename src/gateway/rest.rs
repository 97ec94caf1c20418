//! `GET /fapi/v1/klines` (spot: `/api/v3/klines`): parameters checked as Binance checks them,
//! rows from the kline database merged with this run's [`History`] (which holds the open kline
//! and any newer version of a stored one). `symbol=` is percent-decoded first: `币安人生USDT` arrives as
//! `%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT`.

use std::collections::BTreeMap;

use super::catalog_index::CatalogIndex;
use super::history::History;
use super::http::query_param;
use crate::egress::write_rest_klines;
use crate::interval::Interval;
use crate::kline::Kline;
use crate::percent;
use crate::store::KlineStore;

/// Rows returned when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 500;

/// Answers a klines request with query `query`, allowing `limit` up to `max_limit` (USD-M
/// 1500, spot 1000): status and JSON body.
pub fn klines(
    query: &str,
    index: &CatalogIndex,
    history: &History,
    store: Option<&KlineStore>,
    max_limit: usize,
) -> (u16, Vec<u8>) {
    match answer(query, index, history, store, max_limit) {
        Ok(body) => (200, body),
        Err((code, msg)) => (400, error_body(code, &msg)),
    }
}

/// Binance's error JSON, `{"code":-1121,"msg":"Invalid symbol."}`.
pub fn error_body(code: i32, msg: &str) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(format!("{{\"code\":{code},\"msg\":").as_bytes());
    crate::egress::json::write_string(&mut out, msg);
    out.push(b'}');
    out
}

/// Both sources answered the same query, each limited the Binance way; their union, with this
/// run's version of a kline winning, limited the same way, is the answer.
fn merge(stored: Vec<Kline>, live: Vec<Kline>, from_start: bool, limit: usize) -> Vec<Kline> {
    let mut all: BTreeMap<i64, Kline> = stored.into_iter().map(|k| (k.open_time, k)).collect();
    all.extend(live.into_iter().map(|k| (k.open_time, k)));
    let rows: Vec<Kline> = all.into_values().collect();
    if from_start {
        rows.into_iter().take(limit).collect()
    } else {
        let skip = rows.len().saturating_sub(limit);
        rows.into_iter().skip(skip).collect()
    }
}

fn mandatory(name: &str) -> (i32, String) {
    (
        -1102,
        format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

fn time_param(query: &str, name: &str) -> Result<Option<i64>, (i32, String)> {
    match query_param(query, name) {
        None => Ok(None),
        Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
            (
                -1100,
                format!("Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."),
            )
        }),
    }
}

fn answer(
    query: &str,
    index: &CatalogIndex,
    history: &History,
    store: Option<&KlineStore>,
    max_limit: usize,
) -> Result<Vec<u8>, (i32, String)> {
    let raw_symbol = query_param(query, "symbol")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| mandatory("symbol"))?;
    let interval = query_param(query, "interval")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| mandatory("interval"))?;
    let name = percent::decode_query_value(raw_symbol).map_err(|_| {
        (
            -1100,
            format!(
                "Illegal characters found in parameter 'symbol': {raw_symbol:?} is not \
                 percent-encoded UTF-8 (e.g. %E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT for 币安人生USDT)."
            ),
        )
    })?;
    let (symbol, decimals) = index
        .symbol(&name)
        .ok_or_else(|| (-1121, "Invalid symbol.".to_owned()))?;
    // The database keys rows by the exchange's spelling, whatever case the query used.
    let name = index
        .symbol_at(symbol)
        .map_or(name.as_ref(), |(known, _)| known.as_str());
    let parsed = Interval::parse(interval).ok();
    let interval = parsed
        .and_then(|i| index.interval(i))
        .ok_or_else(|| (-1120, "Invalid interval.".to_owned()))?;
    let start = time_param(query, "startTime")?;
    let end = time_param(query, "endTime")?;
    let limit = match query_param(query, "limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max_limit).contains(&n) => n,
            _ => {
                return Err((
                    -1130,
                    format!(
                        "Data sent for parameter 'limit' is not valid: {text:?}; \
                         it is 1 to {max_limit}."
                    ),
                ));
            }
        },
    };
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err((-1023, "Start time is greater than end time.".to_owned()));
    }
    let mut rows = history.query((symbol, interval), start, end, limit);
    if let (Some(store), Some(parsed)) = (store, parsed) {
        match store.klines(name, parsed, start, end, limit) {
            Ok(stored) => rows = merge(stored, rows, start.is_some(), limit),
            Err(e) => {
                log::warn!("gateway: klines from the database failed, serving this run's: {e}")
            }
        }
    }
    let mut body = Vec::with_capacity(rows.len() * 160 + 2);
    write_rest_klines(&mut body, &rows, decimals);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(open_time: i64, close: i64) -> Kline {
        Kline::empty(open_time, open_time + 59_999, close)
    }

    #[test]
    fn the_symbol_parameter_is_percent_decoded() {
        let two = crate::egress::Decimals::new(2, 2);
        let index = CatalogIndex::new(crate::gateway::Catalog {
            symbols: vec![
                ("BTCUSDT".to_owned(), two),
                ("币安人生USDT".to_owned(), two),
            ],
            intervals: Interval::parse_list("1m").unwrap(),
            live: None,
        });
        let mut history = History::new(10);
        history.close((1, 0), &k(60_000, 4_200_000_000));
        let body = |query: &str| {
            let (status, body) = klines(query, &index, &history, None, 1500);
            (status, String::from_utf8(body).unwrap())
        };
        for symbol in [
            "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT",
            "%e5%b8%81%e5%ae%89%e4%ba%ba%e7%94%9fusdt",
            "币安人生USDT",
        ] {
            let (status, text) = body(&format!("symbol={symbol}&interval=1m"));
            assert_eq!(status, 200, "{symbol}: {text}");
            assert!(text.starts_with("[[60000,\"42.00\""), "{symbol}: {text}");
        }
        let (status, text) = body("symbol=%E5%B8%81%E5%AE%89&interval=1m");
        assert_eq!(
            (status, text.as_str()),
            (400, r#"{"code":-1121,"msg":"Invalid symbol."}"#)
        );
        let (status, text) = body("symbol=%E5%B8&interval=1m");
        assert_eq!(status, 400);
        assert!(
            text.contains("-1100")
                && text.contains("%E5%B8")
                && text.contains("percent-encoded UTF-8"),
            "{text}"
        );
    }

    #[test]
    fn merge_prefers_this_runs_version_and_limits_like_binance() {
        let stored = vec![k(0, 1), k(60_000, 2), k(120_000, 3)];
        let live = vec![k(120_000, 30), k(180_000, 4)];
        let latest = merge(stored.clone(), live.clone(), false, 3);
        let closes: Vec<(i64, i64)> = latest.iter().map(|k| (k.open_time, k.close)).collect();
        assert_eq!(closes, [(60_000, 2), (120_000, 30), (180_000, 4)]);
        let first = merge(stored, live, true, 2);
        assert_eq!(
            first.iter().map(|k| k.open_time).collect::<Vec<_>>(),
            [0, 60_000]
        );
    }
}
