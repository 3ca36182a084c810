//! Human units in scenario files: sizes (`512B`, `4KiB`), durations (`500us`,
//! `2ms`, `30s`), rates (`50k/s`) and counts (`5_000_000`, `5M`).
//!
//! Owns parsing, canonical formatting and the JSON Schema of each unit type.
//! Every type deserializes from its string form (and, where it makes sense,
//! a plain integer) and serializes back to a canonical string, so a resolved
//! scenario round-trips. Parse errors are lowercase fragments that say what
//! was expected; the loader adds file, line and path.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Regex (JSON Schema `pattern`) for sizes; kept in sync with [`parse_size`].
pub const SIZE_PATTERN: &str =
    r"^\s*[0-9][0-9_]*(\.[0-9]+)?\s*(B|KiB|MiB|GiB|TiB|KB|kB|MB|GB|TB)?\s*$";
/// Regex for durations; kept in sync with [`parse_duration`].
pub const DURATION_PATTERN: &str = r"^\s*([0-9][0-9_]*(\.[0-9]+)?\s*(ns|us|µs|ms|s|m|min|h)\s*)+$";
/// Regex for rates; kept in sync with [`parse_rate`].
pub const RATE_PATTERN: &str = r"^\s*[0-9][0-9_]*(\.[0-9]+)?\s*[kMG]?\s*/\s*(s|ms|m|min)\s*$";
/// Regex for counts; kept in sync with [`parse_count`].
pub const COUNT_PATTERN: &str = r"^\s*[0-9][0-9_]*(\.[0-9]+)?\s*[kMG]?\s*$";

const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("KB", 1_000),
    ("kB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
];

const DURATION_UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

const COUNT_SUFFIXES: &[(&str, u64)] = &[
    ("", 1),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
];

/// Splits `text` into a number (underscores allowed) and the unit after it.
fn split_number(text: &str) -> Result<(f64, bool, &str), String> {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '_' || *c == '.'))
        .map_or(t.len(), |(i, _)| i);
    let (num, rest) = t.split_at(end);
    let digits: String = num.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("`{text}` does not start with a number"));
    }
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("`{num}` is not a number"))?;
    Ok((value, digits.contains('.'), rest.trim()))
}

fn scale(value: f64, fractional: bool, factor: u64, text: &str) -> Result<u64, String> {
    if !fractional {
        let whole: u64 = format!("{value:.0}")
            .parse()
            .map_err(|_| format!("`{text}` is too large"))?;
        return whole
            .checked_mul(factor)
            .ok_or_else(|| format!("`{text}` is too large"));
    }
    let scaled = value * factor as f64;
    if scaled >= u64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    if scaled.fract() != 0.0 {
        return Err(format!("`{text}` is not a whole number"));
    }
    Ok(scaled as u64)
}

fn unit_list(units: &[(&str, u64)]) -> String {
    units
        .iter()
        .filter(|(u, _)| !u.is_empty())
        .map(|(u, _)| *u)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a size such as `512B`, `4KiB`, `1.5MiB` or `4096` (bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (value, fractional, unit) = split_number(text)?;
    let unit = if unit.is_empty() { "B" } else { unit };
    let Some((_, factor)) = SIZE_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!(
            "unknown size unit `{unit}` in `{}`; units are {}",
            text.trim(),
            unit_list(SIZE_UNITS)
        ));
    };
    scale(value, fractional, *factor, text.trim())
}

/// Parses a duration such as `500us`, `2ms`, `30s` or `1m30s`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("a duration cannot be empty".to_owned());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (value, fractional, after) = split_number(rest)?;
        let unit_end = after
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || c.is_whitespace())
            .map_or(after.len(), |(i, _)| i);
        let unit = &after[..unit_end];
        if unit.is_empty() {
            return Err(format!(
                "`{}` has no unit; write e.g. `500ms` or `30s` (units are {})",
                text.trim(),
                unit_list(DURATION_UNITS)
            ));
        }
        let Some((_, factor)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(format!(
                "unknown duration unit `{unit}` in `{}`; units are {}",
                text.trim(),
                unit_list(DURATION_UNITS)
            ));
        };
        let nanos = scale(value, fractional, *factor, text.trim())?;
        total = total
            .checked_add(nanos)
            .ok_or_else(|| format!("`{}` is too large", text.trim()))?;
        rest = after[unit_end..].trim_start();
    }
    Ok(std::time::Duration::from_nanos(total))
}

