//! The outputs of `loadline compare`, `run --baseline` and `loadline ab`:
//! the console, `compare.md`, `compare.csv`, `junit.xml`, and under GitHub
//! Actions the step summary and `::error` annotations — all rendered from
//! one [`Comparison`], so they always agree.
//!
//! Every output opens with the verdict and the regressions (grouped by
//! target; throughput, then p99, then the rest, each largest factor
//! first), then the improvements; the rest — inconclusive,
//! unjudgeable and unchanged cells, cells on one side only, cells not
//! gated — follows, folded in `compare.md`. `compare.csv` has every cell.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::compare_text::{by_target, cell_name, change_text, interval_text, p_text};
pub(crate) use super::compare_text::{method, one_side_lines, summary_line};
use super::format::{metric, pct};
use super::{OutputFile, ReportError};
use crate::compare::diff::{Change, Comparison, Status, Verdict};

/// `compare.md`.
pub(crate) const COMPARE_MD: &str = "compare.md";
/// `compare.csv`.
pub(crate) const COMPARE_CSV: &str = "compare.csv";

/// Inconclusive cells the console names before "… and N more".
const CONSOLE_INCONCLUSIVE: usize = 10;

/// Which runs were compared, as the outputs name them.
#[derive(Debug, Clone)]
pub(crate) struct Sides {
    /// Where the base run was read (or how it was made).
    pub base: String,
    /// Where the new run was read (or how it was made).
    pub new: String,
}

fn line(s: &mut String, mark: &str, ch: &Change, with_target: bool) {
    let name = if with_target {
        ch.key.describe()
    } else {
        cell_name(&ch.key)
    };
    let _ = writeln!(
        s,
        "    {mark} {name}  {} → {}  {}  {}  p {}  threshold ±{}",
        metric(ch.base, ch.unit),
        metric(ch.new, ch.unit),
        change_text(ch),
        interval_text(ch),
        p_text(ch),
        pct(ch.threshold)
    );
}

/// The console report. Ends with a newline.
pub(crate) fn console(c: &Comparison, sides: &Sides) -> String {
    let mut s = format!("compare: base {} → new {}\n", sides.base, sides.new);
    let _ = writeln!(s, "{}", summary_line(c));
    for (title, status, mark) in [
        (
            "regressions (throughput, p99, the rest; largest first)",
            Status::Regression,
            "✗",
        ),
        ("improvements", Status::Improvement, "↑"),
    ] {
        let groups = by_target(c, status);
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(s, "{title}:");
        for (target, cells) in groups {
            let _ = writeln!(s, "  {target}");
            for ch in cells {
                line(&mut s, mark, ch, false);
            }
        }
    }
    let inconclusive: Vec<&Change> = c
        .changes
        .iter()
        .filter(|ch| ch.status == Status::Inconclusive)
        .collect();
    if !inconclusive.is_empty() {
        let _ = writeln!(s, "inconclusive (more rounds can decide):");
        for ch in inconclusive.iter().take(CONSOLE_INCONCLUSIVE) {
            line(&mut s, "~", ch, true);
        }
        if inconclusive.len() > CONSOLE_INCONCLUSIVE {
            let _ = writeln!(
                s,
                "    … and {} more (compare.md, compare.csv)",
                inconclusive.len() - CONSOLE_INCONCLUSIVE
            );
        }
    }
    let unjudgeable: Vec<&Change> = c
        .changes
        .iter()
        .filter(|ch| ch.status == Status::Unjudgeable)
        .collect();
    if !unjudgeable.is_empty() {
        let _ = writeln!(
            s,
            "not judged (gated, but no number of rounds can judge them):"
        );
        for ch in unjudgeable {
            let _ = writeln!(
                s,
                "    - {}: {}",
                ch.key.describe(),
                ch.reason.as_deref().unwrap_or_default()
            );
        }
    }
    for l in one_side_lines(c) {
        let _ = writeln!(s, "{l}");
    }
    for n in &c.notes {
        let _ = writeln!(s, "note: {n}");
    }
    let _ = writeln!(s, "{}", c.verdict().label());
    s
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A number and its unit that GitHub does not wrap apart.
fn md_value(value: f64, unit: crate::metrics::catalog::MetricUnit) -> String {
    metric(value, unit).replace(' ', "\u{a0}")
}

fn md_table(s: &mut String, rows: &[&Change], target_column: bool) {
    s.push_str(if target_column {
        "| cell | base | new | change | interval | p | threshold | status |\n|---|---:|---:|---:|---:|---:|---:|---|\n"
    } else {
        "| cell | base | new | change | interval | p | threshold |\n|---|---:|---:|---:|---:|---:|---:|\n"
    });
    for ch in rows {
        let name = if target_column {
            ch.key.describe()
        } else {
            cell_name(&ch.key)
        };
        let _ = write!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | ±{} |",
            md_escape(&name),
            md_value(ch.base, ch.unit),
            md_value(ch.new, ch.unit),
            change_text(ch).replace(' ', "\u{a0}"),
            interval_text(ch).replace(' ', "\u{a0}"),
            p_text(ch),
            pct(ch.threshold)
        );
        if target_column {
            let _ = write!(
                s,
                " {} |",
                md_escape(&match &ch.reason {
                    Some(r) => format!("{}: {r}", ch.status.label()),
                    None => ch.status.label().to_owned(),
                })
            );
        }
        s.push('\n');
    }
}

