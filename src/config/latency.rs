//! `[latency]`: which trades are stamped for the latency histograms, checked.

use super::error::{ConfigError, invalid};
use super::schema::LatencyConfig;
use crate::latency::Sampling;

/// `[latency] sample_every`: 0 (off) or a power of two up to 2^20.
pub(super) fn latency(raw: &LatencyConfig) -> Result<Option<Sampling>, ConfigError> {
    let every = raw.sample_every;
    if every == 0 {
        return Ok(None);
    }
    if !(1..=1 << 20).contains(&every) || (every & (every - 1)) != 0 {
        return Err(invalid(
            "latency.sample_every",
            every.to_string(),
            "expected 0 (no latency histograms) or a power of two from 1 (every trade) to \
             1048576, e.g. 64"
                .to_owned(),
        ));
    }
    Ok(Some(Sampling::one_in(every as u64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_or_a_power_of_two() {
        let of = |n| latency(&LatencyConfig { sample_every: n });
        assert_eq!(of(0).unwrap(), None);
        assert_eq!(of(64).unwrap(), Some(Sampling::one_in(64)));
        assert_eq!(of(1).unwrap(), Some(Sampling::EVERY_TRADE));
        let err = of(100).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "latency.sample_every = 100: expected 0 (no latency histograms) or a power of two"
            ),
            "{err}"
        );
        assert!(of(-1).is_err() && of(1 << 21).is_err());
    }
}
