//! `[backfill]`: whether gaps in agg ids are filled from REST `aggTrades`, and how fast.

use std::time::Duration;

use super::error::{ConfigError, invalid};
use super::range::in_range;
use super::schema::BackfillConfig;

/// Binance's request-weight limit per minute and IP, for everything together.
pub(super) const BINANCE_WEIGHT_PER_MINUTE: i64 = 2_400;

/// The request weight per minute the backfill may spend, or `None` when it is off. More than
/// Binance allows is accepted, for a local simulator that does not meter weight; the plan
/// warns about it.
pub(super) fn backfill(raw: &BackfillConfig) -> Result<Option<u32>, ConfigError> {
    if !raw.enabled {
        return Ok(None);
    }
    in_range(
        "backfill.weight_per_minute",
        raw.weight_per_minute,
        20..=1_000_000,
        "REST request weight per minute (Binance allows 2400 per IP in all; one aggTrades \
         page costs 20)",
    )
    .map(Some)
}

/// How often the sweep checks every symbol's tail for trades lost with no later trade to show
/// it, or `None` for never (`backfill.tail_check_every_s = 0`). Reconnects are followed by
/// tail checks either way.
pub(super) fn tail_check_every(raw: &BackfillConfig) -> Result<Option<Duration>, ConfigError> {
    match raw.tail_check_every_s {
        0 => Ok(None),
        seconds @ 60..=604_800 => Ok(Some(Duration::from_secs(seconds.unsigned_abs()))),
        seconds => Err(invalid(
            "backfill.tail_check_every_s",
            seconds,
            "must be 0 (never) or 60..=604800 seconds (each quiet symbol costs a klines call, \
             weight 1, per sweep)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_by_default_within_binances_limit() {
        assert_eq!(backfill(&BackfillConfig::default()).unwrap(), Some(1_200));
        let off = BackfillConfig {
            enabled: false,
            ..BackfillConfig::default()
        };
        assert_eq!(backfill(&off).unwrap(), None);
        let absurd = BackfillConfig {
            weight_per_minute: 6_000_000,
            ..BackfillConfig::default()
        };
        let err = backfill(&absurd).unwrap_err().to_string();
        assert!(
            err.starts_with("backfill.weight_per_minute = 6000000"),
            "{err}"
        );
    }

    #[test]
    fn the_tail_sweep_runs_every_ten_minutes_unless_told_otherwise() {
        let every = |seconds| {
            tail_check_every(&BackfillConfig {
                tail_check_every_s: seconds,
                ..BackfillConfig::default()
            })
        };
        assert_eq!(
            tail_check_every(&BackfillConfig::default()).unwrap(),
            Some(Duration::from_secs(600))
        );
        assert_eq!(every(0).unwrap(), None);
        let err = every(5).unwrap_err().to_string();
        assert!(err.starts_with("backfill.tail_check_every_s = 5"), "{err}");
    }
}