/// `compare.md` (and the step summary).
pub(crate) fn markdown(c: &Comparison, sides: &Sides) -> String {
    let verdict = c.verdict();
    let icon = match verdict {
        Verdict::Pass => "✅",
        Verdict::Inconclusive => "❔",
        Verdict::Regression => "❌",
    };
    let mut s = format!(
        "# Comparison: `{}`\n\n**{icon} {}**\n\nBase `{}` · new `{}`\n\n",
        md_escape(&c.new_scenario),
        md_escape(&summary_line(c)),
        md_escape(&sides.base),
        md_escape(&sides.new)
    );
    for (title, status) in [
        ("Regressions", Status::Regression),
        ("Improvements", Status::Improvement),
    ] {
        let groups = by_target(c, status);
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(s, "## {title}\n");
        for (target, cells) in groups {
            let _ = writeln!(s, "### `{}`\n", md_escape(target));
            md_table(&mut s, &cells, false);
            s.push('\n');
        }
    }
    for n in &c.notes {
        let _ = writeln!(s, "- ⚠️ {}", md_escape(n));
    }
    if !c.notes.is_empty() {
        s.push('\n');
    }
    let rest: Vec<&Change> = [
        Status::Inconclusive,
        Status::Unjudgeable,
        Status::Unchanged,
        Status::NotGated,
    ]
    .iter()
    .flat_map(|st| c.changes.iter().filter(move |ch| ch.status == *st))
    .collect();
    let sides_lines = one_side_lines(c);
    if !rest.is_empty() || !sides_lines.is_empty() {
        let _ = writeln!(
            s,
            "<details><summary>The other {} cells: {} inconclusive, {} unjudgeable, {} unchanged, {} not gated; {} on one side only</summary>\n",
            rest.len(),
            c.count(Status::Inconclusive),
            c.count(Status::Unjudgeable),
            c.count(Status::Unchanged),
            c.count(Status::NotGated),
            c.only_in_base.len() + c.only_in_new.len()
        );
        for l in &sides_lines {
            let _ = writeln!(s, "- {}", md_escape(l));
        }
        if !sides_lines.is_empty() {
            s.push('\n');
        }
        if !rest.is_empty() {
            md_table(&mut s, &rest, true);
        }
        s.push_str("\n</details>\n");
    }
    let _ = write!(s, "\n{}\n", method(c));
    s
}

