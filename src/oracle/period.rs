//! The oracle's own calendar: where each period of an interval starts, worked out from first
//! principles (epoch-aligned lengths, Monday weeks, calendar months by counting days) so that
//! it shares nothing with the engine's `interval` module.

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// 1970-01-01 was a Thursday, so the first Monday 00:00 UTC came four days later.
const FIRST_MONDAY_MS: i64 = 4 * DAY_MS;

/// How an interval's periods are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Periods of this many milliseconds, aligned to the Unix epoch.
    Fixed(i64),
    /// Weeks starting Monday 00:00 UTC.
    Week,
    /// Calendar months (UTC).
    Month,
}

impl Period {
    /// The layout of a Binance interval name such as `1s`, `15m`, `1w` or `1M` (also custom
    /// counts of `s`, `m`, `h` and `d`); `None` for anything else.
    pub fn parse(label: &str) -> Option<Period> {
        match label {
            "1w" => return Some(Period::Week),
            "1M" => return Some(Period::Month),
            _ => {}
        }
        let unit_ms = match label.chars().last()? {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => DAY_MS,
            _ => return None,
        };
        let count: i64 = label[..label.len() - 1].parse().ok()?;
        (count > 0).then(|| Period::Fixed(count * unit_ms))
    }

    /// The start of the period that holds `t_ms`.
    pub fn start_of(self, t_ms: i64) -> i64 {
        match self {
            Period::Fixed(len) => t_ms.div_euclid(len) * len,
            Period::Week => {
                let week = 7 * DAY_MS;
                FIRST_MONDAY_MS + (t_ms - FIRST_MONDAY_MS).div_euclid(week) * week
            }
            Period::Month => {
                // Walk month by month from January 1970; slow but plainly right, and done once
                // per series.
                let mut start = 0;
                loop {
                    let next = self.next(start);
                    if next > t_ms {
                        return start;
                    }
                    start = next;
                }
            }
        }
    }

    /// The start of the period after the one starting at `start`.
    pub fn next(self, start: i64) -> i64 {
        match self {
            Period::Fixed(len) => start + len,
            Period::Week => start + 7 * DAY_MS,
            Period::Month => {
                let (year, month) = year_month(start);
                start + days_in_month(year, month) * DAY_MS
            }
        }
    }
}

/// The year and month (1–12) of a time at or after the epoch, by counting whole years and
/// months of days from 1970.
fn year_month(t_ms: i64) -> (i64, i64) {
    let mut days = t_ms.div_euclid(DAY_MS);
    let mut year = 1970;
    while days >= days_in_year(year) {
        days -= days_in_year(year);
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    (year, month)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_year(year: i64) -> i64 {
    if is_leap(year) { 366 } else { 365 }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-02-29T13:45:00Z, a Thursday in a leap February.
    const LEAP_DAY: i64 = 1_709_214_300_000;

    #[test]
    fn labels_parse_to_their_layout() {
        assert_eq!(Period::parse("1s"), Some(Period::Fixed(1_000)));
        assert_eq!(Period::parse("3d"), Some(Period::Fixed(3 * DAY_MS)));
        assert_eq!(Period::parse("1w"), Some(Period::Week));
        assert_eq!(Period::parse("1M"), Some(Period::Month));
        for bad in ["", "m", "0m", "1x", "-1m", "1.5h"] {
            assert_eq!(Period::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // Monday 2024-02-26 and Thursday 2024-02-01, 00:00 UTC.
        assert_eq!(Period::Week.start_of(LEAP_DAY), 1_708_905_600_000);
        assert_eq!(Period::Month.start_of(LEAP_DAY), 1_706_745_600_000);
        // March 2024 starts 29 days after February did.
        assert_eq!(
            Period::Month.next(1_706_745_600_000),
            1_706_745_600_000 + 29 * DAY_MS
        );
        assert_eq!(
            Period::Fixed(3_600_000).start_of(LEAP_DAY),
            1_709_211_600_000
        );
    }

    #[test]
    fn a_period_start_is_its_own_start() {
        for period in [Period::Fixed(1_000), Period::Week, Period::Month] {
            let start = period.start_of(LEAP_DAY);
            assert_eq!(period.start_of(start), start);
            assert_eq!(period.start_of(period.next(start) - 1), start);
        }
    }
}
