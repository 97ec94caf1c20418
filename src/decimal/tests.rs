//! Tests of the parent module.
use super::*;

fn fmt(value: i128, scale: u32, min_frac: u32) -> String {
    let mut out = Vec::new();
    write_scaled(value, scale, min_frac, &mut out);
    let text = String::from_utf8(out).expect("ascii");
    let display = Scaled {
        value,
        scale,
        min_frac,
    }
    .to_string();
    assert_eq!(text, display, "write_scaled and Display disagree");
    text
}

fn invalid(position: usize, byte: u8) -> Result<i64, DecimalError> {
    Err(DecimalError::InvalidByte { position, byte })
}

#[test]
fn parses_accepted_forms_exactly() {
    assert_eq!(parse_fixed(b"0"), Ok(0));
    assert_eq!(parse_fixed(b"0.0"), Ok(0));
    assert_eq!(parse_fixed(b"000"), Ok(0));
    assert_eq!(parse_fixed(b"42"), Ok(42 * ONE));
    assert_eq!(parse_fixed(b"007.5"), Ok(750_000_000));
    assert_eq!(parse_fixed(b"37000.10"), Ok(3_700_010_000_000));
    assert_eq!(parse_fixed(b"0.005"), Ok(500_000));
    assert_eq!(parse_fixed(b"0.00000001"), Ok(1));
    assert_eq!(parse_fixed(b"1.23456789"), Ok(123_456_789));
    assert_eq!(parse_fixed(b"7180.97000000"), Ok(718_097_000_000));
    assert_eq!(parse_fixed(b"1.000000000"), Ok(ONE));
    assert_eq!(parse_fixed(b"1.00000001000000000000"), Ok(ONE + 1));
    assert_eq!(parse_fixed(b"92233720368.54775807"), Ok(i64::MAX));
    assert_eq!(parse_fixed(b"00092233720368.547758070"), Ok(i64::MAX));
    assert_eq!(parse_fixed(b"92233720368"), Ok(92_233_720_368 * ONE));
}

#[test]
fn rejects_empty_and_sign() {
    assert_eq!(parse_fixed(b""), Err(DecimalError::Empty));
    assert_eq!(parse_fixed(b"-1"), Err(DecimalError::Sign));
    assert_eq!(parse_fixed(b"+1"), Err(DecimalError::Sign));
    assert_eq!(parse_fixed(b"-"), Err(DecimalError::Sign));
    assert_eq!(parse_fixed(b"-inf"), Err(DecimalError::Sign));
    assert_eq!(parse_fixed(b"-1e5"), Err(DecimalError::Sign));
}

#[test]
fn rejects_exponent_before_invalid_byte() {
    assert_eq!(parse_fixed(b"1e5"), Err(DecimalError::Exponent));
    assert_eq!(parse_fixed(b"1.5E-3"), Err(DecimalError::Exponent));
    assert_eq!(parse_fixed(b"1E"), Err(DecimalError::Exponent));
    assert_eq!(parse_fixed(b"x1e5"), Err(DecimalError::Exponent));
    assert_eq!(parse_fixed(b"1.0 e"), Err(DecimalError::Exponent));
    assert_eq!(parse_fixed(b"e"), Err(DecimalError::Exponent));
}

#[test]
fn rejects_non_finite_in_any_case() {
    for text in [
        &b"nan"[..],
        b"NaN",
        b"NAN",
        b"inf",
        b"Inf",
        b"INF",
        b"infinity",
        b"Infinity",
        b"INFINITY",
    ] {
        assert_eq!(parse_fixed(text), Err(DecimalError::NotFinite), "{text:?}");
    }
    // Not exactly one of the words: an ordinary shape error.
    assert_eq!(parse_fixed(b"infinit"), invalid(0, b'i'));
    assert_eq!(parse_fixed(b"1nan"), invalid(1, b'n'));
}

#[test]
fn rejects_too_many_fraction_digits() {
    assert_eq!(
        parse_fixed(b"0.000000001"),
        Err(DecimalError::TooManyFractionDigits)
    );
    assert_eq!(
        parse_fixed(b"1.123456780001"),
        Err(DecimalError::TooManyFractionDigits)
    );
    // Shape errors win over value errors, wherever they are.
    assert_eq!(parse_fixed(b"0.000000001x"), invalid(11, b'x'));
}