fn number(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// `compare.csv`: every cell in both runs, then the cells of one side.
pub(crate) fn csv(c: &Comparison, path: &Path) -> Result<Vec<u8>, ReportError> {
    let err = |source| ReportError::Csv {
        path: path.to_owned(),
        source,
    };
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record([
        "variant",
        "target",
        "phase",
        "actor",
        "metric",
        "unit",
        "better",
        "base",
        "new",
        "base_rounds",
        "new_rounds",
        "change",
        "interval_low",
        "interval_high",
        "interval_confidence",
        "p",
        "threshold",
        "status",
        "reason",
    ])
    .map_err(err)?;
    for ch in &c.changes {
        let better = match ch.better {
            Some(crate::metrics::catalog::Better::Lower) => "lower",
            Some(crate::metrics::catalog::Better::Higher) => "higher",
            None => "",
        };
        let (lo, hi, conf) = ch
            .interval
            .map_or((String::new(), String::new(), String::new()), |i| {
                (number(i.lo), number(i.hi), number(i.confidence))
            });
        w.write_record([
            ch.key.variant.as_str(),
            &ch.key.target,
            &ch.key.phase,
            &ch.key.actor,
            &ch.key.metric,
            ch.unit.label(),
            better,
            &number(ch.base),
            &number(ch.new),
            &ch.base_rounds.to_string(),
            &ch.new_rounds.to_string(),
            &ch.change.map_or_else(|| "inf".to_owned(), number),
            &lo,
            &hi,
            &conf,
            &ch.p.map_or_else(String::new, number),
            &number(ch.threshold),
            ch.status.label(),
            ch.reason.as_deref().unwrap_or_default(),
        ])
        .map_err(err)?;
    }
    for (status, keys) in [
        ("only in base", &c.only_in_base),
        ("only in new", &c.only_in_new),
    ] {
        for k in keys {
            let mut row = vec![k.variant.as_str(), &k.target, &k.phase, &k.actor, &k.metric];
            row.extend(["", "", "", "", "", "", "", "", "", "", "", "", status, ""]);
            w.write_record(row).map_err(err)?;
        }
    }
    w.into_inner().map_err(|e| ReportError::Write {
        op: "write",
        path: path.to_owned(),
        source: e.into_error(),
    })
}

fn detail(ch: &Change) -> String {
    let mut d = format!(
        "base {} → new {} ({}; interval {}; p {}; threshold ±{})",
        metric(ch.base, ch.unit),
        metric(ch.new, ch.unit),
        change_text(ch),
        interval_text(ch),
        p_text(ch),
        pct(ch.threshold)
    );
    if let Some(r) = &ch.reason {
        d.push_str(&format!(": {r}"));
    }
    d
}

/// `junit.xml`: one test case per gated cell — a regression fails, an
/// unjudgeable cell is skipped with its reason.
pub(crate) fn junit(c: &Comparison, path: &Path) -> Result<Vec<u8>, ReportError> {
    let mut report = Report::new(format!("loadline compare {}", c.new_scenario));
    let mut suite = TestSuite::new("compare");
    for ch in c.changes.iter().filter(|ch| ch.status != Status::NotGated) {
        let status = match ch.status {
            Status::Regression => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("regression: {}", detail(ch)))
                    .set_type("regression");
                s
            }
            Status::Unjudgeable => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(ch.reason.clone().unwrap_or_default());
                s
            }
            _ => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(ch.key.describe(), status);
        case.set_classname(format!("{}.{}", c.new_scenario, ch.key.target));
        if !matches!(ch.status, Status::Regression | Status::Unjudgeable) {
            case.system_out = Some(format!("{}: {}", ch.status.label(), detail(ch)).into());
        }
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    let mut out = Vec::new();
    report
        .serialize(&mut out)
        .map_err(|source| ReportError::Junit {
            path: path.to_owned(),
            source,
        })?;
    Ok(super::junit::without_root_skipped(out))
}

/// The files `--out DIR` writes.
pub(crate) fn files(
    c: &Comparison,
    sides: &Sides,
    dir: &Path,
) -> Result<Vec<OutputFile>, ReportError> {
    let md = dir.join(COMPARE_MD);
    let csv_path = dir.join(COMPARE_CSV);
    let junit_path = dir.join(super::junit::JUNIT_XML);
    Ok(vec![
        OutputFile {
            contents: markdown(c, sides).into_bytes(),
            path: md,
        },
        OutputFile {
            contents: csv(c, &csv_path)?,
            path: csv_path,
        },
        OutputFile {
            contents: junit(c, &junit_path)?,
            path: junit_path,
        },
    ])
}

/// Writes `files` (each to a temporary name, then renamed into place).
pub(crate) fn write_files(files: &[OutputFile]) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    for f in files {
        if let Some(parent) = f.path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ReportError::Write {
                op: "create",
                path: parent.to_owned(),
                source,
            })?;
        }
        let tmp = super::atomic::tmp_path(&f.path);
        std::fs::write(&tmp, &f.contents).map_err(|source| ReportError::Write {
            op: "write",
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &f.path).map_err(|source| ReportError::Write {
            op: "rename into place",
            path: f.path.clone(),
            source,
        })?;
        written.push(f.path.clone());
    }
    Ok(written)
}

/// `::error` lines for each regression, in the console's order.
pub(crate) fn annotations(c: &Comparison) -> Vec<String> {
    use super::github::{escape_data, escape_property};
    by_target(c, Status::Regression)
        .into_iter()
        .flat_map(|(_, cells)| cells)
        .map(|ch| {
            format!(
                "::error title={}::{}",
                escape_property(&format!("regression on {}", ch.key.target)),
                escape_data(&format!(
                    "{}: base {} → new {} ({}, threshold ±{})",
                    ch.key.describe(),
                    metric(ch.base, ch.unit),
                    metric(ch.new, ch.unit),
                    change_text(ch),
                    pct(ch.threshold)
                ))
            )
        })
        .collect()
}

