//! One row of a Binance Data Vision aggTrades CSV, parsed into a trade without allocating.
//!
//! Both markets share the column order
//! `agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker[,is_best_match]`
//! but differ in the details, all of which are accepted here:
//!
//! * USD-M futures: a header line, 7 columns, `true`/`false`, millisecond times.
//! * Spot: no header (some older files have one), 8 columns, `True`/`False`, and since 2025
//!   microsecond times. Times are told apart per row by magnitude, so a file that switches
//!   units midway is still read right.

use crate::decimal::parse_fixed;
use crate::trade::AggTradePayload;

use super::error::RowProblem;

/// Column names in file order, used to name the field at fault in messages.
pub const COLUMNS: [&str; 8] = [
    "agg_trade_id",
    "price",
    "quantity",
    "first_trade_id",
    "last_trade_id",
    "transact_time",
    "is_buyer_maker",
    "is_best_match",
];

/// A `transact_time` at or above this is in microseconds: 10^14 ms is the year 5138, while
/// 10^14 µs is 1973, before any Binance trade, so the two ranges cannot be confused.
pub const MICROS_THRESHOLD: i64 = 100_000_000_000_000;

/// Fewest columns a row may have (futures); spot adds `is_best_match`.
const MIN_COLUMNS: usize = 7;

/// True when `line` (the first non-empty line of a file) is a header rather than a trade: its
/// first field is not a number. Older spot files and all futures files start with one.
pub fn is_header(line: &[u8]) -> bool {
    let first = line.split(|&b| b == b',').next().unwrap_or_default();
    first.is_empty() || !first.iter().all(u8::is_ascii_digit)
}

/// Parses one data row (without its line ending) into a trade of symbol index `symbol`.
///
/// The event time is set to the trade time: Data Vision does not record when the trade was
/// published.
pub fn parse_row(line: &[u8], symbol: u32) -> Result<AggTradePayload, RowProblem> {
    // Splitting into a fixed array keeps the row on the stack; a ninth field means the row is
    // bad whatever it holds, so counting stops mattering past it.
    let mut fields: [&[u8]; COLUMNS.len()] = [&[]; COLUMNS.len()];
    let mut n = 0;
    for field in line.split(|&b| b == b',') {
        if n == COLUMNS.len() {
            let found = line.split(|&b| b == b',').count();
            return Err(RowProblem::row(
                line,
                format_args!("expected 7 or 8 fields, found {found}"),
            ));
        }
        fields[n] = field;
        n += 1;
    }
    if n < MIN_COLUMNS {
        return Err(RowProblem::row(
            line,
            format_args!("expected 7 or 8 fields, found {n}"),
        ));
    }
    let field_error = |index: usize, cause: &dyn std::fmt::Display| {
        RowProblem::column(index, COLUMNS[index], fields[index], cause)
    };
    let int = |index: usize| parse_uint(fields[index]).map_err(|e| field_error(index, &e));
    let decimal = |index: usize| parse_fixed(fields[index]).map_err(|e| field_error(index, &e));
    let boolean = |index: usize| parse_bool(fields[index]).map_err(|e| field_error(index, &e));

    let agg_id = int(0)?;
    let price = decimal(1)?;
    let quantity = decimal(2)?;
    let first_trade_id = int(3)?;
    let last_trade_id = int(4)?;
    let time = int(5)?;
    let is_buyer_maker = boolean(6)?;
    if n == COLUMNS.len() {
        // Unused, but a malformed value here means the row is not what we think it is.
        boolean(7)?;
    }
    let trade_time_ms = if time >= MICROS_THRESHOLD {
        time / 1_000
    } else {
        time
    };
    Ok(AggTradePayload {
        symbol,
        is_buyer_maker,
        price,
        quantity,
        agg_id,
        first_trade_id,
        last_trade_id,
        trade_time_ms,
        event_time_ms: trade_time_ms,
    })
}

/// Why an integer or boolean field was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    /// The field is empty.
    Empty,
    /// A byte other than an ASCII digit, at this 0-based position.
    InvalidByte {
        /// Byte index in the field.
        position: usize,
        /// The byte.
        byte: u8,
    },
    /// The number does not fit an `i64`.
    TooLarge,
    /// Not one of `true`, `false`, `True`, `False`.
    NotBool,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            FieldError::Empty => f.write_str("empty field"),
            FieldError::InvalidByte { position, byte } if byte.is_ascii_graphic() => {
                write!(
                    f,
                    "invalid byte '{}' at position {position} in integer",
                    char::from(byte)
                )
            }
            FieldError::InvalidByte { position, byte } => {
                write!(
                    f,
                    "invalid byte 0x{byte:02x} at position {position} in integer"
                )
            }
            FieldError::TooLarge => f.write_str("integer too large"),
            FieldError::NotBool => f.write_str("expected true, false, True or False"),
        }
    }
}

/// Strict unsigned integer: ASCII digits only (no sign, no spaces), fitting an `i64`.
pub fn parse_uint(text: &[u8]) -> Result<i64, FieldError> {
    if text.is_empty() {
        return Err(FieldError::Empty);
    }
    let mut value: i64 = 0;
    for (position, &byte) in text.iter().enumerate() {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return Err(FieldError::InvalidByte { position, byte });
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(digit)))
            .ok_or(FieldError::TooLarge)?;
    }
    Ok(value)
}

