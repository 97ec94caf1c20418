//! Property tests for `klagg::decimal`: round trips, a reference model of the grammar, and
//! fuzz-style inputs that must never panic.

use klagg::decimal::{
    DecimalError, ONE, SCALE, Scaled, decimal_text_eq, parse_fixed, write_scaled,
};
use proptest::prelude::*;

fn format(value: i128, scale: u32, min_frac: u32) -> String {
    let mut out = Vec::new();
    write_scaled(value, scale, min_frac, &mut out);
    String::from_utf8(out).expect("write_scaled writes ASCII")
}

/// `[0-9]+(\.[0-9]+)?`, written independently of the parser.
fn matches_grammar(text: &[u8]) -> bool {
    let (int, frac) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (&text[..dot], Some(&text[dot + 1..])),
        None => (text, None),
    };
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    digits(int) && frac.is_none_or(digits)
}

/// What `parse_fixed` must return for a text that matches the grammar, computed the slow way.
fn reference_value(text: &[u8]) -> Result<i64, DecimalError> {
    let text = std::str::from_utf8(text).unwrap();
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > SCALE as usize && frac[SCALE as usize..].bytes().any(|b| b != b'0') {
        return Err(DecimalError::TooManyFractionDigits);
    }
    let int = int.trim_start_matches('0');
    if int.len() > 30 {
        return Err(DecimalError::Overflow);
    }
    let mut frac = frac.chars().take(SCALE as usize).collect::<String>();
    while frac.len() < SCALE as usize {
        frac.push('0');
    }
    let units: u128 = format!("0{int}{frac}").parse().unwrap();
    i64::try_from(units).map_err(|_| DecimalError::Overflow)
}

