//! The combined-stream URL: `base?streams=a/b/c`, with as many streams as a URL may carry.
//!
//! Streams named in the URL start flowing with the handshake, at no cost to the 5-per-second
//! SUBSCRIBE budget, so as many as fit go there. Request lines much beyond 8 KiB are refused by
//! common HTTP front ends, which bounds the URL. Names are percent-encoded: a URL carries only
//! ASCII, so `币安人生usdt@aggTrade` goes as `%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@aggTrade`
//! (Binance decodes it; ASCII names are written as they are).

use crate::percent;

/// Longest URL we build; streams that do not fit are sent with SUBSCRIBE after connect.
pub const MAX_URL_BYTES: usize = 8000;

/// The URL for `streams` on `base_url` and how many streams (a prefix of `streams`) it names.
pub fn stream_url(base_url: &str, streams: &[String]) -> (String, usize) {
    stream_url_bounded(base_url, streams, MAX_URL_BYTES)
}

fn stream_url_bounded(base_url: &str, streams: &[String], max_bytes: usize) -> (String, usize) {
    let separator = if base_url.contains('?') { '&' } else { '?' };
    let mut url = String::with_capacity(max_bytes.min(base_url.len() + 16 * streams.len() + 16));
    url.push_str(base_url);
    let mut count = 0;
    for stream in streams {
        let lead = if count == 0 { 1 + "streams=".len() } else { 1 };
        if url.len() + lead + percent::encoded_len(stream) > max_bytes {
            break;
        }
        if count == 0 {
            url.push(separator);
            url.push_str("streams=");
        } else {
            url.push('/');
        }
        percent::encode_into(&mut url, stream);
        count += 1;
    }
    (url, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("sym{i:04}usdt@aggTrade")).collect()
    }

    #[test]
    fn streams_are_joined_with_slashes() {
        let (url, count) = stream_url("wss://h/market/stream", &names(2));
        assert_eq!(
            url,
            "wss://h/market/stream?streams=sym0000usdt@aggTrade/sym0001usdt@aggTrade"
        );
        assert_eq!(count, 2);
        let (url, count) = stream_url("ws://h/stream?x=1", &names(1));
        assert_eq!(url, "ws://h/stream?x=1&streams=sym0000usdt@aggTrade");
        assert_eq!(count, 1);
    }

    #[test]
    fn non_ascii_names_are_percent_encoded() {
        let streams = [
            "币安人生usdt@aggTrade".to_owned(),
            "btcusdt@aggTrade".to_owned(),
        ];
        let (url, count) = stream_url("wss://h/market/stream", &streams);
        assert_eq!(
            url,
            "wss://h/market/stream?streams=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@aggTrade/btcusdt@aggTrade"
        );
        assert_eq!(count, 2);
        // The bound counts encoded bytes.
        let (_, fits) = stream_url_bounded("ws://h/s", &streams[..1], 17 + 12 * 3 + 13);
        let (_, too_long) = stream_url_bounded("ws://h/s", &streams[..1], 17 + 12 * 3 + 12);
        assert_eq!((fits, too_long), (1, 0));
    }

    #[test]
    fn no_streams_means_the_bare_base() {
        assert_eq!(stream_url("ws://h/s", &[]), ("ws://h/s".to_string(), 0));
    }

    #[test]
    fn the_url_stops_at_the_bound_and_keeps_order() {
        let streams = names(1024);
        let (url, count) = stream_url("wss://fstream.binance.com/market/stream", &streams);
        assert!(url.len() <= MAX_URL_BYTES);
        assert!(count > 300 && count < 1024, "{count}");
        // One more stream would not have fitted.
        assert!(url.len() + 1 + streams[count].len() > MAX_URL_BYTES);
        assert!(url.ends_with(&streams[count - 1]));
        let (small, n) = stream_url_bounded("ws://h/s", &streams, 40);
        assert_eq!(
            (small.as_str(), n),
            ("ws://h/s?streams=sym0000usdt@aggTrade", 1)
        );
        assert_eq!(stream_url_bounded("ws://h/s", &streams, 20).1, 0);
    }
}
