//! Each symbol's mini ticker (`24hrMiniTicker`) and the `!miniTicker@arr` event built from them.
//!
//! The simulator's "24 hours" is its whole run: open is the first trade's price, high, low and
//! volumes cover every trade since. The engine only reads the symbol names from this stream (to
//! spot new listings), so a rolling window would cost memory for nothing.

use std::io::Write;

use super::encode::{write_decimal_field, write_price, write_quantity, write_quote};
use super::symbols::SymbolTable;
use crate::sim::SimTrade;

/// One symbol's ticker since its first trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ticker {
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    /// Σ quantity (1e-8).
    volume: i128,
    /// Σ price·quantity (1e-16).
    quote_volume: i128,
}

/// Every symbol's ticker, `None` until the symbol trades.
#[derive(Debug)]
pub(crate) struct Tickers {
    per_symbol: Vec<Option<Ticker>>,
}

impl Tickers {
    /// No tickers yet for `n_symbols` symbols.
    pub(crate) fn new(n_symbols: usize) -> Tickers {
        Tickers {
            per_symbol: vec![None; n_symbols],
        }
    }

    /// Folds a published trade into its symbol's ticker.
    pub(crate) fn record(&mut self, trade: &SimTrade) {
        let Some(slot) = self.per_symbol.get_mut(trade.symbol as usize) else {
            return;
        };
        let quantity = i128::from(trade.quantity);
        let ticker = slot.get_or_insert(Ticker {
            open: trade.price,
            high: trade.price,
            low: trade.price,
            close: trade.price,
            volume: 0,
            quote_volume: 0,
        });
        ticker.high = ticker.high.max(trade.price);
        ticker.low = ticker.low.min(trade.price);
        ticker.close = trade.price;
        ticker.volume += quantity;
        ticker.quote_volume += quantity * i128::from(trade.price);
    }

    /// Appends the `!miniTicker@arr` event (a JSON array) for every symbol `listed` that has
    /// traded; returns how many elements it wrote.
    pub(crate) fn write_event(
        &self,
        out: &mut Vec<u8>,
        symbols: &SymbolTable,
        listed: &[bool],
        event_time_ms: i64,
    ) -> usize {
        out.push(b'[');
        let mut written = 0;
        for ((ticker, symbol), &listed) in self.per_symbol.iter().zip(symbols.iter()).zip(listed) {
            let Some(ticker) = ticker.filter(|_| listed) else {
                continue;
            };
            if written > 0 {
                out.push(b',');
            }
            written += 1;
            // Writing into a Vec cannot fail.
            let _ = write!(
                out,
                "{{\"e\":\"24hrMiniTicker\",\"E\":{event_time_ms},\"s\":\"{}\",",
                symbol.spec.name
            );
            write_decimal_field(out, "c", |out| write_price(out, symbol, ticker.close));
            out.push(b',');
            write_decimal_field(out, "o", |out| write_price(out, symbol, ticker.open));
            out.push(b',');
            write_decimal_field(out, "h", |out| write_price(out, symbol, ticker.high));
            out.push(b',');
            write_decimal_field(out, "l", |out| write_price(out, symbol, ticker.low));
            out.push(b',');
            write_decimal_field(out, "v", |out| write_quantity(out, symbol, ticker.volume));
            out.push(b',');
            write_decimal_field(out, "q", |out| write_quote(out, ticker.quote_volume));
            out.push(b'}');
        }
        out.push(b']');
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SymbolSpec;

    fn spec(name: &str) -> SymbolSpec {
        SymbolSpec {
            name: name.into(),
            price_decimals: 1,
            quantity_decimals: 0,
            listed_at_ms: None,
        }
    }

    fn trade(symbol: u32, price: i64, quantity: i64) -> SimTrade {
        SimTrade {
            symbol,
            agg_id: 1,
            price,
            quantity,
            first_trade_id: 1,
            last_trade_id: 1,
            time_ms: 0,
            is_buyer_maker: false,
        }
    }

    #[test]
    fn only_listed_symbols_that_traded_appear() {
        let symbols = SymbolTable::new(vec![spec("AUSDT"), spec("BUSDT"), spec("CUSDT")]);
        let mut tickers = Tickers::new(3);
        tickers.record(&trade(0, 250_000_000, 200_000_000));
        tickers.record(&trade(0, 150_000_000, 100_000_000));
        tickers.record(&trade(2, 100_000_000, 100_000_000));
        let mut out = Vec::new();
        let n = tickers.write_event(&mut out, &symbols, &[true, true, false], 7);
        assert_eq!(n, 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"[{"e":"24hrMiniTicker","E":7,"s":"AUSDT","c":"1.5","o":"2.5","h":"2.5","l":"1.5","v":"3","q":"6.50000000"}]"#
        );
    }
}
