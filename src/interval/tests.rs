//! Tests of the parent module.
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
