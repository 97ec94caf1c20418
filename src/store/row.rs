//! One kline as a database row: the column list, the upsert, and the exact text codec per field.

use rusqlite::Row;
use rusqlite::types::Type;

use super::decimal_text::{BASE_SCALE, QUOTE_SCALE, write_decimal};
use crate::decimal::parse_scaled;
use crate::kline::Kline;

/// Inserts a kline, or replaces every field of the stored one with the same key: a later
/// version of a period (a correction, or the closed state of a period stored while open) wins.
pub(crate) const UPSERT: &str = "
INSERT INTO klines (symbol, interval, open_time, close_time, open, high, low, close, volume,
    quote_volume, count, taker_buy_volume, taker_buy_quote_volume, first_trade_id, last_trade_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
ON CONFLICT (symbol, interval, open_time) DO UPDATE SET
    close_time = excluded.close_time,
    open = excluded.open,
    high = excluded.high,
    low = excluded.low,
    close = excluded.close,
    volume = excluded.volume,
    quote_volume = excluded.quote_volume,
    count = excluded.count,
    taker_buy_volume = excluded.taker_buy_volume,
    taker_buy_quote_volume = excluded.taker_buy_quote_volume,
    first_trade_id = excluded.first_trade_id,
    last_trade_id = excluded.last_trade_id";

/// The columns [`decode`] reads, in its order.
pub(crate) const SELECT_COLUMNS: &str = "open_time, close_time, open, high, low, close, volume, \
     quote_volume, count, taker_buy_volume, taker_buy_quote_volume, first_trade_id, last_trade_id";

/// The eight decimal fields of one kline as text, in buffers reused from row to row so a large
/// batch does not allocate eight strings per kline.
#[derive(Debug, Default)]
pub(crate) struct KlineText {
    pub(crate) open: String,
    pub(crate) high: String,
    pub(crate) low: String,
    pub(crate) close: String,
    pub(crate) volume: String,
    pub(crate) quote_volume: String,
    pub(crate) taker_buy_volume: String,
    pub(crate) taker_buy_quote_volume: String,
}

impl KlineText {
    /// Fills the buffers with `k`'s exact decimals.
    pub(crate) fn fill(&mut self, k: &Kline) {
        write_decimal(&mut self.open, i128::from(k.open), BASE_SCALE);
        write_decimal(&mut self.high, i128::from(k.high), BASE_SCALE);
        write_decimal(&mut self.low, i128::from(k.low), BASE_SCALE);
        write_decimal(&mut self.close, i128::from(k.close), BASE_SCALE);
        write_decimal(&mut self.volume, k.volume, BASE_SCALE);
        write_decimal(&mut self.quote_volume, k.quote_volume, QUOTE_SCALE);
        write_decimal(&mut self.taker_buy_volume, k.taker_buy_volume, BASE_SCALE);
        write_decimal(
            &mut self.taker_buy_quote_volume,
            k.taker_buy_quote_volume,
            QUOTE_SCALE,
        );
    }
}

/// A stored decimal that does not read back exactly at its column's scale.
#[derive(Debug)]
struct BadDecimal {
    found: String,
    scale: u32,
}

impl std::fmt::Display for BadDecimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} is not an exact decimal with at most {} fractional digits",
            self.found, self.scale
        )
    }
}

impl std::error::Error for BadDecimal {}

/// Reads a row selected with [`SELECT_COLUMNS`] back into the exact kline it was written from.
///
/// A value that cannot be read exactly (NULL, not a decimal, out of range) is a conversion
/// error, which the store reports as [`super::StoreErrorKind::BadValue`].
pub(crate) fn decode(row: &Row<'_>) -> rusqlite::Result<Kline> {
    Ok(Kline {
        open_time: row.get(0)?,
        close_time: row.get(1)?,
        open: price(row, 2)?,
        high: price(row, 3)?,
        low: price(row, 4)?,
        close: price(row, 5)?,
        volume: decimal(row, 6, BASE_SCALE)?,
        quote_volume: decimal(row, 7, QUOTE_SCALE)?,
        count: row.get(8)?,
        taker_buy_volume: decimal(row, 9, BASE_SCALE)?,
        taker_buy_quote_volume: decimal(row, 10, QUOTE_SCALE)?,
        first_trade_id: row.get(11)?,
        last_trade_id: row.get(12)?,
    })
}

fn decimal(row: &Row<'_>, index: usize, scale: u32) -> rusqlite::Result<i128> {
    let found: String = row.get(index)?;
    parse_scaled(&found, scale).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            Box::new(BadDecimal { found, scale }),
        )
    })
}

fn price(row: &Row<'_>, index: usize) -> rusqlite::Result<i64> {
    let value = decimal(row, index, BASE_SCALE)?;
    i64::try_from(value)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}
