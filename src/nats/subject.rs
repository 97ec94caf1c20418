//! Subjects of the klines on NATS, and the reversible encoding of symbols that are not valid
//! subject tokens.
//!
//! `<prefix>.kline.<market>.<SYMBOL>.<interval>` carries every kline event (open updates and
//! the closing one, core NATS), `<prefix>.closed.<market>.<SYMBOL>.<interval>` the closed
//! klines kept in JetStream. A symbol made only of `A-Z`, `0-9` and `_` (every Binance symbol
//! but the new non-ASCII ones) is its own token; any other is `~` followed by the lowercase hex
//! of its UTF-8 bytes (`币安人生USDT` is `~e5b881e5ae89e4babae7949f55534454`). `~` never
//! starts a plain token, so decoding is unambiguous, and the encoded token is also a valid
//! JetStream KV key and `Nats-Msg-Id` part.

use std::fmt::Write;

use crate::config::Market;
use crate::interval::Interval;

/// True for a symbol that is its own subject token.
fn plain(symbol: &str) -> bool {
    !symbol.is_empty()
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Appends `symbol` as a subject token.
pub fn push_symbol_token(out: &mut String, symbol: &str) {
    if plain(symbol) {
        out.push_str(symbol);
        return;
    }
    out.push('~');
    for byte in symbol.bytes() {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
}

/// `symbol` as a subject token.
pub fn symbol_token(symbol: &str) -> String {
    let mut out = String::with_capacity(symbol.len() * 2 + 1);
    push_symbol_token(&mut out, symbol);
    out
}

/// The symbol a token stands for; `None` for a token no symbol encodes to.
pub fn symbol_of_token(token: &str) -> Option<String> {
    let Some(hex) = token.strip_prefix('~') else {
        return plain(token).then(|| token.to_owned());
    };
    if hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            let pair = hex.get(i..i + 2)?;
            if pair.bytes().any(|b| b.is_ascii_uppercase()) {
                return None;
            }
            u8::from_str_radix(pair, 16).ok()
        })
        .collect();
    let symbol = String::from_utf8(bytes?).ok()?;
    // A plain symbol has one token only: its hex form is not another name for it.
    (!plain(&symbol)).then_some(symbol)
}

/// Which of the two subject families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Every kline event, core NATS.
    Kline,
    /// Closed klines, the JetStream stream.
    Closed,
}

impl Family {
    fn token(self) -> &'static str {
        match self {
            Family::Kline => "kline",
            Family::Closed => "closed",
        }
    }
}

/// `<prefix>.<family>.<market>.<token>.<interval>`.
pub fn subject(
    prefix: &str,
    family: Family,
    market: Market,
    symbol: &str,
    interval: Interval,
) -> String {
    let mut out = String::with_capacity(prefix.len() + 40 + symbol.len() * 2);
    out.push_str(prefix);
    out.push('.');
    out.push_str(family.token());
    out.push('.');
    out.push_str(market.name());
    out.push('.');
    push_symbol_token(&mut out, symbol);
    out.push('.');
    let _ = write!(out, "{interval}");
    out
}

/// The wildcard of every subject of `family` under `prefix`, for streams and subscriptions.
pub fn wildcard(prefix: &str, family: Family) -> String {
    format!("{prefix}.{}.>", family.token())
}

/// A subject taken apart: market, symbol and interval; `None` when it is not one of ours.
pub fn parse_subject(prefix: &str, subject: &str) -> Option<(Family, Market, String, Interval)> {
    let rest = subject.strip_prefix(prefix)?.strip_prefix('.')?;
    let mut tokens = rest.split('.');
    let family = match tokens.next()? {
        "kline" => Family::Kline,
        "closed" => Family::Closed,
        _ => return None,
    };
    let market = tokens.next()?.parse().ok()?;
    let symbol = symbol_of_token(tokens.next()?)?;
    let interval = Interval::parse(tokens.next()?).ok()?;
    if tokens.next().is_some() {
        return None;
    }
    Some((family, market, symbol, interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_symbols_stay_and_others_round_trip() {
        assert_eq!(symbol_token("BTCUSDT"), "BTCUSDT");
        assert_eq!(symbol_token("BTCUSDT_250328"), "BTCUSDT_250328");
        let odd = symbol_token("币安人生USDT");
        assert_eq!(odd, "~e5b881e5ae89e4babae7949f55534454");
        for symbol in ["币安人生USDT", "a.b", "X*>", "BTC USDT", "btcusdt", "~AB"] {
            let token = symbol_token(symbol);
            assert!(!token.contains(['.', '*', '>', ' ']), "{token}");
            assert_eq!(symbol_of_token(&token).as_deref(), Some(symbol));
        }
        // Not an encoding of anything: odd length, bad hex, upper-case hex, a plain name hexed.
        for token in ["~", "~e", "~zz", "~4A", "~414243", "btc", ""] {
            assert_eq!(symbol_of_token(token), None, "{token}");
        }
    }

    #[test]
    fn subjects_parse_back() {
        let iv = Interval::parse("1m").unwrap();
        let s = subject("klagg", Family::Kline, Market::Usdm, "币安人生USDT", iv);
        assert_eq!(s, "klagg.kline.usdm.~e5b881e5ae89e4babae7949f55534454.1m");
        let (family, market, symbol, interval) = parse_subject("klagg", &s).unwrap();
        assert_eq!(
            (family, market, symbol.as_str(), interval),
            (Family::Kline, Market::Usdm, "币安人生USDT", iv)
        );
        let closed = subject(
            "k",
            Family::Closed,
            Market::Spot,
            "ETHBTC",
            Interval::parse("1M").unwrap(),
        );
        assert_eq!(closed, "k.closed.spot.ETHBTC.1M");
        assert!(parse_subject("klagg", &closed).is_none());
        assert!(parse_subject("klagg", "klagg.kline.usdm.BTCUSDT.7x").is_none());
        assert_eq!(wildcard("klagg", Family::Closed), "klagg.closed.>");
    }
}