/// Appends `compare.md` (cut to the step summary limit) to `path`.
pub(crate) fn append_step_summary(
    path: &Path,
    c: &Comparison,
    sides: &Sides,
) -> Result<(), ReportError> {
    use std::io::Write;
    let mut text = markdown(c, sides);
    if text.len() > super::github::SUMMARY_LIMIT {
        let mut cut = super::github::SUMMARY_LIMIT - 100;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = text[..cut].rfind('\n').unwrap_or(cut);
        text.truncate(cut);
        text.push_str("\n\n_… cut to fit the step summary; see `compare.md`._\n");
    }
    let err = |source| ReportError::Write {
        op: "append to",
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    file.write_all(text.as_bytes()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::diff::{CompareOptions, compare};
    use crate::report::compare_text::{factor_size, headline_rank};
    use crate::report::fixture::run_report;

    /// The fixture with five rounds per cell; `new` has WAL throughput
    /// down 40 %, its p99 up 50 %, the RocksDB throughput up 30 %, and a
    /// store statistic the base lacks.
    fn slower() -> Comparison {
        let base = run_report(1);
        let rounds = [1.0, 1.02, 0.98, 1.01, 0.99];
        let with = |r: &crate::metrics::report::RunReport, scale: &dyn Fn(&str, &str) -> f64| {
            let mut out = r.clone();
            for v in &mut out.variants {
                for t in &mut v.targets {
                    let name = t.name.clone();
                    for m in t.measured() {
                        let s = scale(&name, &m.metric);
                        let values: Vec<f64> = rounds.iter().map(|f| m.value * f * s).collect();
                        if let Some(sp) = crate::results::stats::spread(values) {
                            t.spread.insert(m.path(), sp);
                        }
                    }
                }
            }
            out
        };
        let b = with(&base, &|_, _| 1.0);
        let mut n = with(&base, &|target, metric| match (target, metric) {
            ("wal-group-commit", "records_per_s") => 0.6,
            ("wal-group-commit", "p99") => 1.5,
            ("rocksdb-sync", "records_per_s") => 1.3,
            _ => 1.0,
        });
        n.variants[0].targets[0]
            .store
            .values
            .insert("group_commit_records".into(), 12.0);
        compare(&b, &n, &CompareOptions::default()).expect("matched")
    }

    fn sides() -> Sides {
        Sides {
            base: "base/run.json".into(),
            new: "new/run.json".into(),
        }
    }

    #[test]
    fn console_compare_snapshot() {
        insta::assert_snapshot!(console(&slower(), &sides()));
    }

    #[test]
    fn markdown_compare_snapshot() {
        insta::assert_snapshot!(markdown(&slower(), &sides()));
    }

    #[test]
    fn regressions_come_first_largest_first() {
        let c = slower();
        let text = console(&c, &sides());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("REGRESSION — "), "{text}");
        assert_eq!(
            lines[2], "regressions (throughput, p99, the rest; largest first):",
            "{text}"
        );
        let reg = text.find("regressions (").expect("regressions");
        let imp = text.find("improvements:").expect("improvements");
        assert!(reg < imp, "{text}");
        let first = by_target(&c, Status::Regression);
        let order: Vec<(u8, f64)> = first[0]
            .1
            .iter()
            .map(|ch| (headline_rank(ch), -factor_size(ch)))
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] <= w[1]),
            "throughput, p99, the rest, each largest first: {order:?}"
        );
        assert_eq!(first[0].1[0].key.metric, "records_per_s", "{text}");
        assert!(
            text.contains("only in new: group_commit_records on wal-group-commit (target)"),
            "{text}"
        );
        let md = markdown(&c, &sides());
        assert!(
            md.find("## Regressions") < md.find("## Improvements"),
            "{md}"
        );
        assert!(md.find("## Improvements") < md.find("<details>"), "{md}");
        assert!(
            !md.contains("| 1.0 ms |"),
            "no breakable space between number and unit"
        );
    }

    #[test]
    fn junit_has_one_case_per_gated_cell() {
        let c = slower();
        let xml =
            String::from_utf8(junit(&c, Path::new("junit.xml")).expect("xml")).expect("utf-8");
        assert_eq!(
            xml.matches("<testcase").count(),
            c.gated() + c.count(Status::Unjudgeable),
            "{xml}"
        );
        assert_eq!(xml.matches("<failure").count(), c.count(Status::Regression));
        assert!(
            xml.contains("write.append.p99 on wal-group-commit"),
            "{xml}"
        );
    }

    #[test]
    fn annotations_name_the_regressions() {
        let c = slower();
        let lines = annotations(&c);
        assert_eq!(lines.len(), c.count(Status::Regression), "{lines:?}");
        assert!(lines[0].starts_with("::error title=regression on wal-group-commit::"));
    }

    #[test]
    fn csv_has_every_cell_and_the_one_sided_ones() {
        let c = slower();
        let text =
            String::from_utf8(csv(&c, Path::new("compare.csv")).expect("csv")).expect("utf-8");
        assert_eq!(
            text.lines().count(),
            c.changes.len() + c.only_in_base.len() + c.only_in_new.len() + 1
        );
        assert!(
            text.lines()
                .any(|l| l.contains(",p99,") && l.ends_with(",regression,")),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.contains("group_commit_records") && l.ends_with(",only in new,")),
            "{text}"
        );
    }
}
