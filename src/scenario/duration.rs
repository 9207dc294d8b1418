//! Human durations (`"450ms"`, `"1.5s"`, `"1m30s"`) to integer nanoseconds.

use std::fmt;

/// The units a duration may use, with their length in nanoseconds.
pub const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
];

/// Why a duration string was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError {
    /// What is wrong with the text.
    pub message: String,
    /// How to write it instead.
    pub hint: Option<String>,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for DurationError {}

const UNIT_LIST: &str = "units are `ns`, `us`, `ms`, `s`, `m` (minutes) and `h`";

fn err(message: impl Into<String>, hint: impl Into<String>) -> DurationError {
    DurationError { message: message.into(), hint: Some(hint.into()) }
}

/// Parses a duration: one or more `<number><unit>` parts with no spaces
/// between them, e.g. `"450ms"`, `"4s"`, `"1.5s"`, `"2m"`, `"1h"`,
/// `"250us"`, `"10ns"`, `"1m30s"`. Units are `ns`, `us` (or `µs`), `ms`,
/// `s`, `m` (minutes), `h`. A part may have a decimal fraction as long as
/// the result is a whole number of nanoseconds. Surrounding whitespace is
/// ignored. Returns nanoseconds, or an error if the text is malformed or
/// the total does not fit in a `u64` (about 584 years). An error quotes at
/// most [`MAX_ECHO_CHARS`](super::MAX_ECHO_CHARS) characters of the text
/// in its message and in its hint.
pub fn parse_duration(text: &str) -> Result<u64, DurationError> {
    parse_unclipped(text).map_err(|e| DurationError {
        message: super::error::clip(&e.message, 2 * super::error::MAX_ECHO_CHARS),
        hint: e.hint.map(|h| super::error::clip(&h, 2 * super::error::MAX_ECHO_CHARS)),
    })
}

fn parse_unclipped(text: &str) -> Result<u64, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(err("empty duration", "write a number followed by a unit, e.g. \"450ms\" or \"1m30s\""));
    }
    if let Some(rest) = s.strip_prefix('-') {
        return Err(err(
            format!("negative duration `{s}`"),
            format!("durations cannot be negative; did you mean \"{rest}\"?"),
        ));
    }
    if s.chars().any(char::is_whitespace) {
        let joined: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        // First say what is wrong with the parts themselves (e.g. an unknown unit).
        parse_unclipped(&joined)?;
        return Err(err(
            format!("spaces inside duration `{s}`"),
            format!("write the parts together, e.g. \"{joined}\""),
        ));
    }
    if is_number(s) {
        return Err(err(format!("`{s}` has no unit"), format!("add a unit, e.g. \"{s}s\" or \"{s}ms\"; {UNIT_LIST}")));
    }

    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number = &rest[..num_len];
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];

        if number.is_empty() {
            return Err(err(
                format!("expected a number before `{unit}` in `{s}`"),
                "write a number followed by a unit, e.g. \"450ms\" or \"1m30s\"",
            ));
        }
        if unit.is_empty() {
            return Err(err(
                format!("`{number}` in `{s}` has no unit"),
                format!("give every part a unit, e.g. \"1m30s\"; {UNIT_LIST}"),
            ));
        }
        let Some(&(_, unit_ns)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            let hint = match suggest_unit(unit) {
                Some(u) => format!("did you mean `{u}`? {UNIT_LIST}"),
                None => UNIT_LIST.to_string(),
            };
            return Err(err(format!("unknown unit `{unit}` in `{s}`"), hint));
        };
        let part = part_ns(number, unit_ns, s)?;
        total = total.checked_add(part).ok_or_else(|| too_long(s))?;
    }
    u64::try_from(total).map_err(|_| too_long(s))
}

fn too_long(s: &str) -> DurationError {
    err(format!("duration `{s}` is too long"), "the longest duration is about 584 years (2^64 - 1 ns)")
}

/// `digits[.digits]`, at least one digit overall.
fn is_number(s: &str) -> bool {
    let mut dots = 0;
    let mut digits = 0;
    for c in s.chars() {
        match c {
            '.' => dots += 1,
            '0'..='9' => digits += 1,
            _ => return false,
        }
    }
    dots <= 1 && digits >= 1
}

