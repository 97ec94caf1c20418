//! `klines.intervals`: `"all"` or a list of interval names, each listed once.

use super::error::{ConfigError, invalid, quoted};
use super::schema::StringOrList;
use crate::aggregator::MAX_INTERVALS;
use crate::interval::Interval;

/// `klines.intervals`: the 16 Binance intervals for `"all"`, else the list in config order.
pub(crate) fn intervals(raw: &StringOrList) -> Result<Vec<Interval>, ConfigError> {
    const KEY: &str = "klines.intervals";
    let Some(items) = raw.all_or_list(
        KEY,
        "must be \"all\" (the 16 Binance intervals) or a list such as [\"1m\", \"1h\"]",
        "list at least one interval, e.g. [\"1m\"], or use \"all\"",
    )?
    else {
        return Ok(Interval::standard().to_vec());
    };
    if items.len() > MAX_INTERVALS {
        return Err(invalid(
            KEY,
            format!("[{} intervals]", items.len()),
            format!("a shard keeps at most {MAX_INTERVALS} intervals"),
        ));
    }
    let mut parsed: Vec<Interval> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let key = format!("{KEY}[{i}]");
        let interval =
            Interval::parse(item).map_err(|e| invalid(&key, quoted(item), e.to_string()))?;
        // Equality follows the written name (see `Interval`), as in `Interval::parse_list`.
        if let Some(first) = parsed.iter().position(|seen| *seen == interval) {
            return Err(invalid(
                key,
                quoted(item),
                format!("{KEY}[{first}] is {interval} already; list each interval once"),
            ));
        }
        parsed.push(interval);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> StringOrList {
        StringOrList::List(items.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn all_and_lists() {
        let all = intervals(&StringOrList::Keyword("all".into())).unwrap();
        assert_eq!(all, Interval::standard());
        let some = intervals(&list(&["1m", "1h", "10s"])).unwrap();
        let names: Vec<String> = some.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["1m", "1h", "10s"]);
    }

    #[test]
    fn bad_intervals_name_the_entry_and_what_is_valid() {
        let error = intervals(&list(&["1m", "1h", "2w"])).unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with(
                "klines.intervals[2] = \"2w\": invalid interval \"2w\": valid intervals are 1s 1m"
            ),
            "{text}"
        );
        let error = intervals(&list(&["1m", "5m", "1m"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "klines.intervals[2] = \"1m\": klines.intervals[0] is 1m already; list each interval once"
        );
        assert!(intervals(&list(&[])).is_err());
        let error = intervals(&StringOrList::Keyword("1m".into())).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("klines.intervals = \"1m\": must be \"all\"")
        );
        let many: Vec<String> = (1..=65).map(|n| format!("{n}s")).collect();
        let error = intervals(&StringOrList::List(many)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "klines.intervals = [65 intervals]: a shard keeps at most 64 intervals"
        );
    }
}
