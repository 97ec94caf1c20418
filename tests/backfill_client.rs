//! The backfill's REST client against a scripted HTTP server on loopback: pages come back as
//! bodies, and Binance's rate-limit answers (429, 418 with `Retry-After`) and other failures
//! are told apart, so the backfill pauses, retries or gives up as each deserves.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use klagg::backfill::{FetchError, From, RestClient, parse_page};
use klagg::config::Market;

/// Serves one scripted response per connection, in order; sends each request line back.
fn scripted(responses: Vec<String>) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (seen, requests) = mpsc::channel();
    thread::spawn(move || {
        for response in responses {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = seen.send(line.trim_end().to_owned());
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            let _ = reader.get_mut().write_all(response.as_bytes());
        }
    });
    (url, requests)
}

fn response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
}

#[test]
fn pages_and_rate_limits_are_told_apart() {
    let page = r#"[{"a":7,"p":"100.5","q":"2","f":70,"l":71,"T":1000,"m":false}]"#;
    let (url, requests) = scripted(vec![
        response("429 Too Many Requests", "Retry-After: 7\r\n", "{}"),
        response("418 I'm a teapot", "Retry-After: 120\r\n", "{}"),
        response("200 OK", "Content-Type: application/json\r\n", page),
        response(
            "400 Bad Request",
            "",
            r#"{"code":-1121,"msg":"Invalid symbol."}"#,
        ),
        response("503 Service Unavailable", "", "busy"),
    ]);
    let client = RestClient::new(&url, Market::Usdm, Duration::from_secs(5));
    assert_eq!(
        client.agg_trades("BTCUSDT", From::Id(7)),
        Err(FetchError::RateLimited(Duration::from_secs(7)))
    );
    assert_eq!(
        requests.recv().unwrap(),
        "GET /fapi/v1/aggTrades?symbol=BTCUSDT&fromId=7&limit=1000 HTTP/1.1"
    );
    assert_eq!(
        client.agg_trades("BTCUSDT", From::Id(7)),
        Err(FetchError::Banned(Duration::from_secs(120)))
    );
    let body = client.agg_trades("BTCUSDT", From::Id(7)).expect("a page");
    let mut trades = Vec::new();
    parse_page(&body, 3, &mut trades).expect("parses");
    assert_eq!(
        (trades.len(), trades[0].agg_id, trades[0].symbol),
        (1, 7, 3)
    );
    match client.agg_trades("NOPE", From::Id(1)) {
        Err(FetchError::Permanent(why)) => assert!(why.contains("HTTP 400"), "{why}"),
        other => panic!("a 400 is permanent: {other:?}"),
    }
    match client.agg_trades("BTCUSDT", From::Id(1)) {
        Err(FetchError::Transient(why)) => assert!(why.contains("HTTP 503"), "{why}"),
        other => panic!("a 503 is worth retrying: {other:?}"),
    }
    // Nobody listens any more: a transport error, worth retrying.
    assert!(matches!(
        client.agg_trades("BTCUSDT", From::Id(1)),
        Err(FetchError::Transient(_))
    ));
}

#[test]
fn a_non_ascii_symbol_is_sent_percent_encoded() {
    let (url, requests) = scripted(vec![
        response("200 OK", "", "[]"),
        response("200 OK", "", "[]"),
    ]);
    let client = RestClient::new(&url, Market::Usdm, Duration::from_secs(5));
    assert_eq!(
        client.agg_trades("币安人生USDT", From::Time(60_000)),
        Ok(b"[]".to_vec())
    );
    assert_eq!(
        requests.recv().unwrap(),
        "GET /fapi/v1/aggTrades?symbol=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT&startTime=60000&limit=1000 HTTP/1.1"
    );
    client
        .klines("币安人生USDT", "1m", 0, 59_999)
        .expect("a page");
    assert!(requests.recv().unwrap().starts_with(
        "GET /fapi/v1/klines?symbol=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT&interval=1m&"
    ));
}