fn part_ns(number: &str, unit_ns: u64, whole: &str) -> Result<u128, DurationError> {
    let (int, frac) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
        return Err(err(
            format!("malformed number `{number}` in `{whole}`"),
            "write numbers like `4`, `1.5` or `0.25`",
        ));
    }
    let unit = u128::from(unit_ns);
    let mut total: u128 = 0;
    for d in int.bytes() {
        total =
            total.checked_mul(10).and_then(|t| t.checked_add(u128::from(d - b'0'))).ok_or_else(|| too_long(whole))?;
        // Anything above u64::MAX ns is rejected anyway; stop before u128 overflows.
        if total > u128::from(u64::MAX) {
            return Err(too_long(whole));
        }
    }
    total = total.checked_mul(unit).ok_or_else(|| too_long(whole))?;

    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        let sub_ns = || {
            err(
                format!("`{number}` is finer than one nanosecond in `{whole}`"),
                "durations are whole nanoseconds; use fewer decimals or a smaller unit",
            )
        };
        if frac.len() > 20 {
            return Err(sub_ns());
        }
        let mut f: u128 = 0;
        for d in frac.bytes() {
            f = f * 10 + u128::from(d - b'0');
        }
        let scale = 10u128.pow(frac.len() as u32);
        let scaled = f * unit;
        if scaled % scale != 0 {
            return Err(sub_ns());
        }
        total = total.checked_add(scaled / scale).ok_or_else(|| too_long(whole))?;
    }
    Ok(total)
}

fn suggest_unit(unit: &str) -> Option<&'static str> {
    let u = unit.to_ascii_lowercase();
    Some(match u.as_str() {
        "ns" | "nsec" | "nanos" | "nanosecond" | "nanoseconds" => "ns",
        "us" | "usec" | "micros" | "microsecond" | "microseconds" => "us",
        "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => "ms",
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn single_units() {
        assert_eq!(parse_duration("450ms"), Ok(450_000_000));
        assert_eq!(parse_duration("4s"), Ok(4 * S));
        assert_eq!(parse_duration("2m"), Ok(120 * S));
        assert_eq!(parse_duration("1h"), Ok(3600 * S));
        assert_eq!(parse_duration("250us"), Ok(250_000));
        assert_eq!(parse_duration("250µs"), Ok(250_000));
        assert_eq!(parse_duration("10ns"), Ok(10));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration(" 3s "), Ok(3 * S));
    }

    #[test]
    fn fractions() {
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("0.25ms"), Ok(250_000));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_duration("2.s"), Ok(2 * S));
        assert_eq!(parse_duration("1.000000000000000000000000s"), Ok(S));
        assert_eq!(parse_duration("0.000000001s"), Ok(1));
        let e = parse_duration("1.5ns").unwrap_err();
        assert!(e.message.contains("finer than one nanosecond"), "{e}");
        assert!(parse_duration("0.0000000001s").is_err());
    }

    #[test]
    fn compound() {
        assert_eq!(parse_duration("1m30s"), Ok(90 * S));
        assert_eq!(parse_duration("1h2m3s4ms"), Ok(3723 * S + 4_000_000));
        assert_eq!(parse_duration("1s1s"), Ok(2 * S));
    }

    #[test]
    fn bare_number_needs_unit() {
        for text in ["5", "1.5", "0"] {
            let e = parse_duration(text).unwrap_err();
            assert!(e.message.contains("has no unit"), "{e}");
            assert!(e.hint.as_deref().unwrap().contains("add a unit"), "{e}");
        }
        let e = parse_duration("1m30").unwrap_err();
        assert!(e.message.contains("`30`"), "{e}");
    }

    #[test]
    fn bad_units_and_shapes() {
        let e = parse_duration("5sec").unwrap_err();
        assert!(e.message.contains("unknown unit `sec`"), "{e}");
        assert!(e.hint.as_deref().unwrap().contains("did you mean `s`?"), "{e}");
        let e = parse_duration("5d").unwrap_err();
        assert!(e.hint.as_deref().unwrap().contains("`ms`"), "{e}");
        assert!(parse_duration("").is_err());
        assert!(parse_duration("   ").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("1..5s").is_err());
        assert!(parse_duration(".s").is_err());
        assert!(parse_duration("1.2.3s").is_err());
        let e = parse_duration("-5s").unwrap_err();
        assert!(e.message.contains("negative"), "{e}");
        let e = parse_duration("1m 30s").unwrap_err();
        assert!(e.hint.as_deref().unwrap().contains("\"1m30s\""), "{e}");
        let e = parse_duration("5 minutes").unwrap_err();
        assert!(e.hint.as_deref().unwrap().contains("did you mean `m`?"), "{e}");
    }

    #[test]
    fn overflow_is_an_error() {
        assert_eq!(parse_duration("18446744073709551615ns"), Ok(u64::MAX));
        assert!(parse_duration("18446744073709551616ns").is_err());
        assert!(parse_duration("5124095h").is_ok());
        assert!(parse_duration("5124095h1h").is_err());
        assert!(parse_duration("5124096h").is_err());
        assert!(parse_duration("99999999999999999999999999999999999999999h").is_err());
        let e = parse_duration("1000000000000h").unwrap_err();
        assert!(e.message.contains("too long"), "{e}");
    }
}
