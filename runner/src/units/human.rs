//! Number formatters shared by every human-readable output (Markdown
//! filters, console summary, JUnit messages, GitHub annotations, validation
//! messages).
//!
//! Values arrive in base units (ns, bytes, per second, ratios); these
//! functions only turn them into short text. Machine outputs (CSV, JSON)
//! never use them. Formatting by a metric's unit lives with the reports
//! (`report::format`), which know the metric catalog.

/// Rounds `x` to three significant digits and prints it without exponent:
/// `1.23`, `12.3`, `123`, `1230`.
fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    // Round first so that 0.9996 prints as 1.00, not 1.000.
    let x = round3(x);
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

/// `x` rounded to three significant digits (for chart values).
pub(crate) fn round3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let magnitude = x.abs().log10().floor() as i32;
    let factor = 10f64.powi(2 - magnitude);
    (x * factor).round() / factor
}

/// Scales `x` down by `step` through `units` until it is below `step`
/// (after rounding to three significant digits), then prints it.
fn scaled(x: f64, step: f64, units: &[&str], digits: fn(f64) -> String) -> String {
    let mut value = x;
    let mut unit = 0;
    while unit + 1 < units.len() && round3(value.abs()) >= step {
        value /= step;
        unit += 1;
    }
    let sep = if units[unit].starts_with('/') {
        ""
    } else {
        " "
    };
    format!("{}{sep}{}", digits(value), units[unit])
}

/// A duration in nanoseconds as `850 ns`, `1.23 ms`, `12.3 s` (three
/// significant digits; seconds are the largest unit).
pub(crate) fn duration_ns(ns: f64) -> String {
    scaled(ns, 1000.0, &["ns", "µs", "ms", "s"], sig3)
}

/// A size in bytes as `512 B`, `4.0 MiB`, `1.5 GiB` (binary units, one
/// decimal below 100).
pub(crate) fn size(bytes: f64) -> String {
    let one_decimal = |x: f64| {
        if x.abs() >= 100.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        }
    };
    if bytes.abs() < 1024.0 {
        return format!("{bytes:.0} B");
    }
    let mut value = bytes / 1024.0;
    let mut unit = 0;
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    while unit + 1 < units.len() && value.abs() >= 1024.0 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", one_decimal(value), units[unit])
}

/// Bytes per second as `24.4 MiB/s`.
pub(crate) fn bytes_rate(bytes_per_s: f64) -> String {
    format!("{}/s", size(bytes_per_s))
}

/// Operations or records per second as `850/s`, `49.9 k/s`, `1.23 M/s`.
pub(crate) fn rate(per_s: f64) -> String {
    scaled(per_s, 1000.0, &["/s", "k/s", "M/s", "G/s"], sig3)
}

/// A count with thousands separators: `5,000,000`.
pub(crate) fn count(n: f64) -> String {
    if n.fract() != 0.0 || !n.is_finite() {
        return sig3(n);
    }
    let digits = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0.0 { format!("-{out}") } else { out }
}

/// A fraction as a percentage: `0.183` → `18.3%`.
pub(crate) fn pct(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// A signed margin as a percentage: `+18.3%`, `−3.6%` (U+2212 minus, so it
/// lines up with the plus sign). A margin of 900 % or more either way is
/// a ratio instead — `311× the threshold` rather than `+31009.2%`: the
/// observed value is then `1 + |margin|` times the threshold (passing a
/// `>`/`>=` by that much, or failing a `<`/`<=`; the verdict beside it
/// says which).
pub(crate) fn margin(fraction: f64) -> String {
    let p = fraction * 100.0;
    if fraction.abs() >= 9.0 && fraction.is_finite() {
        format!("{}× the threshold", sig3(1.0 + fraction.abs()))
    } else if p < 0.0 {
        format!("\u{2212}{:.1}%", -p)
    } else {
        format!("+{p:.1}%")
    }
}

/// A relational assertion's factor: `2`, `1.1`, `0.25` (no trailing zeros).
pub(crate) fn factor(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A dimensionless ratio with two decimals: `0.42`.
pub(crate) fn ratio(x: f64) -> String {
    format!("{x:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_three_significant_digits_and_promote_on_rounding() {
        assert_eq!(duration_ns(0.0), "0 ns");
        assert_eq!(duration_ns(850.0), "850 ns");
        assert_eq!(duration_ns(8.5), "8.50 ns");
        assert_eq!(duration_ns(1_234_567.0), "1.23 ms");
        assert_eq!(duration_ns(999_600.0), "1.00 ms");
        assert_eq!(duration_ns(12_345_678_901.0), "12.3 s");
        assert_eq!(duration_ns(3_600e9), "3600 s");
    }

    #[test]
    fn sizes_rates_counts_and_fractions() {
        assert_eq!(size(512.0), "512 B");
        assert_eq!(size(4.0 * 1024.0 * 1024.0), "4.0 MiB");
        assert_eq!(size(1536.0 * 1024.0 * 1024.0), "1.5 GiB");
        assert_eq!(size(300.0 * 1024.0), "300 KiB");
        assert_eq!(bytes_rate(25_600_000.0), "24.4 MiB/s");
        assert_eq!(rate(850.0), "850/s");
        assert_eq!(rate(49_912.0), "49.9 k/s");
        assert_eq!(rate(1_234_000.0), "1.23 M/s");
        assert_eq!(count(5_000_000.0), "5,000,000");
        assert_eq!(count(999.0), "999");
        assert_eq!(pct(0.183), "18.3%");
        assert_eq!(margin(-0.036), "\u{2212}3.6%");
        assert_eq!(margin(0.2), "+20.0%");
        // Regression: `+31009.2%` read as a ratio.
        assert_eq!(margin(310.092), "311× the threshold");
        assert_eq!(margin(-310.092), "311× the threshold");
        assert_eq!(margin(8.5), "+850.0%");
        assert_eq!(
            (factor(2.0), factor(1.1), factor(0.25)),
            ("2".into(), "1.1".into(), "0.25".into())
        );
    }
}
