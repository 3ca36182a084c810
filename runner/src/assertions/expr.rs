//! An assertion's left side and operator: [`parse`] splits
//! `<metric> <op> <value>` (the right side and scope are `relation`'s),
//! [`parse_threshold`] reads a value in the metric's unit, and the
//! checked [`Assertion`] type validation builds.

use serde::Serialize;

use crate::metrics::catalog::MetricRef;
use crate::metrics::catalog::MetricUnit;
use crate::units;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
}

impl CmpOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// Applies the operator.
    pub fn holds(self, observed: f64, threshold: f64) -> bool {
        match self {
            CmpOp::Lt => observed < threshold,
            CmpOp::Le => observed <= threshold,
            CmpOp::Gt => observed > threshold,
            CmpOp::Ge => observed >= threshold,
            CmpOp::Eq => observed == threshold,
            CmpOp::Ne => observed != threshold,
        }
    }
}

/// A parsed, resolved assertion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assertion {
    /// The text as written.
    pub text: String,
    /// The metric path as written.
    pub metric_path: String,
    /// What it measures.
    pub metric: MetricRef,
    /// The comparison.
    pub op: CmpOp,
    /// Threshold in the metric's base unit.
    pub threshold: f64,
    /// The metric's unit.
    pub unit: MetricUnit,
    /// Line of the assertion in the scenario file (for annotations and
    /// JUnit), when it has one.
    pub line: Option<usize>,
    /// The right side when it is a reference (`2x target rocksdb`);
    /// `None` for a constant `threshold`.
    pub relation: Option<Relation>,
    /// The targets and variants it is checked on.
    pub scope: Scope,
}

/// The right side of a relational assertion: `factor` × `metric` of `cell`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relation {
    /// The factor (1 when none is written).
    pub factor: f64,
    /// The metric referred to.
    pub metric: MetricRef,
    /// Its path as written (or the left side's when omitted).
    pub metric_path: String,
    /// Where it is measured.
    pub cell: Cell,
    /// The right side as written (`2x target rocksdb`).
    pub text: String,
}

/// Which run, target and variant a reference reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// The same target and variant.
    Same,
    /// The same target and variant in the baseline run.
    Baseline,
    /// Another target and/or variant of this run.
    Other {
        /// Another target (`None`: the same).
        target: Option<String>,
        /// Matrix settings replaced in the evaluated variant's settings,
        /// as (full matrix key, value as in labels).
        variant: Vec<(String, String)>,
    },
}

/// Where an assertion is checked; empty lists mean everywhere.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scope {
    /// Only these targets (`on a, b`).
    pub targets: Vec<String>,
    /// Only variants whose setting of each full matrix key is one of the
    /// values (`where workers=8|16`).
    pub variants: Vec<(String, Vec<String>)>,
}

/// The parts of an assertion before its metric is resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawAssertion {
    /// The metric path.
    pub metric: String,
    /// Byte offset of the metric in the text.
    pub metric_at: usize,
    /// The operator.
    pub op: CmpOp,
    /// The value text.
    pub value: String,
    /// Byte offset of the value in the text.
    pub value_at: usize,
}

/// A problem with an assertion: a message and the byte range it concerns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AssertionError {
    /// What is wrong.
    pub message: String,
    /// Byte offset of the offending part in the assertion text.
    pub at: usize,
    /// Byte length of the offending part.
    pub len: usize,
    /// What was expected.
    pub expected: Option<String>,
    /// A suggestion.
    pub help: Option<String>,
}

const OPERATORS: &[(&str, CmpOp)] = &[
    ("<=", CmpOp::Le),
    (">=", CmpOp::Ge),
    ("==", CmpOp::Eq),
    ("!=", CmpOp::Ne),
    ("<", CmpOp::Lt),
    (">", CmpOp::Gt),
];