#[test]
fn rejects_overflow() {
    assert_eq!(
        parse_fixed(b"92233720368.54775808"),
        Err(DecimalError::Overflow)
    );
    assert_eq!(parse_fixed(b"92233720369"), Err(DecimalError::Overflow));
    assert_eq!(
        parse_fixed(b"184467440737095516160"),
        Err(DecimalError::Overflow)
    );
    assert_eq!(
        parse_fixed(&[b'9'; 200]),
        Err(DecimalError::Overflow),
        "long digit runs must not wrap"
    );
    assert_eq!(
        parse_fixed(b"99999999999999999999.000000001"),
        Err(DecimalError::TooManyFractionDigits)
    );
    assert_eq!(parse_fixed(b"99999999999999999999x"), invalid(20, b'x'));
}

#[test]
fn rejects_invalid_bytes_with_position() {
    assert_eq!(parse_fixed(b".5"), invalid(0, b'.'));
    assert_eq!(parse_fixed(b"5."), invalid(1, b'.'));
    assert_eq!(parse_fixed(b"."), invalid(0, b'.'));
    assert_eq!(parse_fixed(b"1.2.3"), invalid(3, b'.'));
    assert_eq!(parse_fixed(b"1..2"), invalid(2, b'.'));
    assert_eq!(parse_fixed(b" 1"), invalid(0, b' '));
    assert_eq!(parse_fixed(b"1 "), invalid(1, b' '));
    assert_eq!(parse_fixed(b"1_000"), invalid(1, b'_'));
    assert_eq!(parse_fixed(b"1.0_0"), invalid(3, b'_'));
    assert_eq!(parse_fixed(b"12,5"), invalid(2, b','));
    assert_eq!(parse_fixed(b"1-2"), invalid(1, b'-'));
    assert_eq!(parse_fixed(b"\xff"), invalid(0, 0xff));
    assert_eq!(parse_fixed(b"1\x00"), invalid(1, 0));
}

#[test]
fn error_display_names_the_problem() {
    assert_eq!(DecimalError::Empty.to_string(), "empty decimal text");
    assert!(DecimalError::Exponent.to_string().contains("exponent"));
    assert!(DecimalError::Overflow.to_string().contains("i64"));
    assert_eq!(
        DecimalError::InvalidByte {
            position: 3,
            byte: b'_'
        }
        .to_string(),
        "invalid byte '_' at position 3 in decimal text"
    );
    assert_eq!(
        DecimalError::InvalidByte {
            position: 0,
            byte: b' '
        }
        .to_string(),
        "invalid byte 0x20 at position 0 in decimal text"
    );
}

#[test]
fn write_scaled_min_frac() {
    assert_eq!(fmt(123_450_000, 8, 2), "1.2345");
    assert_eq!(fmt(123_450_000, 8, 0), "1.2345");
    assert_eq!(fmt(123_450_000, 8, 6), "1.234500");
    assert_eq!(fmt(100_000_000, 8, 0), "1");
    assert_eq!(fmt(100_000_000, 8, 2), "1.00");
    assert_eq!(fmt(100_000_000, 8, 8), "1.00000000");
    assert_eq!(fmt(100_000_000, 8, 99), "1.00000000");
    assert_eq!(fmt(5, 8, 0), "0.00000005");
    assert_eq!(fmt(0, 8, 0), "0");
    assert_eq!(fmt(0, 8, 8), "0.00000000");
    assert_eq!(fmt(0, 0, 0), "0");
    assert_eq!(fmt(120, 0, 5), "120");
    assert_eq!(fmt(1_000_000_000, 8, 0), "10");
    assert_eq!(fmt(i128::from(i64::MAX), 8, 0), "92233720368.54775807");
}

#[test]
fn write_scaled_negative() {
    assert_eq!(fmt(-5, 8, 0), "-0.00000005");
    assert_eq!(fmt(-123_450_000, 8, 8), "-1.23450000");
    assert_eq!(fmt(-100_000_000, 8, 0), "-1");
    assert_eq!(fmt(-7, 0, 0), "-7");
}

