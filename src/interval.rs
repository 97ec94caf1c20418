//! Kline intervals: parsing Binance's interval names and finding the period a time falls in.
//!
//! Times are `i64` milliseconds since the Unix epoch (1970-01-01T00:00:00Z, UTC). A kline period
//! is the half-open range `[open, next_open)`; its close time is `next_open - 1` ms, as in
//! Binance's kline payloads.
//!
//! Binance's rules, which this module reproduces:
//!
//! * The published intervals are `1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M`. Case
//!   matters: `1m` is one minute, `1M` one calendar month.
//! * Every fixed-length interval from `1s` to `3d` is aligned to the Unix epoch, so a `3d` period
//!   starts on 1970-01-01 and every third day after (or before) it.
//! * `1w` periods are seven days long but start on Monday 00:00 UTC. The epoch was a Thursday, so
//!   weeks are aligned to 1970-01-05 (epoch + 4 days) rather than to the epoch itself.
//! * `1M` periods start on the first day of each Gregorian calendar month at 00:00 UTC and are
//!   28, 29, 30 or 31 days long (leap years every 4 years, except centuries not divisible by
//!   400: 2000 was a leap year, 1900 and 2100 are not).
//!
//! Beyond Binance's list, custom intervals `N` followed by `s`, `m`, `h` or `d` (for example
//! `10s`, `7m`, `2d`) are accepted and, like the fixed standard ones, aligned to the epoch. A
//! custom `7d` is therefore *not* a week: it starts on Thursdays.
//!
//! The calendar arithmetic is implemented here without dependencies; it is only needed when a
//! month period rolls over, while fixed-length periods cost a remainder and a subtraction.

use std::fmt;
use std::str::FromStr;

/// The 16 intervals Binance publishes, in Binance's order.
pub const STANDARD_INTERVALS: [&str; 16] = [
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w",
    "1M",
];

/// What [`IntervalError`] tells the user is accepted.
const VALID_HELP: &str = "valid intervals are 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M, \
    or N followed by s, m, h or d (e.g. 10s, 7m); note 1m is a minute and 1M a month";

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;
/// Weeks start on Mondays; the first Monday after the epoch (a Thursday) is 1970-01-05.
const WEEK_OFFSET_MS: i64 = 4 * DAY_MS;

/// The unit letter as written in the interval name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

impl Unit {
    const fn from_letter(letter: u8) -> Option<Unit> {
        match letter {
            b's' => Some(Unit::Second),
            b'm' => Some(Unit::Minute),
            b'h' => Some(Unit::Hour),
            b'd' => Some(Unit::Day),
            b'w' => Some(Unit::Week),
            b'M' => Some(Unit::Month),
            _ => None,
        }
    }

    const fn letter(self) -> u8 {
        match self {
            Unit::Second => b's',
            Unit::Minute => b'm',
            Unit::Hour => b'h',
            Unit::Day => b'd',
            Unit::Week => b'w',
            Unit::Month => b'M',
        }
    }
}

/// How period starts are found; precomputed at parse time so the hot path does not look at units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// Periods of `len_ms`, starting where `(t - offset_ms)` is a multiple of `len_ms`.
    Fixed { len_ms: i64, offset_ms: i64 },
    /// Gregorian calendar months.
    CalendarMonth,
}

/// One kline interval, with everything the hot path needs precomputed (`Copy`, small).
///
/// Equality and hashing follow the *written* interval: `60s` and `1m` produce identical periods
/// but are different values (they print differently and are different Binance names). Compare
/// [`Interval::fixed_len_ms`] to ask whether two fixed intervals have the same length.
///
/// ```
/// use klagg::interval::Interval;
///
/// let month: Interval = "1M".parse().unwrap();
/// let feb_2024 = 1_706_745_600_000; // 2024-02-01T00:00:00Z
/// assert_eq!(month.open_time(feb_2024 + 123), feb_2024);
/// assert_eq!(month.close_time(feb_2024), 1_709_251_200_000 - 1); // 29 days later, minus 1 ms
/// assert_eq!(month.to_string(), "1M");
/// assert_eq!(month.file_label().to_string(), "1mo");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    kind: Kind,
    count: u64,
    unit: Unit,
}

/// The standard intervals, built without parsing so [`Interval::standard`] cannot fail.
const STANDARD: [Interval; 16] = [
    Interval::fixed(1, Unit::Second, SECOND_MS),
    Interval::fixed(1, Unit::Minute, MINUTE_MS),
    Interval::fixed(3, Unit::Minute, 3 * MINUTE_MS),
    Interval::fixed(5, Unit::Minute, 5 * MINUTE_MS),
    Interval::fixed(15, Unit::Minute, 15 * MINUTE_MS),
    Interval::fixed(30, Unit::Minute, 30 * MINUTE_MS),
    Interval::fixed(1, Unit::Hour, HOUR_MS),
    Interval::fixed(2, Unit::Hour, 2 * HOUR_MS),
    Interval::fixed(4, Unit::Hour, 4 * HOUR_MS),
    Interval::fixed(6, Unit::Hour, 6 * HOUR_MS),
    Interval::fixed(8, Unit::Hour, 8 * HOUR_MS),
    Interval::fixed(12, Unit::Hour, 12 * HOUR_MS),
    Interval::fixed(1, Unit::Day, DAY_MS),
    Interval::fixed(3, Unit::Day, 3 * DAY_MS),
    Interval::WEEK,
    Interval::MONTH,
];

