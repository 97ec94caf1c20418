//! `exchange.symbols` and `exchange.quote_asset`: Binance names, upper case, each listed once.
//!
//! Symbols follow [`crate::symbol_name`] (any UTF-8 Binance uses, such as `币安人生USDT`); only
//! their ASCII letters are upper-cased, as Binance's own names are.

use super::error::{ConfigError, invalid, quoted};
use super::schema::StringOrList;
use super::settings::SymbolSelection;
use crate::symbol_name;

/// Longest quote asset accepted.
const MAX_ASSET_LEN: usize = 16;

/// `exchange.symbols`: `"all"` or a non-empty list of distinct symbols, upper-cased.
pub(crate) fn symbols(raw: &StringOrList) -> Result<SymbolSelection, ConfigError> {
    const KEY: &str = "exchange.symbols";
    let Some(items) = raw.all_or_list(
        KEY,
        "must be \"all\" or a list such as [\"BTCUSDT\", \"ETHUSDT\"]",
        "list at least one symbol, e.g. [\"BTCUSDT\"], or use \"all\"",
    )?
    else {
        return Ok(SymbolSelection::All);
    };
    let mut list: Vec<String> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let key = format!("{KEY}[{i}]");
        let symbol = symbol_name::exchange_case(item);
        if let Err(e) = symbol_name::check(&symbol) {
            return Err(invalid(key, quoted(item), e.to_string()));
        }
        if let Some(first) = seen.insert(symbol.clone(), i) {
            return Err(invalid(
                key,
                quoted(item),
                format!("{KEY}[{first}] is {symbol} already; list each symbol once"),
            ));
        }
        list.push(symbol);
    }
    Ok(SymbolSelection::List(list))
}

/// `exchange.quote_asset`: letters and digits, upper-cased.
pub(crate) fn quote_asset(text: &str) -> Result<String, ConfigError> {
    let asset = text.to_ascii_uppercase();
    if is_name(&asset, MAX_ASSET_LEN) {
        Ok(asset)
    } else {
        Err(invalid(
            "exchange.quote_asset",
            quoted(text),
            format!("must be 1 to {MAX_ASSET_LEN} letters and digits, e.g. \"USDT\""),
        ))
    }
}

/// `[A-Z0-9]{1,max_len}`.
fn is_name(text: &str, max_len: usize) -> bool {
    (1..=max_len).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> StringOrList {
        StringOrList::List(items.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn all_and_lists() {
        assert_eq!(
            symbols(&StringOrList::Keyword("all".into())).unwrap(),
            SymbolSelection::All
        );
        assert_eq!(
            symbols(&list(&["btcusdt", "1000PEPEUSDT"])).unwrap(),
            SymbolSelection::List(vec!["BTCUSDT".into(), "1000PEPEUSDT".into()])
        );
    }

    #[test]
    fn non_ascii_symbols_keep_their_characters() {
        assert_eq!(
            symbols(&list(&[
                "币安人生usdt",
                "BTCUSDT",
                "äUSDT",
                "BTC-250926-60000-C"
            ]))
            .unwrap(),
            SymbolSelection::List(vec![
                "币安人生USDT".into(),
                "BTCUSDT".into(),
                "äUSDT".into(),
                "BTC-250926-60000-C".into()
            ])
        );
        let error = symbols(&list(&["币安人生USDT", "币安人生usdt"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "exchange.symbols[1] = \"币安人生usdt\": exchange.symbols[0] is 币安人生USDT already; \
             list each symbol once"
        );
    }

    #[test]
    fn bad_symbols_name_the_entry() {
        let error = symbols(&list(&["BTCUSDT", "btc usdt"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "exchange.symbols[1] = \"btc usdt\": the name has ' '; {}",
                symbol_name::VALID
            )
        );
        assert!(symbols(&list(&[""])).is_err());
        assert!(symbols(&list(&[&"A".repeat(65)])).is_err());
        assert!(symbols(&list(&["BTC/USDT"])).is_err());
        assert!(symbols(&list(&["BTC\"USDT"])).is_err());
        let error = symbols(&list(&["ETHUSDT", "BTCUSDT", "btcusdt"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "exchange.symbols[2] = \"btcusdt\": exchange.symbols[1] is BTCUSDT already; \
             list each symbol once"
        );
        let error = symbols(&list(&[])).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("exchange.symbols = []: list at least one")
        );
        let error = symbols(&StringOrList::Keyword("BTCUSDT".into())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "exchange.symbols = \"BTCUSDT\": must be \"all\" or a list such as \
             [\"BTCUSDT\", \"ETHUSDT\"]"
        );
    }

    #[test]
    fn quote_assets() {
        assert_eq!(quote_asset("usdc").unwrap(), "USDC");
        let error = quote_asset("US DT").unwrap_err();
        assert_eq!(
            error.to_string(),
            "exchange.quote_asset = \"US DT\": must be 1 to 16 letters and digits, e.g. \"USDT\""
        );
    }
}
