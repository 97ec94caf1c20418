//! What the demo shows while it runs: a table of symbols with their live 1m and 1h klines and a
//! status line in a terminal, or one plain status line per second otherwise.

use std::fmt::Write as _;

use crate::decimal::Scaled;
use crate::kline::Kline;
use crate::sim::SymbolSpec;

/// Symbols shown in the table (the rest are counted in the status line only).
pub const TABLE_ROWS: usize = 20;

/// The numbers of the status line.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatusLine {
    /// Seconds since the demo started.
    pub elapsed_s: f64,
    /// Frames per second over the last refresh.
    pub msgs_per_s: f64,
    /// Trades applied by the shards.
    pub trades: u64,
    /// Closed klines received by the demo's consumer.
    pub klines_closed: u64,
    /// Trades dropped anywhere (late, invalid, at shutdown) plus closed klines missed.
    pub drops: u64,
    /// Reconnects of the engine's connections.
    pub reconnects: u64,
    /// Socket-to-kline latency percentiles over the last second, in µs.
    pub p50_us: Option<f64>,
    /// See `p50_us`.
    pub p99_us: Option<f64>,
}

impl std::fmt::Display for StatusLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} µs"));
        write!(
            f,
            "{:6.1}s  {:>7.0} msgs/s  trades {}  klines closed {}  drops {}  reconnects {}  latency p50 {}  p99 {}",
            self.elapsed_s,
            self.msgs_per_s,
            self.trades,
            self.klines_closed,
            self.drops,
            self.reconnects,
            us(self.p50_us),
            us(self.p99_us)
        )
    }
}

/// One table row: a symbol's current 1m and 1h klines.
#[derive(Debug, Clone, Copy, Default)]
pub struct Row {
    /// The open 1m kline, once the symbol has traded.
    pub minute: Option<Kline>,
    /// The open 1h kline.
    pub hour: Option<Kline>,
}

/// Draws the whole screen: cursor home, the table, the status line, clear to the end.
pub fn screen(title: &str, symbols: &[SymbolSpec], rows: &[Row], status: &StatusLine) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str("\x1b[H");
    let _ = writeln!(out, "{title}\x1b[K");
    let _ = writeln!(
        out,
        "{:<14} {:>12} {:>12} {:>12} {:>12} {:>14} {:>6} | {:>12} {:>16}\x1b[K",
        "symbol", "1m open", "high", "low", "close", "volume", "trades", "1h close", "1h volume"
    );
    for (spec, row) in symbols.iter().zip(rows).take(TABLE_ROWS) {
        let price = |v: i64| {
            Scaled {
                value: i128::from(v),
                scale: 8,
                min_frac: spec.price_decimals,
            }
            .to_string()
        };
        let qty = |v: i128| {
            Scaled {
                value: v,
                scale: 8,
                min_frac: spec.quantity_decimals,
            }
            .to_string()
        };
        match (row.minute, row.hour) {
            (Some(m), Some(h)) => {
                let _ = writeln!(
                    out,
                    "{:<14} {:>12} {:>12} {:>12} {:>12} {:>14} {:>6} | {:>12} {:>16}\x1b[K",
                    spec.name,
                    price(m.open),
                    price(m.high),
                    price(m.low),
                    price(m.close),
                    qty(m.volume),
                    m.count,
                    price(h.close),
                    qty(h.volume)
                );
            }
            _ => {
                let _ = writeln!(out, "{:<14} {:>12}\x1b[K", spec.name, "no trade yet");
            }
        }
    }
    if symbols.len() > TABLE_ROWS {
        let _ = writeln!(
            out,
            "... and {} more symbols\x1b[K",
            symbols.len() - TABLE_ROWS
        );
    }
    let _ = writeln!(out, "\x1b[K\n{status}\x1b[K\x1b[J");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_shows_exact_decimals_and_the_status() {
        let spec = SymbolSpec {
            name: "BTCUSDT".into(),
            price_decimals: 2,
            quantity_decimals: 3,
            listed_at_ms: None,
        };
        let mut k = Kline::empty(0, 59_999, 3_700_010_000_000);
        k.volume = 500_000;
        k.count = 3;
        let status = StatusLine {
            trades: 3,
            p50_us: Some(12.34),
            ..StatusLine::default()
        };
        let text = screen(
            "demo",
            &[spec],
            &[Row {
                minute: Some(k),
                hour: Some(k),
            }],
            &status,
        );
        assert!(text.contains("37000.10"), "{text}");
        assert!(text.contains("0.005"), "{text}");
        assert!(text.contains("p50 12.3 µs"), "{text}");
        assert!(text.contains("p99 -"), "{text}");
    }
}
