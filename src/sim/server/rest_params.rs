//! REST query parameters and Binance's error answers for bad ones.

use super::http::query_pairs;
use super::symbols::SymbolTable;

/// A Binance error answer: HTTP status plus `{"code":..,"msg":..}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RestError {
    /// HTTP status.
    pub(crate) status: u16,
    /// Binance error code (negative).
    pub(crate) code: i64,
    /// Binance error text.
    pub(crate) msg: String,
}

impl RestError {
    /// A 400 answer.
    pub(crate) fn bad_request(code: i64, msg: impl Into<String>) -> RestError {
        RestError {
            status: 400,
            code,
            msg: msg.into(),
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Vec<u8> {
        serde_json::json!({ "code": self.code, "msg": self.msg })
            .to_string()
            .into_bytes()
    }
}

/// `-1102`: a mandatory parameter is missing.
fn missing(name: &str) -> RestError {
    RestError::bad_request(
        -1102,
        format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

/// A request's query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes a query string.
    pub(crate) fn parse(query: &str) -> Params {
        Params {
            pairs: query_pairs(query),
        }
    }

    /// The first non-empty value of a parameter (an empty one counts as not sent, as on Binance).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// A mandatory parameter.
    pub(crate) fn required(&self, name: &str) -> Result<&str, RestError> {
        self.get(name).ok_or_else(|| missing(name))
    }

    /// The index of the mandatory `symbol` parameter (`-1121` when the symbol is unknown or
    /// not listed yet).
    pub(crate) fn symbol(&self, symbols: &SymbolTable, listed: &[bool]) -> Result<u32, RestError> {
        let name = self.required("symbol")?;
        symbols
            .by_name(name)
            .filter(|&index| listed.get(index as usize).copied().unwrap_or(false))
            .ok_or_else(|| RestError::bad_request(-1121, "Invalid symbol."))
    }

    /// An optional non-negative integer parameter (`-1100` when it is not digits).
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, RestError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        let valid = text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit());
        text.parse::<i64>()
            .ok()
            .filter(|_| valid)
            .map(Some)
            .ok_or_else(|| {
                RestError::bad_request(
                    -1100,
                    format!(
                        "Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
                    ),
                )
            })
    }

    /// The `limit` parameter: `default` when absent, at most `max` (larger values are capped,
    /// as Binance does), and `-1100` when it is zero or not a number.
    pub(crate) fn limit(&self, default: usize, max: usize) -> Result<usize, RestError> {
        match self.integer("limit")? {
            None => Ok(default),
            Some(0) => Err(RestError::bad_request(
                -1100,
                "Illegal value for parameter 'limit'; it must be at least 1.",
            )),
            Some(limit) => Ok(usize::try_from(limit).map_or(max, |limit| limit.min(max))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SymbolSpec;

    #[test]
    fn numbers_limits_and_symbols() {
        let params = Params::parse("symbol=BTCUSDT&limit=5000&fromId=12&startTime=-1&endTime=");
        assert_eq!(params.integer("fromId"), Ok(Some(12)));
        assert_eq!(params.integer("endTime"), Ok(None));
        assert_eq!(params.integer("startTime").unwrap_err().code, -1100);
        assert_eq!(params.limit(500, 1000), Ok(1000));
        assert_eq!(Params::parse("").limit(500, 1000), Ok(500));
        assert_eq!(
            Params::parse("limit=0").limit(500, 1000).unwrap_err().code,
            -1100
        );
        let symbols = SymbolTable::new(vec![SymbolSpec {
            name: "BTCUSDT".into(),
            price_decimals: 2,
            quantity_decimals: 3,
            listed_at_ms: None,
        }]);
        assert_eq!(params.symbol(&symbols, &[true]), Ok(0));
        assert_eq!(params.symbol(&symbols, &[false]).unwrap_err().code, -1121);
        assert_eq!(
            Params::parse("")
                .symbol(&symbols, &[true])
                .unwrap_err()
                .code,
            -1102
        );
    }
}