/// Parses a count such as `1000`, `5_000_000`, `100k` or `5M` (SI, ×1000).
pub fn parse_count(text: &str) -> Result<u64, String> {
    let (value, fractional, suffix) = split_number(text)?;
    let Some((_, factor)) = COUNT_SUFFIXES.iter().find(|(u, _)| *u == suffix) else {
        return Err(format!(
            "unknown count suffix `{suffix}` in `{}`; suffixes are k, M, G",
            text.trim()
        ));
    };
    scale(value, fractional, *factor, text.trim())
}

/// Parses a rate such as `50k/s`, `1000/s` or `10/ms`; returns operations per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let Some((count, per)) = text.split_once('/') else {
        return Err(format!(
            "`{}` is not a rate; write e.g. `50k/s` or `1000/s`",
            text.trim()
        ));
    };
    let (value, _, suffix) = split_number(count)?;
    let Some((_, factor)) = COUNT_SUFFIXES.iter().find(|(u, _)| *u == suffix) else {
        return Err(format!(
            "unknown count suffix `{suffix}` in `{}`; suffixes are k, M, G",
            text.trim()
        ));
    };
    let per_seconds = match per.trim() {
        "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        other => {
            return Err(format!(
                "unknown rate period `/{other}` in `{}`; periods are /s, /ms, /min",
                text.trim()
            ));
        }
    };
    Ok(value * *factor as f64 / per_seconds)
}

/// Formats bytes with the largest binary unit that divides them exactly,
/// else the largest decimal one (`1MB`), else in bytes.
pub fn format_size(bytes: u64) -> String {
    for (unit, factor) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    // Decimal sizes (`1MB`) are shown as written, not as a byte count.
    for (unit, factor) in [
        ("TB", 1_000_000_000_000u64),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("KB", 1_000),
    ] {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    format!("{bytes}B")
}

/// Formats a duration with the largest unit that divides it exactly.
pub fn format_duration(d: std::time::Duration) -> String {
    let nanos = d.as_nanos() as u64;
    if nanos == 0 {
        return "0s".to_owned();
    }
    for (unit, factor) in [
        ("h", 3_600_000_000_000u64),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if nanos.is_multiple_of(factor) {
            return format!("{}{unit}", nanos / factor);
        }
    }
    format!("{nanos}ns")
}

/// Formats a count with `_` thousands separators.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

macro_rules! unit_type {
    (
        $(#[$meta:meta])*
        $name:ident($inner:ty), parse = $parse:expr, format = $format:expr,
        accepts_int = $accepts_int:expr, schema_name = $schema_name:literal,
        pattern = $pattern:expr, description = $description:literal, examples = [$($example:expr),*]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
        pub struct $name(pub $inner);

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let parse: fn(&str) -> Result<$inner, String> = $parse;
                parse(s).map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let format: fn($inner) -> String = $format;
                f.write_str(&format(self.0))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($description)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        if $accepts_int {
                            v.to_string().parse().map_err(E::custom)
                        } else {
                            Err(E::custom(format!("`{v}` has no unit")))
                        }
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        match u64::try_from(v) {
                            Ok(v) => self.visit_u64(v),
                            Err(_) => Err(E::custom(format!("`{v}` is negative"))),
                        }
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        // YAML reads a whole number beyond u64 as a float;
                        // "floating point" would name the wrong problem.
                        if v.fract() == 0.0 && v.abs() >= u64::MAX as f64 {
                            Err(E::custom(format!(
                                "`{v:e}` is too large: at most {} here",
                                u64::MAX
                            )))
                        } else {
                            Err(E::invalid_type(de::Unexpected::Float(v), &self))
                        }
                    }
                }
                d.deserialize_any(V)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($schema_name)
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                if $accepts_int {
                    json_schema!({
                        "type": ["string", "integer"],
                        "minimum": 0,
                        "pattern": $pattern,
                        // What editors (yaml-language-server, VS Code) show
                        // instead of "does not match the pattern ^…$".
                        "patternErrorMessage": pattern_message($pattern),
                        "description": $description,
                        "examples": [$($example),*],
                    })
                } else {
                    json_schema!({
                        "type": "string",
                        "pattern": $pattern,
                        "patternErrorMessage": pattern_message($pattern),
                        "description": $description,
                        "examples": [$($example),*],
                    })
                }
            }
        }
    };
}