impl Interval {
    const WEEK: Interval = Interval {
        kind: Kind::Fixed {
            len_ms: WEEK_MS,
            offset_ms: WEEK_OFFSET_MS,
        },
        count: 1,
        unit: Unit::Week,
    };

    const MONTH: Interval = Interval {
        kind: Kind::CalendarMonth,
        count: 1,
        unit: Unit::Month,
    };

    /// An epoch-aligned interval; the caller guarantees `len_ms == count * unit length`.
    const fn fixed(count: u64, unit: Unit, len_ms: i64) -> Interval {
        Interval {
            kind: Kind::Fixed {
                len_ms,
                offset_ms: 0,
            },
            count,
            unit,
        }
    }

    /// Parses one interval name: a standard Binance name or a custom `N` + `s|m|h|d`.
    ///
    /// The text must be exactly the name: no surrounding spaces, no sign, no leading zeros, so
    /// that `Display` gives back the text that was parsed.
    ///
    /// # Errors
    ///
    /// Returns an [`IntervalError`] naming `text` for anything that is not such a name, including
    /// a zero count, `w`/`M` with a count other than 1, and lengths that overflow `i64` ms.
    pub fn parse(text: &str) -> Result<Interval, IntervalError> {
        Self::parse_name(text).ok_or_else(|| IntervalError::new(text, Problem::Invalid, None))
    }

    fn parse_name(text: &str) -> Option<Interval> {
        let (&letter, digits) = text.as_bytes().split_last()?;
        let unit = Unit::from_letter(letter)?;
        // A leading zero is rejected so each interval has exactly one spelling (and `0m` fails).
        if digits.first().is_none_or(|&first| first == b'0') {
            return None;
        }
        let mut count: u64 = 0;
        for &digit in digits {
            if !digit.is_ascii_digit() {
                return None;
            }
            count = count
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
        }
        let unit_ms = match unit {
            Unit::Week => return (count == 1).then_some(Interval::WEEK),
            Unit::Month => return (count == 1).then_some(Interval::MONTH),
            Unit::Second => SECOND_MS,
            Unit::Minute => MINUTE_MS,
            Unit::Hour => HOUR_MS,
            Unit::Day => DAY_MS,
        };
        let len_ms = i64::try_from(count).ok()?.checked_mul(unit_ms)?;
        Some(Interval::fixed(count, unit, len_ms))
    }

    /// All 16 standard intervals, parsed, in [`STANDARD_INTERVALS`] order.
    #[must_use]
    pub const fn standard() -> [Interval; 16] {
        STANDARD
    }

    /// Parses a comma-separated list such as `1m,5m,1w,1M`, as given on a command line or in a
    /// config file.
    ///
    /// Spaces around items are allowed. Empty items (including an empty list) and repeated
    /// intervals are rejected; the error names the offending item. Duplicates are judged by
    /// equality, so `1m,60s` is accepted (see [`Interval`]).
    ///
    /// # Errors
    ///
    /// Returns an [`IntervalError`] for the first empty, invalid or repeated item.
    pub fn parse_list(text: &str) -> Result<Vec<Interval>, IntervalError> {
        let mut intervals: Vec<Interval> = Vec::new();
        for item in text.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(IntervalError::new("", Problem::EmptyItem, Some(text)));
            }
            let interval = Self::parse_name(item)
                .ok_or_else(|| IntervalError::new(item, Problem::Invalid, Some(text)))?;
            // Lists are short (at most a few dozen), so a linear scan beats hashing.
            if intervals.contains(&interval) {
                return Err(IntervalError::new(item, Problem::Duplicate, Some(text)));
            }
            intervals.push(interval);
        }
        Ok(intervals)
    }

    /// Start of the period containing `t_ms`.
    ///
    /// Uses floor semantics, so times before the epoch belong to the period that starts at or
    /// before them. Valid for any time within ±10,000 years of the epoch.
    #[must_use]
    #[inline]
    pub fn open_time(&self, t_ms: i64) -> i64 {
        match self.kind {
            Kind::Fixed { len_ms, offset_ms } => t_ms - (t_ms - offset_ms).rem_euclid(len_ms),
            Kind::CalendarMonth => month_open(t_ms),
        }
    }

    /// Start of the period after the one that starts at `open_ms`.
    ///
    /// `open_ms` must be a period start (a value returned by [`Interval::open_time`] or
    /// `next_open`); for fixed intervals any other value is simply advanced by the length.
    #[must_use]
    #[inline]
    pub fn next_open(&self, open_ms: i64) -> i64 {
        match self.kind {
            Kind::Fixed { len_ms, .. } => open_ms + len_ms,
            Kind::CalendarMonth => next_month_open(open_ms),
        }
    }

    /// Last millisecond of the period starting at `open_ms` (`next_open - 1`), the kline's
    /// close time as Binance reports it.
    #[must_use]
    #[inline]
    pub fn close_time(&self, open_ms: i64) -> i64 {
        self.next_open(open_ms) - 1
    }

    /// Length of every period in milliseconds, or `None` for the calendar month, whose
    /// periods vary in length.
    #[must_use]
    #[inline]
    pub fn fixed_len_ms(&self) -> Option<i64> {
        match self.kind {
            Kind::Fixed { len_ms, .. } => Some(len_ms),
            Kind::CalendarMonth => None,
        }
    }

    /// The name used in Binance Data Vision file names: `1mo` for the month, which Data Vision
    /// spells differently from the API's `1M`, and the Binance name for everything else.
    #[must_use]
    pub fn file_label(&self) -> impl fmt::Display + use<> {
        FileLabel(*self)
    }
}

