//! `GET /fapi/v1/klines`: parameters checked as Binance checks them, rows from [`History`].

use super::catalog_index::CatalogIndex;
use super::history::History;
use super::http::query_param;
use crate::egress::write_rest_klines;
use crate::interval::Interval;

/// Rows returned when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 500;
/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 1500;

/// Answers a klines request with query `query`: status and JSON body.
pub fn klines(query: &str, index: &CatalogIndex, history: &History) -> (u16, Vec<u8>) {
    match answer(query, index, history) {
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

fn answer(query: &str, index: &CatalogIndex, history: &History) -> Result<Vec<u8>, (i32, String)> {
    let symbol = query_param(query, "symbol")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| mandatory("symbol"))?;
    let interval = query_param(query, "interval")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| mandatory("interval"))?;
    let (symbol, decimals) = index
        .symbol(symbol)
        .ok_or_else(|| (-1121, "Invalid symbol.".to_owned()))?;
    let interval = Interval::parse(interval)
        .ok()
        .and_then(|i| index.interval(i))
        .ok_or_else(|| (-1120, "Invalid interval.".to_owned()))?;
    let start = time_param(query, "startTime")?;
    let end = time_param(query, "endTime")?;
    let limit = match query_param(query, "limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err((
                    -1130,
                    "Data sent for parameter 'limit' is not valid.".to_owned(),
                ));
            }
        },
    };
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err((-1023, "Start time is greater than end time.".to_owned()));
    }
    let rows = history.query((symbol, interval), start, end, limit);
    let mut body = Vec::with_capacity(rows.len() * 160 + 2);
    write_rest_klines(&mut body, &rows, decimals);
    Ok(body)
}
