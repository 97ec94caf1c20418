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
mod tests;