/// Bytes drawn mostly from the characters the parser treats specially.
fn tricky_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        6 => b'0'..=b'9',
        2 => Just(b'.'),
        1 => prop::sample::select(b"eE+-_ naifNIF\xff\x00".to_vec()),
        1 => any::<u8>(),
    ];
    prop_oneof![
        prop::collection::vec(byte, 0..40),
        // Valid shapes with long runs, to reach the overflow and fraction-length limits.
        r"[0-9]{1,25}(\.[0-9]{1,14})?".prop_map(String::into_bytes),
        r"0{0,12}[0-9]{1,12}\.[0-9]{8}0{0,12}[0-9]?".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn i64_round_trips_through_text(v in 0..=i64::MAX) {
        for min_frac in [0, 2, SCALE] {
            let text = format(i128::from(v), SCALE, min_frac);
            prop_assert_eq!(parse_fixed(text.as_bytes()), Ok(v), "{}", text);
            let display = Scaled { value: i128::from(v), scale: SCALE, min_frac }.to_string();
            prop_assert_eq!(display, text);
        }
    }

    #[test]
    fn small_values_round_trip(v in 0..=1_000 * ONE) {
        let text = format(i128::from(v), SCALE, 0);
        prop_assert_eq!(parse_fixed(text.as_bytes()), Ok(v));
    }

    #[test]
    fn decimal_text_round_trips_numerically(text in r"[0-9]{1,11}(\.[0-9]{1,8})?") {
        match parse_fixed(text.as_bytes()) {
            Ok(v) => {
                prop_assert!(v >= 0);
                for min_frac in [0, SCALE] {
                    let back = format(i128::from(v), SCALE, min_frac);
                    prop_assert_eq!(decimal_text_eq(&back, &text), Some(true), "{} vs {}", back, text);
                }
            }
            Err(e) => {
                prop_assert_eq!(e, DecimalError::Overflow);
                let int: u64 = text.split('.').next().unwrap().parse().unwrap();
                prop_assert!(int >= 92_233_720_368, "{}", text);
            }
        }
    }

    #[test]
    fn padded_decimals_parse_to_the_same_value(
        text in r"[0-9]{1,11}(\.[0-9]{1,8})?",
        leading in 0..5usize,
        trailing in 0..12usize,
    ) {
        let mut padded = "0".repeat(leading) + &text;
        if !text.contains('.') && trailing > 0 {
            padded.push('.');
        }
        padded.push_str(&"0".repeat(trailing));
        prop_assert_eq!(parse_fixed(padded.as_bytes()), parse_fixed(text.as_bytes()));
        prop_assert_eq!(decimal_text_eq(&padded, &text), Some(true));
    }

    #[test]
    fn parse_matches_reference_model(bytes in tricky_bytes()) {
        let got = parse_fixed(&bytes);
        if matches_grammar(&bytes) {
            prop_assert_eq!(got, reference_value(&bytes), "{:?}", String::from_utf8_lossy(&bytes));
        } else {
            prop_assert!(
                !matches!(got, Ok(_) | Err(DecimalError::Overflow | DecimalError::TooManyFractionDigits)),
                "{:?} -> {:?}", String::from_utf8_lossy(&bytes), got
            );
            if let Err(DecimalError::InvalidByte { position, byte }) = got {
                prop_assert_eq!(bytes.get(position), Some(&byte));
                prop_assert!(!bytes.iter().any(|b| b.eq_ignore_ascii_case(&b'e')));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let got = parse_fixed(&bytes);
        if got.is_ok() {
            prop_assert!(matches_grammar(&bytes), "{:?}", bytes);
        }
        let text = String::from_utf8_lossy(&bytes);
        let _ = decimal_text_eq(&text, "1");
        let _ = decimal_text_eq("1", &text);
        if let Some(eq) = decimal_text_eq(&text, &text) {
            prop_assert!(eq);
        }
    }

    #[test]
    fn write_scaled_any_i128_is_exact(
        value in any::<i128>(),
        scale in 0..=40u32,
        min_frac in 0..=45u32,
    ) {
        let text = format(value, scale, min_frac);
        let display = Scaled { value, scale, min_frac }.to_string();
        prop_assert_eq!(&display, &text);

        let unsigned = text.strip_prefix('-').unwrap_or(&text);
        prop_assert_eq!(text.starts_with('-'), value < 0);
        prop_assert!(!text.contains(['e', 'E', '+']));
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let frac_len = u32::try_from(frac.len()).unwrap();
        prop_assert!(!int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()));
        prop_assert!(int == "0" || !int.starts_with('0'), "{}", text);
        prop_assert!(frac.bytes().all(|b| b.is_ascii_digit()));
        prop_assert!(frac_len <= scale);
        prop_assert!(frac_len >= min_frac.min(scale));
        if frac_len > min_frac {
            prop_assert!(!frac.ends_with('0'), "{}", text);
        }
        if unsigned.contains('.') {
            prop_assert!(!frac.is_empty());
        }

        // Reassemble the integer: int digits, then the fraction padded out to `scale`.
        let digits = format!("{int}{frac}{}", "0".repeat(scale as usize - frac.len()));
        let back: u128 = digits.parse().unwrap();
        prop_assert_eq!(back, value.unsigned_abs());
    }

    #[test]
    fn text_eq_agrees_with_parse(a in r"[0-9]{1,10}(\.[0-9]{1,10})?", b in r"[0-9]{1,10}(\.[0-9]{1,10})?") {
        if let (Ok(x), Ok(y)) = (parse_fixed(a.as_bytes()), parse_fixed(b.as_bytes())) {
            prop_assert_eq!(decimal_text_eq(&a, &b), Some(x == y));
            let neg_a = format!("-{a}");
            prop_assert_eq!(decimal_text_eq(&neg_a, &b), Some(x == 0 && y == 0));
        }
    }

    #[test]
    fn text_eq_sees_a_changed_digit(
        text in r"[1-9][0-9]{0,20}\.[0-9]{0,20}[1-9]",
        index in any::<prop::sample::Index>(),
        bump in 1u8..=9,
    ) {
        let mut bytes = text.clone().into_bytes();
        let digit_positions: Vec<usize> =
            (0..bytes.len()).filter(|&i| bytes[i].is_ascii_digit()).collect();
        let i = *index.get(&digit_positions);
        bytes[i] = b'0' + (bytes[i] - b'0' + bump) % 10;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert_eq!(decimal_text_eq(&text, &changed), Some(false), "{} vs {}", text, changed);
    }
}