/// Splits `text` into metric, operator and value.
pub(crate) fn parse(text: &str) -> Result<RawAssertion, AssertionError> {
    let shape = || Some("`<metric> <op> <value>`, e.g. `write.append.p99 < 10ms`".to_owned());
    let op_at = text.find(['<', '>', '=', '!']);
    let Some(op_at) = op_at else {
        return Err(AssertionError {
            message: "assertion has no comparison operator".to_owned(),
            at: 0,
            len: text.len().max(1),
            expected: shape(),
            help: Some("operators are `<`, `<=`, `>`, `>=`, `==`, `!=`".to_owned()),
        });
    };
    let rest = &text[op_at..];
    let Some((sym, op)) = OPERATORS.iter().find(|(s, _)| rest.starts_with(s)) else {
        let bad_len = rest
            .chars()
            .take_while(|c| "<>=!".contains(*c))
            .count()
            .max(1);
        return Err(AssertionError {
            message: format!("unknown operator `{}`", &rest[..bad_len]),
            at: op_at,
            len: bad_len,
            expected: Some("one of `<`, `<=`, `>`, `>=`, `==`, `!=`".to_owned()),
            help: (rest.starts_with("=>") || rest.starts_with("=<") || rest.starts_with("= "))
                .then(|| "did you mean `>=`, `<=` or `==`?".to_owned()),
        });
    };
    let after = op_at + sym.len();
    if text[after..].starts_with(['<', '>', '=', '!']) {
        return Err(AssertionError {
            message: format!("unknown operator `{}`", &text[op_at..=after]),
            at: op_at,
            len: sym.len() + 1,
            expected: Some("one of `<`, `<=`, `>`, `>=`, `==`, `!=`".to_owned()),
            help: None,
        });
    }
    let metric = text[..op_at].trim();
    let metric_at = text.len() - text.trim_start().len();
    let value = text[after..].trim();
    let value_at = after + (text[after..].len() - text[after..].trim_start().len());
    if metric.is_empty() {
        return Err(AssertionError {
            message: "assertion has no metric before the operator".to_owned(),
            at: 0,
            len: op_at.max(1),
            expected: shape(),
            help: None,
        });
    }
    if value.is_empty() {
        return Err(AssertionError {
            message: "assertion has no value after the operator".to_owned(),
            at: op_at,
            len: sym.len(),
            expected: shape(),
            help: None,
        });
    }
    Ok(RawAssertion {
        metric: metric.to_owned(),
        metric_at,
        op: *op,
        value: value.to_owned(),
        value_at,
    })
}