/// The two spellings Data Vision uses (futures lower case, spot capitalised), nothing else.
pub fn parse_bool(text: &[u8]) -> Result<bool, FieldError> {
    match text {
        b"true" | b"True" => Ok(true),
        b"false" | b"False" => Ok(false),
        _ => Err(FieldError::NotBool),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::error::FieldRef;

    fn problem(line: &str) -> (Option<(usize, &'static str)>, String) {
        let p = parse_row(line.as_bytes(), 0).unwrap_err();
        let column = match p.field {
            Some(FieldRef::Column(number, name)) => Some((number, name)),
            Some(FieldRef::Key(key)) => panic!("CSV problem names a JSON key {key}"),
            None => None,
        };
        (column, p.cause)
    }

    #[test]
    fn futures_row() {
        let t = parse_row(
            b"3535186032,28145.10,0.002,3535186030,3535186032,1680652700452,true",
            7,
        )
        .unwrap();
        assert_eq!(t.symbol, 7);
        assert_eq!(t.agg_id, 3535186032);
        assert_eq!(t.price, 2_814_510_000_000);
        assert_eq!(t.quantity, 200_000);
        assert_eq!(
            (t.first_trade_id, t.last_trade_id),
            (3535186030, 3535186032)
        );
        assert_eq!(
            (t.trade_time_ms, t.event_time_ms),
            (1680652700452, 1680652700452)
        );
        assert!(t.is_buyer_maker);
    }

    #[test]
    fn spot_row_with_best_match_column() {
        let t = parse_row(
            b"202790190,7139.89000000,0.06702300,222825297,222825297,1577977823305,False,True",
            0,
        )
        .unwrap();
        assert_eq!(t.price, 713_989_000_000);
        assert_eq!(t.quantity, 6_702_300);
        assert_eq!(t.trade_time_ms, 1577977823305);
        assert!(!t.is_buyer_maker);
    }

    #[test]
    fn microsecond_times_are_floored_to_ms() {
        let t = parse_row(b"3800397495,87648.21000000,0.08185000,5723703861,5723703861,1767225600039409,True,True", 0)
            .unwrap();
        assert_eq!(t.trade_time_ms, 1767225600039);
        // Just below the threshold stays milliseconds.
        let t = parse_row(b"1,1,1,1,1,99999999999999,true", 0).unwrap();
        assert_eq!(t.trade_time_ms, 99_999_999_999_999);
        let t = parse_row(b"1,1,1,1,1,100000000000999,true", 0).unwrap();
        assert_eq!(t.trade_time_ms, 100_000_000_000);
    }

    #[test]
    fn headers_are_recognised_by_their_first_field() {
        assert!(is_header(b"agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"));
        assert!(is_header(b"a,b,c"));
        assert!(is_header(b",1,2"));
        assert!(!is_header(
            b"13519807,0.00141342,23.00000000,15373518,15373518,1570752011620,true,true"
        ));
    }

    #[test]
    fn bad_decimal_names_field_and_position() {
        let (field, cause) = problem("1,12x.5,1,1,1,1,true");
        assert_eq!(field, Some((2, "price")));
        assert!(cause.contains("'x' at position 2"), "{cause}");
        let (field, _) = problem("1,1,-1,1,1,1,true");
        assert_eq!(field, Some((3, "quantity")));
        let (field, _) = problem("1,1,1e3,1,1,1,true");
        assert_eq!(field, Some((3, "quantity")));
        let (field, _) = problem("1,0.123456789,1,1,1,1,true");
        assert_eq!(field, Some((2, "price")));
    }

    #[test]
    fn bad_integers_name_their_field() {
        assert_eq!(problem("x1,1,1,1,1,1,true").0, Some((1, "agg_trade_id")));
        assert_eq!(problem("1,1,1,-1,1,1,true").0, Some((4, "first_trade_id")));
        assert_eq!(problem("1,1,1,1, 1,1,true").0, Some((5, "last_trade_id")));
        assert_eq!(
            problem("1,1,1,1,1,,true"),
            (Some((6, "transact_time")), "empty field".into())
        );
        assert_eq!(
            problem("1,1,1,1,1,99999999999999999999,true").1,
            "integer too large"
        );
        assert_eq!(
            problem("1,1,1,1,1,1.5,true").1,
            "invalid byte '.' at position 1 in integer"
        );
    }

    #[test]
    fn bad_booleans_name_their_field() {
        assert_eq!(
            problem("1,1,1,1,1,1,TRUE"),
            (
                Some((7, "is_buyer_maker")),
                "expected true, false, True or False".into()
            )
        );
        assert_eq!(problem("1,1,1,1,1,1,1").0, Some((7, "is_buyer_maker")));
        assert_eq!(
            problem("1,1,1,1,1,1,true,yes").0,
            Some((8, "is_best_match"))
        );
    }

    #[test]
    fn wrong_field_counts_are_row_problems() {
        assert_eq!(
            problem("1,1,1,1,1,1"),
            (None, "expected 7 or 8 fields, found 6".into())
        );
        assert_eq!(
            problem("1,1,1,1,1,1,true,true,x,y"),
            (None, "expected 7 or 8 fields, found 10".into())
        );
        assert_eq!(problem("").1, "expected 7 or 8 fields, found 1");
    }
}