impl FromStr for Interval {
    type Err = IntervalError;

    /// Same as [`Interval::parse`].
    fn from_str(text: &str) -> Result<Interval, IntervalError> {
        Interval::parse(text)
    }
}

impl fmt::Display for Interval {
    /// Writes Binance's name (`1m`, `1M`, or a custom `N` + unit as parsed, e.g. `24h`).
    /// Honors width and alignment flags so intervals line up in tables.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // u64::MAX has 20 digits; one more byte for the unit letter. Building the name on the
        // stack keeps logging and labelling allocation-free.
        let mut buf = [0u8; 21];
        let mut start = buf.len() - 1;
        buf[start] = self.unit.letter();
        let mut rest = self.count;
        loop {
            start -= 1;
            // `rest % 10` is a single decimal digit, so the narrowing is exact.
            buf[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let name = std::str::from_utf8(&buf[start..]).map_err(|_| fmt::Error)?;
        f.pad(name)
    }
}

/// Displays an interval's Data Vision file label; see [`Interval::file_label`].
#[derive(Debug, Clone, Copy)]
struct FileLabel(Interval);

impl fmt::Display for FileLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.kind {
            Kind::CalendarMonth => f.pad("1mo"),
            Kind::Fixed { .. } => fmt::Display::fmt(&self.0, f),
        }
    }
}

/// What was wrong with the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Invalid,
    EmptyItem,
    Duplicate,
}

/// Why an interval text (or an item of an interval list) was rejected; its `Display` says what
/// is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalError {
    text: String,
    list: Option<String>,
    problem: Problem,
}

impl IntervalError {
    fn new(text: &str, problem: Problem, list: Option<&str>) -> IntervalError {
        IntervalError {
            text: text.to_owned(),
            list: list.map(str::to_owned),
            problem,
        }
    }

    /// The rejected interval text (the list item, when parsing a list; empty for an empty item).
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for IntervalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem {
            Problem::Invalid => write!(f, "invalid interval {:?}", self.text)?,
            Problem::EmptyItem => f.write_str("empty interval")?,
            Problem::Duplicate => write!(f, "duplicate interval {:?}", self.text)?,
        }
        if let Some(list) = &self.list {
            write!(f, " in list {list:?}")?;
        }
        match self.problem {
            Problem::Duplicate => f.write_str(": each interval may be listed only once"),
            Problem::Invalid | Problem::EmptyItem => write!(f, ": {VALID_HELP}"),
        }
    }
}

impl std::error::Error for IntervalError {}

/// Start of the calendar month containing `t_ms`.
fn month_open(t_ms: i64) -> i64 {
    let days = t_ms.div_euclid(DAY_MS);
    let (_, _, day) = civil_from_days(days);
    (days - (day - 1)) * DAY_MS
}

/// Start of the calendar month after the one containing `open_ms`.
fn next_month_open(open_ms: i64) -> i64 {
    let (year, month, _) = civil_from_days(open_ms.div_euclid(DAY_MS));
    let (year, month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    days_from_civil(year, month, 1) * DAY_MS
}

// Calendar conversions, after Howard Hinnant's "chrono-Compatible Low-Level Date Algorithms".
//
// Two tricks make them branch-light. First, the year is taken to begin on March 1, so the leap
// day is the last day of its year and month lengths from March on follow a fixed 5-month
// pattern (31 30 31 30 31), which `(153 * m + 2) / 5` reproduces. Second, the Gregorian calendar
// repeats every 400 years ("era") of exactly 146,097 days, so only a year within an era needs
// the leap rules; eras are counted with floor division to handle dates before year 0.

/// Days in one 400-year Gregorian cycle.
const DAYS_PER_ERA: i64 = 146_097;
/// Days from 0000-03-01 (the start of era 0 in March-based years) to 1970-01-01.
const ERA_START_TO_EPOCH_DAYS: i64 = 719_468;

/// Days since 1970-01-01 of the proleptic Gregorian date `year-month-day` (month 1..=12).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // January and February belong to the previous March-based year.
    let march_year = if month <= 2 { year - 1 } else { year };
    let era = march_year.div_euclid(400);
    let year_of_era = march_year.rem_euclid(400); // 0..=399
    let month_from_march = (month + 9) % 12; // March = 0, ..., February = 11
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1; // 0..=365
    // Leap days before this year within the era: one every 4 years, minus one per century.
    let day_of_era = 365 * year_of_era + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - ERA_START_TO_EPOCH_DAYS
}