#[test]
fn write_scaled_beyond_i64() {
    // A quote volume in 1e-16 units: 123456789012.3456789012345678.
    let quote = 1_234_567_890_123_456_789_012_345_678_i128;
    assert_eq!(fmt(quote, 16, 8), "123456789012.3456789012345678");
    assert_eq!(fmt(quote * 100, 18, 8), "123456789012.3456789012345678");
    assert_eq!(fmt(10_i128.pow(20), 16, 8), "10000.00000000");
    assert_eq!(
        fmt(i128::MAX, 0, 0),
        "170141183460469231731687303715884105727"
    );
    assert_eq!(
        fmt(i128::MIN, 0, 0),
        "-170141183460469231731687303715884105728"
    );
    assert_eq!(
        fmt(i128::MIN, 38, 0),
        "-1.70141183460469231731687303715884105728"
    );
    assert_eq!(
        fmt(i128::MAX, 39, 0),
        "0.170141183460469231731687303715884105727"
    );
    assert_eq!(fmt(1, 38, 0), format!("0.{}1", "0".repeat(37)));
    assert_eq!(fmt(-1, 38, 38), format!("-0.{}1", "0".repeat(37)));
}

#[test]
fn write_scaled_huge_scale_is_exact() {
    assert_eq!(fmt(25, 100, 0), format!("0.{}25", "0".repeat(98)));
    assert_eq!(fmt(-25, 100, 0), format!("-0.{}25", "0".repeat(98)));
    assert_eq!(fmt(0, 100, 3), "0.000");
    assert_eq!(fmt(3, 200, 200), format!("0.{}3", "0".repeat(199)));
    assert_eq!(fmt(i128::MIN, 70, 0).len(), 2 + 70 + 1);
}

#[test]
fn write_scaled_appends() {
    let mut out = b"price=".to_vec();
    write_scaled(150_000_000, 8, 0, &mut out);
    out.push(b';');
    assert_eq!(out, b"price=1.5;");
}

#[test]
fn scaled_display_honours_width_and_flags() {
    let v = Scaled {
        value: -150_000_000,
        scale: 8,
        min_frac: 2,
    };
    assert_eq!(format!("{v}"), "-1.50");
    assert_eq!(format!("{v:>8}"), "   -1.50");
    assert_eq!(format!("{v:<8}|"), "-1.50   |");
    assert_eq!(format!("{v:08}"), "-0001.50");
    let p = Scaled {
        value: 5,
        scale: 1,
        min_frac: 0,
    };
    assert_eq!(format!("{p:+}"), "+0.5");
    assert_eq!(format!("{p:.0}"), "0.5", "precision must not round");
}

#[test]
fn text_eq_ignores_zero_padding() {
    assert_eq!(decimal_text_eq("7180.97000000", "7180.97"), Some(true));
    assert_eq!(decimal_text_eq("522.0", "522"), Some(true));
    assert_eq!(decimal_text_eq("000522", "522.000"), Some(true));
    assert_eq!(decimal_text_eq("0", "0.0000"), Some(true));
    assert_eq!(decimal_text_eq("-0", "0"), Some(true));
    assert_eq!(decimal_text_eq("-0.000", "+0"), Some(true));
    assert_eq!(decimal_text_eq("+1.5", "1.50"), Some(true));
    assert_eq!(decimal_text_eq("-1.5", "-01.50"), Some(true));
    assert_eq!(
        decimal_text_eq(
            "12345678901234567890.123456789012345678",
            "12345678901234567890.1234567890123456780000"
        ),
        Some(true)
    );
}

#[test]
fn text_eq_detects_differences() {
    assert_eq!(decimal_text_eq("7180.97", "7180.970001"), Some(false));
    assert_eq!(decimal_text_eq("1.5", "-1.5"), Some(false));
    assert_eq!(decimal_text_eq("10", "1"), Some(false));
    assert_eq!(decimal_text_eq("0.1", "0.01"), Some(false));
    assert_eq!(decimal_text_eq("100", "0.100"), Some(false));
    assert_eq!(
        decimal_text_eq(
            "12345678901234567890.123456789012345678",
            "12345678901234567890.123456789012345679"
        ),
        Some(false)
    );
}

#[test]
fn text_eq_rejects_non_plain_decimals() {
    for bad in [
        "", "-", "+", ".5", "5.", "1.2.3", "1e5", "nan", "inf", " 1", "1 ", "--1", "+-1", "1_0",
        "0x10",
    ] {
        assert_eq!(decimal_text_eq(bad, "1"), None, "{bad:?}");
        assert_eq!(decimal_text_eq("1", bad), None, "{bad:?}");
    }
}