unit_type! {
    /// A size in bytes, written `512B`, `4KiB`, `64MiB`, `1GB` or a plain integer.
    ByteSize(u64), parse = parse_size, format = format_size, accepts_int = true,
    schema_name = "Size", pattern = SIZE_PATTERN,
    description = "a size: an integer number of bytes or a number with a unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)",
    examples = ["512B", "4KiB", "64MiB"]
}

unit_type! {
    /// A duration, written `500us`, `2ms`, `30s`, `1m30s`.
    HumanDuration(std::time::Duration), parse = parse_duration, format = format_duration,
    accepts_int = false, schema_name = "Duration", pattern = DURATION_PATTERN,
    description = "a duration: a number with a unit (ns, us, ms, s, m, h), e.g. `500us`, `2ms`, `30s`, `1m30s`",
    examples = ["500us", "10ms", "30s"]
}

unit_type! {
    /// A count, written `1000`, `5_000_000`, `100k` or `5M`.
    Count(u64), parse = parse_count, format = format_count, accepts_int = true,
    schema_name = "Count", pattern = COUNT_PATTERN,
    description = "a count: an integer, with `_` separators or a k / M / G suffix (×1000), e.g. `5_000_000`, `5M`",
    examples = [1000, "100k", "5M"]
}

unit_type! {
    /// A rate in operations per second, written `50k/s`, `1000/s`, `10/ms`.
    Rate(f64), parse = parse_rate, format = |r: f64| format!("{r}/s"),
    accepts_int = true, schema_name = "Rate", pattern = RATE_PATTERN,
    description = "a rate: operations per period, e.g. `50k/s`, `1000/s`, `10/ms`; a plain integer means per second",
    examples = ["50k/s", "1000/s"]
}

/// Pattern of a percentage: `85%`, `12.5%`.
pub const PERCENT_PATTERN: &str = r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$";

/// Parses `85%` into 0.85.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let Some(n) = t.strip_suffix('%') else {
        return Err(format!("`{text}` is not a percentage; write e.g. `85%`"));
    };
    n.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v / 100.0)
        .ok_or_else(|| format!("`{text}` is not a percentage; write e.g. `85%`"))
}

unit_type! {
    /// A fraction written as a percentage, `85%` (held as 0.85).
    Percent(f64), parse = parse_percent, format = |f: f64| format!("{}%", f * 100.0),
    accepts_int = false, schema_name = "Percent", pattern = PERCENT_PATTERN,
    description = "a percentage, e.g. `85%` or `12.5%`",
    examples = ["85%", "15%"]
}

/// Which unit type a schema pattern belongs to, so the loader can re-parse a
/// value that failed the pattern and say precisely what is wrong.
pub fn reparse_by_pattern(pattern: &str, text: &str) -> Option<String> {
    let result = if pattern == SIZE_PATTERN {
        parse_size(text).map(|_| ())
    } else if pattern == DURATION_PATTERN {
        parse_duration(text).map(|_| ())
    } else if pattern == RATE_PATTERN {
        parse_rate(text).map(|_| ())
    } else if pattern == COUNT_PATTERN {
        parse_count(text).map(|_| ())
    } else if pattern == PERCENT_PATTERN {
        parse_percent(text).map(|_| ())
    } else {
        return None;
    };
    result.err()
}

/// The editor message of a value that does not match unit pattern
/// `pattern`: `Expected a size such as `512B`, `4KiB` or `64MiB``.
fn pattern_message(pattern: &str) -> String {
    match pattern_expectation(pattern) {
        Some(e) => format!("Expected {e}"),
        None => "Not a valid value".to_owned(),
    }
}