/// The proleptic Gregorian `(year, month 1..=12, day 1..=31)` of a day counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let since_era_start = days + ERA_START_TO_EPOCH_DAYS;
    let era = since_era_start.div_euclid(DAYS_PER_ERA);
    let day_of_era = since_era_start.rem_euclid(DAYS_PER_ERA); // 0..=146_096
    // Remove the leap days preceding `day_of_era` so that dividing by 365 gives the year:
    // one per completed 4-year block (1,461 days), but none per completed century (36,524
    // days), and the era's final day (146,096) would otherwise count as a 401st year.
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153; // inverse of the 153/5 pattern
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = (month_from_march + 2) % 12 + 1;
    let march_year = era * 400 + year_of_era;
    let year = if month <= 2 {
        march_year + 1
    } else {
        march_year
    };
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(text: &str) -> Interval {
        Interval::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Independent leap-year rule for the brute-force calendars below.
    fn is_leap(year: i64) -> bool {
        year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
    }

    fn month_len(year: i64, month: i64) -> i64 {
        match month {
            2 if is_leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// A day-by-day calendar walker that knows nothing of eras or day numbers.
    #[derive(Debug, Clone, Copy)]
    struct Walker {
        days: i64,
        year: i64,
        month: i64,
        day: i64,
        /// 0 = Monday .. 6 = Sunday.
        weekday: i64,
    }

    impl Walker {
        /// 1970-01-01, day 0, a Thursday.
        fn epoch() -> Walker {
            Walker {
                days: 0,
                year: 1970,
                month: 1,
                day: 1,
                weekday: 3,
            }
        }

        fn forward(&mut self) {
            self.days += 1;
            self.weekday = (self.weekday + 1) % 7;
            self.day += 1;
            if self.day > month_len(self.year, self.month) {
                self.day = 1;
                self.month += 1;
                if self.month > 12 {
                    self.month = 1;
                    self.year += 1;
                }
            }
        }

        fn back(&mut self) {
            self.days -= 1;
            self.weekday = (self.weekday + 6) % 7;
            self.day -= 1;
            if self.day == 0 {
                self.month -= 1;
                if self.month == 0 {
                    self.month = 12;
                    self.year -= 1;
                }
                self.day = month_len(self.year, self.month);
            }
        }
    }

    /// Checks the periods around `boundary`, whose neighbours are `prev` and `next`.
    fn check_boundary(interval: Interval, prev: i64, boundary: i64, next: i64) {
        let name = interval.to_string();
        assert_eq!(interval.open_time(boundary - 1), prev, "{name} open(b-1)");
        assert_eq!(interval.open_time(boundary), boundary, "{name} open(b)");
        assert_eq!(
            interval.open_time(boundary + 1),
            boundary,
            "{name} open(b+1)"
        );
        assert_eq!(
            interval.open_time(next - 1),
            boundary,
            "{name} open(next-1)"
        );
        assert_eq!(interval.next_open(prev), boundary, "{name} next(prev)");
        assert_eq!(interval.next_open(boundary), next, "{name} next(b)");
        assert_eq!(
            interval.close_time(prev),
            boundary - 1,
            "{name} close(prev)"
        );
        assert_eq!(interval.close_time(boundary), next - 1, "{name} close(b)");
    }

    // Literals checked with `date -u -d <date> +%s` (times 1000).
    const T_1969_12_01: i64 = -2_678_400_000;
    const T_1969_12_22: i64 = -864_000_000;
    const T_1969_12_28: i64 = -345_600_000;
    const T_1969_12_29: i64 = -259_200_000;
    const T_1970_01_04: i64 = 259_200_000;
    const T_1970_01_05: i64 = 345_600_000;
    const T_1970_02_01: i64 = 2_678_400_000;
    const T_2000_02_01: i64 = 949_363_200_000;
    const T_2000_03_01: i64 = 951_868_800_000;
    const T_2023_02_01: i64 = 1_675_209_600_000;
    const T_2023_03_01: i64 = 1_677_628_800_000;
    const T_2023_12_01: i64 = 1_701_388_800_000;
    const T_2023_12_25: i64 = 1_703_462_400_000;
    const T_2023_12_28: i64 = 1_703_721_600_000;
    const T_2023_12_31: i64 = 1_703_980_800_000;
    const T_2024_01_01: i64 = 1_704_067_200_000;
    const T_2024_01_01_00_01: i64 = 1_704_067_260_000;
    const T_2024_01_03: i64 = 1_704_240_000_000;
    const T_2024_01_08: i64 = 1_704_672_000_000;
    const T_2024_02_01: i64 = 1_706_745_600_000;
    const T_2024_02_28: i64 = 1_709_078_400_000;
    const T_2024_02_29: i64 = 1_709_164_800_000;
    const T_2024_02_29_13: i64 = 1_709_211_600_000;
    const T_2024_03_01: i64 = 1_709_251_200_000;
    const T_2024_04_01: i64 = 1_711_929_600_000;
    const T_2024_05_01: i64 = 1_714_521_600_000;
    const T_2025_01_01: i64 = 1_735_689_600_000;
    const T_2100_02_01: i64 = 4_105_123_200_000;
    const T_2100_03_01: i64 = 4_107_542_400_000;

    #[test]
    fn parses_every_standard_interval() {
        let expected_len = [
            Some(1_000),
            Some(60_000),
            Some(180_000),
            Some(300_000),
            Some(900_000),
            Some(1_800_000),
            Some(3_600_000),
            Some(7_200_000),
            Some(14_400_000),
            Some(21_600_000),
            Some(28_800_000),
            Some(43_200_000),
            Some(86_400_000),
            Some(259_200_000),
            Some(604_800_000),
            None,
        ];
        let standard = Interval::standard();
        for (i, name) in STANDARD_INTERVALS.iter().enumerate() {
            let parsed = iv(name);
            assert_eq!(parsed, standard[i], "{name}");
            assert_eq!(parsed.to_string(), *name);
            assert_eq!(parsed.fixed_len_ms(), expected_len[i], "{name}");
            assert_eq!(name.parse::<Interval>(), Ok(parsed));
        }
        // All 16 are distinct.
        for i in 0..16 {
            for j in 0..i {
                assert_ne!(standard[i], standard[j]);
            }
        }
    }

    #[test]
    fn minute_and_month_are_case_sensitive() {
        let minute = iv("1m");
        let month = iv("1M");
        assert_ne!(minute, month);
        assert_eq!(minute.fixed_len_ms(), Some(60_000));
        assert_eq!(month.fixed_len_ms(), None);
        assert_eq!(minute.to_string(), "1m");
        assert_eq!(month.to_string(), "1M");
        assert_eq!(minute.open_time(T_2024_02_29_13 + 59_999), T_2024_02_29_13);
        assert_eq!(month.open_time(T_2024_02_29_13 + 59_999), T_2024_02_01);
    }

    #[test]
    fn parses_custom_intervals() {
        for (name, len) in [
            ("10s", 10_000),
            ("7m", 420_000),
            ("90m", 5_400_000),
            ("24h", 86_400_000),
            ("1440m", 86_400_000),
            ("86400s", 86_400_000),
            ("2d", 172_800_000),
            ("7d", 604_800_000),
            ("60s", 60_000),
            ("9223372036854775s", 9_223_372_036_854_775_000),
        ] {
            let parsed = iv(name);
            assert_eq!(parsed.fixed_len_ms(), Some(len), "{name}");
            assert_eq!(parsed.to_string(), name);
            // Custom intervals are epoch-aligned.
            assert_eq!(parsed.open_time(0), 0, "{name}");
            assert_eq!(parsed.open_time(len), len, "{name}");
            assert_eq!(parsed.open_time(-1), -len, "{name}");
        }
        // Same periods, different names: different values.
        assert_ne!(iv("60s"), iv("1m"));
        assert_ne!(iv("24h"), iv("1d"));
        assert_eq!(iv("24h"), iv("24h"));
        // A custom 7d is epoch-aligned (Thursday), unlike 1w (Monday).
        assert_eq!(iv("7d").open_time(T_2024_01_01), T_2024_01_01 - 4 * DAY_MS);
        assert_eq!(iv("1w").open_time(T_2024_01_01), T_2024_01_01);
    }

    #[test]
    fn day_24h_and_1440m_align_identically() {
        let variants = [iv("1d"), iv("24h"), iv("1440m"), iv("86400s")];
        let names: Vec<String> = variants.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["1d", "24h", "1440m", "86400s"]);
        let mut t = -3 * 365 * DAY_MS;
        while t < T_2025_01_01 {
            let open = variants[0].open_time(t);
            let next = variants[0].next_open(open);
            for v in &variants[1..] {
                assert_eq!(v.open_time(t), open, "{v} at {t}");
                assert_eq!(v.next_open(open), next, "{v} at {t}");
                assert_eq!(v.close_time(open), next - 1, "{v} at {t}");
            }
            t += 7 * HOUR_MS + 1_234_567;
        }
    }

    #[test]
    fn rejects_invalid_intervals() {
        for text in [
            "0m",
            "0s",
            "0w",
            "0M",
            "00m",
            "01m",
            "1w2",
            "2w",
            "2M",
            "12M",
            "1y",
            "",
            " 1m",
            "1m ",
            "1 m",
            "1m\n",
            "m",
            "M",
            "w",
            "-1m",
            "+1m",
            "1.5h",
            "1e3s",
            "0x10s",
            "1mo",
            "1S",
            "1H",
            "1D",
            "1W",
            "1min",
            "\u{0663}m", // ARABIC-INDIC DIGIT THREE: not an ASCII digit
            "1\u{ff4d}", // FULLWIDTH LATIN SMALL LETTER M
            "m1",
            "1mm",
            "1m,5m",
            "99999999999999999999s",
            "18446744073709551616s",
            "9223372036854776s", // count fits, but the length in ms overflows i64
            "9223372036854775808m",
            "106751991168d",
        ] {
            let err = Interval::parse(text).expect_err(text);
            assert_eq!(err.text(), text);
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("invalid interval {text:?}: ")),
                "{message}"
            );
            assert!(message.contains(VALID_HELP), "{message}");
            assert_eq!(text.parse::<Interval>(), Err(err));
        }
    }

    #[test]
    fn error_message_lists_what_is_valid() {
        let err = Interval::parse("2w").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid interval \"2w\": valid intervals are 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h \
             1d 3d 1w 1M, or N followed by s, m, h or d (e.g. 10s, 7m); note 1m is a minute and \
             1M a month"
        );
        assert!(VALID_HELP.contains(&STANDARD_INTERVALS.join(" ")));
        let boxed: Box<dyn std::error::Error> = Box::new(err);
        assert!(boxed.to_string().contains("1M a month"));
    }

    /// Every short string over a relevant alphabet: parse never panics, accepts exactly the
    /// grammar, and round-trips through Display.
    #[test]
    fn parse_accepts_exactly_the_grammar() {
        let alphabet = [
            '0', '1', '2', '9', 's', 'm', 'h', 'd', 'w', 'M', ' ', '+', '-', ',',
        ];
        let mut texts = vec![String::new()];
        for len in 1..=4 {
            let mut indices = vec![0usize; len];
            loop {
                texts.push(indices.iter().map(|&i| alphabet[i]).collect());
                let mut pos = 0;
                while pos < len {
                    indices[pos] += 1;
                    if indices[pos] < alphabet.len() {
                        break;
                    }
                    indices[pos] = 0;
                    pos += 1;
                }
                if pos == len {
                    break;
                }
            }
        }
        let mut accepted = 0;
        for text in &texts {
            let (number, unit) = text.split_at(text.len().saturating_sub(1));
            let well_formed = !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
                && !number.starts_with('0')
                && (["s", "m", "h", "d"].contains(&unit)
                    || (["w", "M"].contains(&unit) && number == "1"));
            match Interval::parse(text) {
                Ok(parsed) => {
                    assert!(well_formed, "accepted {text:?}");
                    assert_eq!(parsed.to_string(), *text);
                    accepted += 1;
                }
                Err(err) => {
                    assert!(!well_formed, "rejected {text:?}");
                    assert_eq!(err.text(), text);
                }
            }
        }
        // 1..=3 digit numbers without a leading zero over {0,1,2,9}, times 4 units, plus 1w, 1M.
        assert_eq!(accepted, (3 + 3 * 4 + 3 * 4 * 4) * 4 + 2);
    }

    #[test]
    fn parse_list_accepts_lists() {
        assert_eq!(
            Interval::parse_list("1m,5m,1w,1M"),
            Ok(vec![iv("1m"), iv("5m"), iv("1w"), iv("1M")])
        );
        assert_eq!(
            Interval::parse_list(" 1m , 5m,\t10s  "),
            Ok(vec![iv("1m"), iv("5m"), iv("10s")])
        );
        assert_eq!(Interval::parse_list("1M"), Ok(vec![iv("1M")]));
        // Same periods, different names: both kept (see the Interval docs).
        assert_eq!(
            Interval::parse_list("1m,60s"),
            Ok(vec![iv("1m"), iv("60s")])
        );
        assert_eq!(
            Interval::parse_list(&STANDARD_INTERVALS.join(",")),
            Ok(Interval::standard().to_vec())
        );
    }

    #[test]
    fn parse_list_rejects_duplicates() {
        let err = Interval::parse_list("1m,5m,1m").unwrap_err();
        assert_eq!(err.text(), "1m");
        assert_eq!(
            err.to_string(),
            "duplicate interval \"1m\" in list \"1m,5m,1m\": each interval may be listed only once"
        );
        let err = Interval::parse_list("1M, 1m ,1M").unwrap_err();
        assert_eq!(err.text(), "1M");
        assert!(err.to_string().starts_with("duplicate interval \"1M\""));
    }

    #[test]
    fn parse_list_rejects_empty_and_invalid_items() {
        for text in ["", " ", "1m,,5m", "1m,", ",1m", "1m, ,5m", ","] {
            let err = Interval::parse_list(text).expect_err(text);
            assert_eq!(err.text(), "");
            assert_eq!(
                err.to_string(),
                format!("empty interval in list {text:?}: {VALID_HELP}")
            );
        }
        let err = Interval::parse_list("1m, 2w").unwrap_err();
        assert_eq!(err.text(), "2w");
        assert_eq!(
            err.to_string(),
            format!("invalid interval \"2w\" in list \"1m, 2w\": {VALID_HELP}")
        );
        assert!(Interval::parse_list("1m;5m").is_err());
    }

    #[test]
    fn display_and_file_label() {
        assert_eq!(iv("1M").file_label().to_string(), "1mo");
        assert_eq!(iv("1m").file_label().to_string(), "1m");
        assert_eq!(iv("1w").file_label().to_string(), "1w");
        assert_eq!(iv("10s").file_label().to_string(), "10s");
        assert_eq!(format!("{:>4}|{:<4}|", iv("1h"), iv("15m")), "  1h|15m |");
        assert_eq!(format!("{:>4}", iv("1M").file_label()), " 1mo");
        assert_eq!(iv("9223372036854775s").to_string(), "9223372036854775s");
        // The returned label does not borrow the interval.
        let label = iv("1M").file_label();
        assert_eq!(label.to_string(), "1mo");
    }

    #[test]
    fn interval_is_small() {
        assert!(std::mem::size_of::<Interval>() <= 40);
    }

    #[test]
    fn boundaries_of_each_kind() {
        let s = SECOND_MS;
        check_boundary(
            iv("1s"),
            T_2024_01_01_00_01,
            T_2024_01_01_00_01 + s,
            T_2024_01_01_00_01 + 2 * s,
        );
        check_boundary(
            iv("1m"),
            T_2024_01_01,
            T_2024_01_01_00_01,
            1_704_067_320_000, // 2024-01-01T00:02:00Z
        );
        check_boundary(
            iv("1h"),
            1_709_208_000_000, // 2024-02-29T12:00:00Z
            T_2024_02_29_13,
            1_709_215_200_000, // 2024-02-29T14:00:00Z
        );
        check_boundary(iv("1d"), T_2024_02_28, T_2024_02_29, T_2024_03_01);
        check_boundary(iv("3d"), T_2023_12_28, T_2023_12_31, T_2024_01_03);
        check_boundary(
            iv("7m"),
            1_704_066_840_000, // 2023-12-31T23:54:00Z, 4_057_302 * 7 minutes after the epoch
            T_2024_01_01_00_01,
            1_704_067_680_000, // 2024-01-01T00:08:00Z
        );
        check_boundary(iv("1w"), T_2023_12_25, T_2024_01_01, T_2024_01_08);
        check_boundary(iv("1M"), T_2024_01_01, T_2024_02_01, T_2024_03_01);
    }

    #[test]
    fn weeks_start_on_monday() {
        let week = iv("1w");
        // 2024-01-01 was a Monday; the Sunday before ends the previous week.
        assert_eq!(week.open_time(T_2024_01_01 - 1), T_2023_12_25);
        assert_eq!(week.open_time(T_2024_01_01), T_2024_01_01);
        assert_eq!(week.open_time(T_2024_01_08 - 1), T_2024_01_01);
        assert_eq!(week.close_time(T_2023_12_25), T_2024_01_01 - 1);
        // Before the first Monday after the epoch (1970-01-05).
        assert_eq!(week.open_time(0), T_1969_12_29);
        assert_eq!(week.open_time(T_1970_01_04), T_1969_12_29);
        assert_eq!(week.open_time(T_1970_01_05 - 1), T_1969_12_29);
        assert_eq!(week.open_time(T_1970_01_05), T_1970_01_05);
        assert_eq!(week.next_open(T_1969_12_29), T_1970_01_05);
        assert_eq!(week.open_time(T_1969_12_29 - 1), T_1969_12_22);
        assert_eq!(week.open_time(T_1969_12_28), T_1969_12_22);
        assert_eq!(week.next_open(T_1969_12_22), T_1969_12_29);
    }

    #[test]
    fn months_follow_the_calendar() {
        let month = iv("1M");
        let cases = [
            (T_2024_02_01, T_2024_03_01, 29), // leap February
            (T_2023_02_01, T_2023_03_01, 28), // common February
            (T_2024_04_01, T_2024_05_01, 30), // April
            (T_2023_12_01, T_2024_01_01, 31), // December, across the year end
            (T_2000_02_01, T_2000_03_01, 29), // 2000 is a leap year (divisible by 400)
            (T_2100_02_01, T_2100_03_01, 28), // 2100 is not (century)
            (T_1969_12_01, 0, 31),            // before the epoch
            (0, T_1970_02_01, 31),            // the epoch month
        ];
        for (open, next, days) in cases {
            assert_eq!(next - open, days * DAY_MS, "{open}");
            assert_eq!(month.open_time(open), open, "{open}");
            assert_eq!(month.open_time(open + 1), open, "{open}");
            assert_eq!(month.open_time(next - 1), open, "{open}");
            assert_eq!(
                month.open_time(open - 1),
                month.open_time(open - DAY_MS),
                "{open}"
            );
            assert_eq!(month.open_time(next), next, "{open}");
            assert_eq!(month.next_open(open), next, "{open}");
            assert_eq!(month.close_time(open), next - 1, "{open}");
        }
        // Last millisecond of February 2024 and first of March.
        assert_eq!(month.open_time(T_2024_03_01 - 1), T_2024_02_01);
        assert_eq!(month.open_time(T_2024_03_01), T_2024_03_01);
        assert_eq!(month.open_time(-1), T_1969_12_01);
        assert_eq!(month.next_open(T_2023_12_01), T_2024_01_01);
        // Twelve months from 2024-01-01 reach 2025-01-01.
        let mut open = T_2024_01_01;
        for _ in 0..12 {
            open = month.next_open(open);
        }
        assert_eq!(open, T_2025_01_01);
    }

    #[test]
    fn year_end_for_day_and_week() {
        let last_ms_2023 = T_2024_01_01 - 1; // 2023-12-31T23:59:59.999Z
        let day = iv("1d");
        assert_eq!(day.open_time(last_ms_2023), T_2023_12_31);
        assert_eq!(day.close_time(T_2023_12_31), last_ms_2023);
        assert_eq!(day.open_time(T_2024_01_01), T_2024_01_01);
        let week = iv("1w");
        assert_eq!(week.open_time(last_ms_2023), T_2023_12_25);
        assert_eq!(week.close_time(T_2023_12_25), last_ms_2023);
        assert_eq!(week.open_time(T_2024_01_01), T_2024_01_01);
    }

    #[test]
    fn three_days_align_to_the_epoch() {
        let three = iv("3d");
        assert_eq!(three.open_time(0), 0);
        assert_eq!(three.open_time(T_1970_01_04 - 1), 0);
        assert_eq!(three.next_open(0), T_1970_01_04);
        assert_eq!(three.open_time(T_1970_01_04), T_1970_01_04);
        assert_eq!(three.open_time(-1), -3 * DAY_MS);
        // 2023-12-31 is day 19_722 = 3 * 6_574 after the epoch, so a 3d period starts there.
        assert_eq!(T_2023_12_31, 19_722 * DAY_MS);
        assert_eq!(three.open_time(T_2024_01_01), T_2023_12_31);
        assert_eq!(three.open_time(T_2024_01_03 - 1), T_2023_12_31);
        assert_eq!(three.next_open(T_2023_12_31), T_2024_01_03);
    }

    #[test]
    fn civil_dates_known_values() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), T_2024_02_29 / DAY_MS);
        assert_eq!(days_from_civil(2100, 3, 1), T_2100_03_01 / DAY_MS);
        assert_eq!(days_from_civil(0, 3, 1), -ERA_START_TO_EPOCH_DAYS);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(T_2024_02_29 / DAY_MS), (2024, 2, 29));
        assert_eq!(civil_from_days(T_2000_03_01 / DAY_MS - 1), (2000, 2, 29));
        assert_eq!(civil_from_days(T_2100_03_01 / DAY_MS - 1), (2100, 2, 28));
        assert_eq!(civil_from_days(-ERA_START_TO_EPOCH_DAYS - 1), (0, 2, 29));
    }

    /// Walks every day from -10000 to +10000 with a naive calendar and compares.
    #[test]
    fn civil_dates_match_a_day_by_day_walk() {
        let mut ahead = Walker::epoch();
        while ahead.year <= 10_000 {
            assert_eq!(
                civil_from_days(ahead.days),
                (ahead.year, ahead.month, ahead.day)
            );
            assert_eq!(
                days_from_civil(ahead.year, ahead.month, ahead.day),
                ahead.days
            );
            ahead.forward();
        }
        let mut behind = Walker::epoch();
        while behind.year >= -10_000 {
            assert_eq!(
                civil_from_days(behind.days),
                (behind.year, behind.month, behind.day)
            );
            assert_eq!(
                days_from_civil(behind.year, behind.month, behind.day),
                behind.days
            );
            behind.back();
        }
    }

    /// Samples every ~7 hours from 1969 to 2101 and checks months and weeks against a naive
    /// day-by-day calendar.
    #[test]
    fn periods_contain_their_times() {
        let month = iv("1M");
        let week = iv("1w");
        let start = -31_536_000_000; // 1969-01-01T00:00:00Z
        let end = 4_133_980_800_000; // 2101-01-01T00:00:00Z
        let mut walker = Walker::epoch();
        while walker.days > start / DAY_MS {
            walker.back();
        }
        assert_eq!((walker.year, walker.month, walker.day), (1969, 1, 1));
        let mut t = start;
        let mut samples = 0;
        while t < end {
            while walker.days < t.div_euclid(DAY_MS) {
                walker.forward();
            }
            for interval in [month, week] {
                let open = interval.open_time(t);
                let next = interval.next_open(open);
                assert!(open <= t && t < next, "{interval} at {t}");
                assert_eq!(interval.open_time(open), open, "{interval} at {t}");
                assert_eq!(interval.open_time(next - 1), open, "{interval} at {t}");
                assert_eq!(interval.open_time(next), next, "{interval} at {t}");
                assert_eq!(interval.close_time(open), next - 1, "{interval} at {t}");
            }
            let (year, mon, _) = civil_from_days(t.div_euclid(DAY_MS));
            assert_eq!((year, mon), (walker.year, walker.month), "{t}");
            let month_open = days_from_civil(year, mon, 1) * DAY_MS;
            assert_eq!(month.open_time(t), month_open, "{t}");
            assert_eq!(month_open, (walker.days - (walker.day - 1)) * DAY_MS, "{t}");
            assert_eq!(
                month.next_open(month_open) - month_open,
                month_len(walker.year, walker.month) * DAY_MS,
                "{t}"
            );
            assert_eq!(
                week.open_time(t),
                (walker.days - walker.weekday) * DAY_MS,
                "{t}"
            );
            samples += 1;
            t += 7 * HOUR_MS + 1_234_567;
        }
        assert!(samples > 150_000);
    }

    /// Times ±10,000 years from the epoch neither overflow nor misplace periods.
    #[test]
    fn far_times_do_not_overflow() {
        let mut intervals = Interval::standard().to_vec();
        intervals.extend(["10s", "7m", "2d", "9223372036854775s", "106751991167d"].map(iv));
        for t in [
            days_from_civil(-10_000, 1, 1) * DAY_MS,
            days_from_civil(-10_000, 1, 1) * DAY_MS + 1,
            days_from_civil(10_000, 12, 31) * DAY_MS + DAY_MS - 1,
            days_from_civil(10_000, 12, 31) * DAY_MS,
        ] {
            for interval in &intervals {
                let open = interval.open_time(t);
                let next = interval.next_open(open);
                assert!(open <= t && t < next, "{interval} at {t}");
                assert_eq!(interval.open_time(open), open, "{interval} at {t}");
                assert_eq!(interval.close_time(open), next - 1, "{interval} at {t}");
            }
        }
        let month = iv("1M");
        let t = days_from_civil(10_000, 12, 31) * DAY_MS;
        assert_eq!(month.open_time(t), days_from_civil(10_000, 12, 1) * DAY_MS);
        assert_eq!(
            month.next_open(month.open_time(t)),
            days_from_civil(10_001, 1, 1) * DAY_MS
        );
    }
}
