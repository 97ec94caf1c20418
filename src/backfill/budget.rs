//! Binance's request-weight budget, shared by every REST call klagg makes: a bucket refilled
//! evenly over the minute, so calls are spread out rather than spent in a burst.

use std::time::{Duration, Instant};

/// Weight left to spend, refilled at `per_minute` per minute up to a minute's worth.
#[derive(Debug)]
pub struct WeightBudget {
    per_minute: u32,
    available: f64,
    refilled_at: Instant,
    /// No call before this (a 429 or 418 said so).
    paused_until: Option<Instant>,
}

impl WeightBudget {
    /// A budget of `per_minute` weight per minute (at least 1), starting full.
    pub fn new(per_minute: u32, now: Instant) -> WeightBudget {
        let per_minute = per_minute.max(1);
        WeightBudget {
            per_minute,
            available: f64::from(per_minute),
            refilled_at: now,
            paused_until: None,
        }
    }

    /// Spends `weight` if it is there now; otherwise says how long until it will be.
    pub fn try_spend(&mut self, weight: u32, now: Instant) -> Result<(), Duration> {
        self.wait_for(weight, now)?;
        self.available -= f64::from(weight);
        Ok(())
    }

    /// True if `weight` could be spent now (nothing is spent).
    pub fn can_spend(&mut self, weight: u32, now: Instant) -> bool {
        self.wait_for(weight, now).is_ok()
    }

    /// Refills the bucket up to `now`; how long until `weight` is there, if it is not.
    fn wait_for(&mut self, weight: u32, now: Instant) -> Result<(), Duration> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until - now);
            }
            self.paused_until = None;
        }
        let per_ms = f64::from(self.per_minute) / 60_000.0;
        let elapsed_ms = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64()
            * 1e3;
        self.available = (self.available + elapsed_ms * per_ms).min(f64::from(self.per_minute));
        self.refilled_at = now;
        let weight = f64::from(weight);
        if self.available >= weight {
            Ok(())
        } else {
            let missing_ms = (weight - self.available) / per_ms;
            Err(Duration::from_secs_f64(missing_ms.ceil() / 1e3))
        }
    }

    /// Spends nothing before `now + wait` (the exchange's `Retry-After`), and starts again
    /// from an empty bucket then.
    pub fn pause(&mut self, wait: Duration, now: Instant) {
        self.paused_until = Some(now + wait);
        self.available = 0.0;
        self.refilled_at = now + wait;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_a_minutes_worth_then_refills_evenly() {
        let t0 = Instant::now();
        let mut budget = WeightBudget::new(120, t0);
        for _ in 0..6 {
            assert_eq!(budget.try_spend(20, t0), Ok(()));
        }
        // 20 weight at 2 a second is 10 s away.
        let wait = budget.try_spend(20, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(10));
        assert!(budget.try_spend(20, t0 + Duration::from_secs(9)).is_err());
        assert!(!budget.can_spend(20, t0 + Duration::from_secs(9)));
        assert!(budget.can_spend(20, t0 + Duration::from_secs(10)));
        assert_eq!(budget.try_spend(20, t0 + Duration::from_secs(10)), Ok(()));
    }

    #[test]
    fn a_pause_holds_every_call_until_it_ends() {
        let t0 = Instant::now();
        let mut budget = WeightBudget::new(2_400, t0);
        budget.pause(Duration::from_secs(30), t0);
        assert_eq!(
            budget.try_spend(1, t0 + Duration::from_secs(29)),
            Err(Duration::from_secs(1))
        );
        assert!(
            budget.try_spend(20, t0 + Duration::from_secs(30)).is_err(),
            "empty after it"
        );
        assert_eq!(budget.try_spend(20, t0 + Duration::from_secs(31)), Ok(()));
    }
}