/// What a unit pattern expects, for "expected …" lines.
pub fn pattern_expectation(pattern: &str) -> Option<&'static str> {
    Some(if pattern == SIZE_PATTERN {
        "a size such as `512B`, `4KiB` or `64MiB`"
    } else if pattern == DURATION_PATTERN {
        "a duration such as `500us`, `2ms` or `30s`"
    } else if pattern == RATE_PATTERN {
        "a rate such as `50k/s` or `1000/s`"
    } else if pattern == COUNT_PATTERN {
        "a count such as `1000`, `5_000_000` or `5M`"
    } else if pattern == PERCENT_PATTERN {
        "a percentage such as `85%`"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size(" 4 KiB "), Ok(4096));
        assert_eq!(parse_size("1_024B"), Ok(1024));
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        let e = parse_size("10 parsecs").unwrap_err();
        assert!(e.contains("unknown size unit `parsecs`"), "{e}");
        assert!(
            parse_size("KiB")
                .unwrap_err()
                .contains("does not start with a number")
        );
        assert!(
            parse_size("1.3B")
                .unwrap_err()
                .contains("not a whole number")
        );
        assert!(
            parse_size("99999999999TiB")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn durations_parse_and_combine() {
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("2ms"), Ok(Duration::from_millis(2)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("30").unwrap_err().contains("has no unit"));
        assert!(
            parse_duration("3 fortnights")
                .unwrap_err()
                .contains("unknown duration unit")
        );
    }

    #[test]
    fn counts_and_rates_parse() {
        assert_eq!(parse_count("5_000_000"), Ok(5_000_000));
        assert_eq!(parse_count("5M"), Ok(5_000_000));
        assert_eq!(parse_count("1.5k"), Ok(1500));
        assert_eq!(parse_rate("50k/s"), Ok(50_000.0));
        assert_eq!(parse_rate("10/ms"), Ok(10_000.0));
        assert!(parse_rate("50k").unwrap_err().contains("not a rate"));
        assert!(
            parse_count("5X")
                .unwrap_err()
                .contains("unknown count suffix")
        );
    }

    #[test]
    fn formatting_round_trips() {
        for s in [
            "512B", "4KiB", "64MiB", "1GiB", "1KB", "1MB", "1500KB", "1001B",
        ] {
            assert_eq!(format_size(parse_size(s).unwrap()), s);
        }
        for s in ["500us", "2ms", "30s", "1m", "7ns"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
        assert_eq!(format_count(5_000_000), "5_000_000");
        assert_eq!(format_count(999), "999");
    }

    #[test]
    fn patterns_agree_with_parsers() {
        // Every value a parser accepts must match its schema pattern, and
        // the examples in the docs must parse.
        let re = |p: &str| {
            jsonschema::validator_for(&serde_json::json!({"type": "string", "pattern": p})).unwrap()
        };
        let size = re(SIZE_PATTERN);
        for s in ["512B", "4KiB", "1.5MiB", "1_024", "1 GB"] {
            assert!(
                parse_size(s).is_ok() && size.is_valid(&serde_json::json!(s)),
                "{s}"
            );
        }
        assert!(!size.is_valid(&serde_json::json!("10 parsecs")));
        let dur = re(DURATION_PATTERN);
        for s in ["500us", "1m30s", "1.5s", "2 ms"] {
            assert!(
                parse_duration(s).is_ok() && dur.is_valid(&serde_json::json!(s)),
                "{s}"
            );
        }
        let rate = re(RATE_PATTERN);
        for s in ["50k/s", "1000/s", "10/ms", "1.5M/min"] {
            assert!(
                parse_rate(s).is_ok() && rate.is_valid(&serde_json::json!(s)),
                "{s}"
            );
        }
        let count = re(COUNT_PATTERN);
        for s in ["5M", "5_000_000", "100k"] {
            assert!(
                parse_count(s).is_ok() && count.is_valid(&serde_json::json!(s)),
                "{s}"
            );
        }
    }
}