fn plain_number(text: &str) -> Option<f64> {
    let t: String = text.trim().chars().filter(|c| *c != '_').collect();
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A threshold with a decimal point and a unit (`3.9GiB/s`, `1.5ms`,
/// `2.5M`): the number times the unit's factor. Thresholds are not byte
/// counts or durations to configure, so fractions are fine; `None` when `v`
/// has no decimal point or its unit does not fit `unit` (the whole-number
/// parsers then report the problem).
fn decimal_threshold(v: &str, unit: MetricUnit) -> Option<f64> {
    if !v.contains('.') {
        return None;
    }
    let split = v.find(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '%')?;
    let (number, suffix) = v.split_at(split);
    let x: f64 = number.replace('_', "").parse().ok()?;
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    let one = format!("1{suffix}");
    let factor = match unit {
        MetricUnit::Nanos => units::parse_duration(&one).ok()?.as_nanos() as f64,
        MetricUnit::Micros => units::parse_duration(&one).ok()?.as_nanos() as f64 / 1_000.0,
        MetricUnit::Bytes => units::parse_size(&one).ok()? as f64,
        MetricUnit::BytesPerSecond => {
            units::parse_size(one.strip_suffix("/s").unwrap_or(&one)).ok()? as f64
        }
        MetricUnit::Count => units::parse_count(&one).ok()? as f64,
        MetricUnit::PerSecond if one.contains('/') => units::parse_rate(&one).ok()?,
        MetricUnit::PerSecond => units::parse_count(&one).ok()? as f64,
        _ => return None,
    };
    Some(x * factor)
}

/// A slope threshold: a value of the series' unit per minute, signed
/// (`1MiB/min`, `100us/min`, `-1k/s/min`).
fn parse_slope(v: &str, unit: MetricUnit) -> Result<f64, String> {
    let series = unit.slope_of().unwrap_or(unit);
    let Some(per) = v.strip_suffix("/min") else {
        return Err(format!(
            "`{v}` is not a slope; this metric is per minute, e.g. `{}`",
            slope_example(series)
        ));
    };
    let (sign, magnitude) = match per.strip_prefix('-') {
        Some(m) => (-1.0, m),
        None => (1.0, per),
    };
    parse_threshold(magnitude, series).map(|x| sign * x)
}

/// An example slope threshold of a series in `series`.
fn slope_example(series: MetricUnit) -> &'static str {
    match series {
        MetricUnit::Nanos | MetricUnit::Micros => "100us/min",
        MetricUnit::Bytes => "1MiB/min",
        MetricUnit::PerSecond => "-1k/s/min",
        MetricUnit::BytesPerSecond => "-1MiB/s/min",
        MetricUnit::Ratio => "1%/min",
        _ => "10/min",
    }
}

/// Parses a threshold written for a metric of `unit`, into the base unit.
pub(crate) fn parse_threshold(value: &str, unit: MetricUnit) -> Result<f64, String> {
    let v = value.trim();
    if let Some(x) = decimal_threshold(v, unit) {
        return Ok(x);
    }
    match unit {
        MetricUnit::Nanos => {
            if plain_number(v) == Some(0.0) {
                return Ok(0.0);
            }
            units::parse_duration(v)
                .map(|d| d.as_nanos() as f64)
                .map_err(|e| format!("{e}; this metric is a time, e.g. `10ms`"))
        }
        MetricUnit::Micros => match plain_number(v) {
            Some(n) => Ok(n),
            None => units::parse_duration(v)
                .map(|d| d.as_nanos() as f64 / 1_000.0)
                .map_err(|e| format!("{e}; this metric is in microseconds, e.g. `0` or `100ms`")),
        },
        MetricUnit::Bytes => units::parse_size(v)
            .map(|b| b as f64)
            .map_err(|e| format!("{e}; this metric is a size, e.g. `64MiB`")),
        MetricUnit::Count => plain_number(v)
            .or_else(|| units::parse_count(v).ok().map(|c| c as f64))
            .ok_or_else(|| format!("`{v}` is not a count; write e.g. `0`, `1000` or `5M`")),
        MetricUnit::PerSecond => {
            if v.contains('/') {
                units::parse_rate(v)
                    .map_err(|e| format!("{e}; this metric is a rate, e.g. `100k/s`"))
            } else {
                plain_number(v)
                    .or_else(|| units::parse_count(v).ok().map(|c| c as f64))
                    .ok_or_else(|| format!("`{v}` is not a rate; write e.g. `100k` or `100k/s`"))
            }
        }
        MetricUnit::BytesPerSecond => {
            let size = v.strip_suffix("/s").unwrap_or(v);
            units::parse_size(size)
                .map(|b| b as f64)
                .map_err(|e| format!("{e}; this metric is a throughput, e.g. `50MiB/s`"))
        }
        MetricUnit::NanosPerMinute
        | MetricUnit::MicrosPerMinute
        | MetricUnit::BytesPerMinute
        | MetricUnit::CountPerMinute
        | MetricUnit::PerSecondPerMinute
        | MetricUnit::BytesPerSecondPerMinute
        | MetricUnit::RatioPerMinute => parse_slope(v, unit),
        MetricUnit::Ratio => {
            if let Some(p) = v.strip_suffix('%') {
                plain_number(p)
                    .map(|n| n / 100.0)
                    .ok_or_else(|| format!("`{v}` is not a percentage"))
            } else {
                plain_number(v).ok_or_else(|| {
                    format!("`{v}` is not a number; this metric is a ratio, e.g. `0.95` or `95%`")
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_metric_operator_and_value() {
        let a = parse("write.append.p99 < 10ms").unwrap();
        assert_eq!(
            (a.metric.as_str(), a.op, a.value.as_str()),
            ("write.append.p99", CmpOp::Lt, "10ms")
        );
        assert_eq!(a.value_at, 19);
        let a = parse("x.records_per_s>=100k").unwrap();
        assert_eq!((a.op, a.value.as_str()), (CmpOp::Ge, "100k"));
    }

    #[test]
    fn bad_operators_point_at_themselves() {
        let e = parse("write.append.p99 => 10ms").unwrap_err();
        assert_eq!((e.at, e.len), (17, 2));
        assert!(e.help.unwrap().contains(">="));
        assert!(
            parse("write.append.p99 10ms")
                .unwrap_err()
                .message
                .contains("no comparison")
        );
        assert!(
            parse("write.append.p99 <<= 1")
                .unwrap_err()
                .message
                .contains("unknown operator")
        );
        assert!(parse("< 1").unwrap_err().message.contains("no metric"));
        assert!(parse("a.b.c <").unwrap_err().message.contains("no value"));
    }

    #[test]
    fn thresholds_parse_in_the_metric_unit() {
        assert_eq!(parse_threshold("10ms", MetricUnit::Nanos), Ok(10_000_000.0));
        assert_eq!(parse_threshold("0", MetricUnit::Nanos), Ok(0.0));
        assert!(parse_threshold("10", MetricUnit::Nanos).is_err());
        assert_eq!(
            parse_threshold("100k", MetricUnit::PerSecond),
            Ok(100_000.0)
        );
        assert_eq!(
            parse_threshold("100k/s", MetricUnit::PerSecond),
            Ok(100_000.0)
        );
        assert_eq!(
            parse_threshold("64MiB/s", MetricUnit::BytesPerSecond),
            Ok(67_108_864.0)
        );
        assert_eq!(parse_threshold("95%", MetricUnit::Ratio), Ok(0.95));
        assert_eq!(parse_threshold("1ms", MetricUnit::Micros), Ok(1000.0));
        assert!(parse_threshold("10 parsecs", MetricUnit::Bytes).is_err());
    }

    #[test]
    fn thresholds_take_decimals() {
        // RustLog's "≥ 3.9 GiB/s": a threshold is not a byte count.
        let gib = 1024.0 * 1024.0 * 1024.0;
        assert_eq!(
            parse_threshold("3.9GiB/s", MetricUnit::BytesPerSecond),
            Ok(3.9 * gib)
        );
        assert_eq!(parse_threshold("1.5ms", MetricUnit::Nanos), Ok(1_500_000.0));
        assert_eq!(parse_threshold("2.5M", MetricUnit::Count), Ok(2_500_000.0));
        assert_eq!(
            parse_threshold("1.5k/s", MetricUnit::PerSecond),
            Ok(1_500.0)
        );
        assert_eq!(parse_threshold("0.5KiB", MetricUnit::Bytes), Ok(512.0));
        assert!(parse_threshold("1.5parsecs", MetricUnit::Bytes).is_err());
        assert!(
            parse_threshold("1.5", MetricUnit::Nanos).is_err(),
            "a time needs a unit"
        );
    }
}
