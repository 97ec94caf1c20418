//! Range checks for numeric keys, with the message every key shares: `must be LO..=HI (why)`.

use std::ops::RangeInclusive;

use super::error::{ConfigError, invalid};

/// Checks that `value` (as written at `key`) lies in `range` and converts it to `T`.
///
/// `why` is appended in parentheses when not empty, to say where the limit comes from.
pub(crate) fn in_range<T: TryFrom<i64>>(
    key: &str,
    value: i64,
    range: RangeInclusive<i64>,
    why: &str,
) -> Result<T, ConfigError> {
    let error = || {
        let mut problem = format!("must be {}..={}", range.start(), range.end());
        if !why.is_empty() {
            problem.push_str(&format!(" ({why})"));
        }
        invalid(key, value, problem)
    };
    if !range.contains(&value) {
        return Err(error());
    }
    // Every range used fits its target type, so this only fails if a range is written wrong.
    T::try_from(value).map_err(|_| error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_range_converts_and_out_of_range_explains() {
        let n: usize = in_range("a.b", 5, 1..=10, "").unwrap();
        assert_eq!(n, 5);
        let error = in_range::<usize>("a.b", 2000, 1..=1024, "Binance's limit").unwrap_err();
        assert_eq!(
            error.to_string(),
            "a.b = 2000: must be 1..=1024 (Binance's limit)"
        );
        let error = in_range::<u32>("a.b", -1, 0..=5, "").unwrap_err();
        assert_eq!(error.to_string(), "a.b = -1: must be 0..=5");
        // A range wider than the target type still fails cleanly instead of wrapping.
        assert!(in_range::<u8>("a.b", 300, 0..=1000, "").is_err());
    }
}
