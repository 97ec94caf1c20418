//! The HTTP side of a blast server: one request per TCP connection, either a REST call
//! (`exchangeInfo`, `time`, `ping`) answered and closed, or a WebSocket upgrade on the
//! combined-stream path.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use tungstenite::handshake::derive_accept_key;

use super::market::{BlastMarket, PRICE_DECIMALS, QUANTITY_DECIMALS};
use crate::pipeline::now_ms;

/// Longest request head read.
const MAX_HEAD: usize = 16 * 1024;

/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A WebSocket upgrade asking for these streams (as named in `?streams=`).
    Streams {
        /// The stream names.
        streams: Vec<String>,
        /// The client's `Sec-WebSocket-Key`.
        key: String,
    },
    /// A plain GET of this path (query removed).
    Get(String),
}

/// Reads one request head from `stream`.
///
/// # Errors
///
/// The socket failed, the head is too long or not HTTP.
pub fn read_request(stream: &mut TcpStream) -> io::Result<Request> {
    stream.set_read_timeout(Some(HEAD_TIMEOUT))?;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    // Byte-exact: read until the blank line, never past it (the client speaks only after the
    // answer, so nothing follows in practice).
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut chunk[..1])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed mid-request",
            ));
        }
        head.extend_from_slice(&chunk[..n]);
        if head.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too long",
            ));
        }
    }
    stream.set_read_timeout(None)?;
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not an HTTP request",
            ));
        }
    }
    let target = request.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let key = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
        .map(|h| String::from_utf8_lossy(h.value).trim().to_owned());
    match key {
        Some(key) => {
            let streams = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("streams="))
                .map(|list| list.split('/').map(str::to_owned).collect())
                .unwrap_or_default();
            Ok(Request::Streams { streams, key })
        }
        None => Ok(Request::Get(path.to_owned())),
    }
}

/// Answers a WebSocket upgrade.
///
/// # Errors
///
/// The socket failed.
pub fn accept_upgrade(stream: &mut TcpStream, key: &str) -> io::Result<()> {
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    stream.write_all(answer.as_bytes())
}

/// Answers a GET of `path` and leaves the connection to be closed.
///
/// # Errors
///
/// The socket failed.
pub fn answer_get(stream: &mut TcpStream, path: &str, market: &BlastMarket) -> io::Result<()> {
    let (status, body) = match path {
        "/fapi/v1/exchangeInfo" => ("200 OK", exchange_info(market).to_string()),
        "/fapi/v1/time" => ("200 OK", json!({ "serverTime": now_ms() }).to_string()),
        "/fapi/v1/ping" => ("200 OK", "{}".to_owned()),
        _ => (
            "404 Not Found",
            json!({ "code": -1, "msg": format!("klagg blast serves no {path}") }).to_string(),
        ),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())
}

/// USD-M's exchangeInfo of the market: every symbol a TRADING USDT perpetual.
fn exchange_info(market: &BlastMarket) -> Value {
    let symbols: Vec<Value> = market
        .names()
        .iter()
        .map(|name| {
            json!({
                "symbol": name,
                "pair": name,
                "contractType": "PERPETUAL",
                "status": "TRADING",
                "baseAsset": name.trim_end_matches("USDT"),
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
                "pricePrecision": PRICE_DECIMALS,
                "quantityPrecision": QUANTITY_DECIMALS,
                "filters": [
                    { "filterType": "PRICE_FILTER", "tickSize": "0.01" },
                    { "filterType": "LOT_SIZE", "stepSize": "0.001" },
                ],
            })
        })
        .collect();
    json!({
        "timezone": "UTC",
        "serverTime": now_ms(),
        "futuresType": "U_MARGINED",
        "rateLimits": [],
        "exchangeFilters": [],
        "assets": [],
        "symbols": symbols,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Market;
    use crate::ingress::exchange_info::parse;

    #[test]
    fn exchange_info_lists_every_symbol_for_all() {
        let market = BlastMarket::new(3, 1).unwrap();
        let listed = parse(&exchange_info(&market).to_string()).unwrap();
        assert_eq!(listed.len(), 3);
        assert!(listed.iter().all(|s| s.is_selected(Market::Usdm, "USDT")));
        assert_eq!(listed[2].symbol, "S0002USDT");
        assert_eq!(listed[0].price_decimals, Some(2));
    }
}
