//! `report.md`: the design-review report, rendered by minijinja from
//! `reports/templates/report.md.j2` (embedded) or a `--template` file.
//!
//! Owns the template environment (strict undefined behaviour, the unit
//! filters) and the [`Context`] a template sees: the whole `RunReport` as
//! `report`, plus views arranged for tables (assertions × targets, phases
//! side by side across targets, links to the SVG charts beside it (see
//! `charts`), non-zero store statistics).
//! Values stay in base units; templates format them with filters
//! (`duration`, `size`, `rate`, `bytes_rate`, `count`, `pct`, `margin`,
//! `ratio`, `metric(unit)`, `us`), never with arithmetic.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};

use super::format;
use super::{FileFormat, OutputFile, ReportError};
use crate::metrics::report::RunReport;

mod context;
mod phase;
mod side;
mod variant;

pub(crate) use context::Context;

/// The file name of the Markdown report.
pub(crate) const REPORT_MD: &str = "report.md";
/// The name of the built-in template (as errors show it).
pub(crate) const BUILTIN_TEMPLATE_NAME: &str = "report.md.j2";
/// The built-in template, `reports/templates/report.md.j2`.
pub(crate) const BUILTIN_TEMPLATE: &str = include_str!("../../../reports/templates/report.md.j2");

/// The block of the template holding the verdict and the assertion table;
/// it is what goes to `$GITHUB_STEP_SUMMARY`.
pub(crate) const SUMMARY_BLOCK: &str = "summary";

fn opt(f: fn(f64) -> String) -> impl Fn(Option<f64>) -> String + Send + Sync + 'static {
    move |v| v.map_or_else(|| "–".to_owned(), |v| glued(&f(v)))
}

/// `text` with its spaces made no-break (U+00A0): a number never wraps
/// away from its unit in a narrow table column (`94.0 ms`, not `94.0` over
/// `ms`).
fn glued(text: &str) -> String {
    text.replace(' ', "\u{a0}")
}

/// Registers the unit filters every template can use. Each accepts a
/// number or `none` (rendered as `–`), and joins number and unit with a
/// no-break space.
fn add_filters(env: &mut Environment<'static>) {
    env.add_filter("duration", opt(format::duration_ns));
    env.add_filter("size", opt(format::size));
    env.add_filter("rate", opt(format::rate));
    env.add_filter("bytes_rate", opt(format::bytes_rate));
    env.add_filter("count", opt(format::count));
    env.add_filter("pct", opt(format::pct));
    // A margin may be a phrase (`311× the threshold`) that can wrap.
    env.add_filter("margin", |v: Option<f64>| {
        v.map_or_else(|| "–".to_owned(), format::margin)
    });
    env.add_filter("ratio", opt(format::ratio));
    // ns → µs as a bare number with three significant digits (chart values).
    env.add_filter("us", |ns: f64| format::round3(ns / 1000.0));
    env.add_filter(
        "metric",
        |v: Option<f64>, unit: String| -> Result<String, minijinja::Error> {
            let unit = format::unit_named(&unit).ok_or_else(|| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("unknown unit `{unit}`"),
                )
            })?;
            Ok(v.map_or_else(|| "–".to_owned(), |v| glued(&format::metric(v, unit))))
        },
    );
}

/// A compiled report template: the built-in one or a `--template` file.
#[derive(Debug)]
pub(crate) struct MarkdownTemplate {
    env: Environment<'static>,
    name: String,
}

impl MarkdownTemplate {
    /// The built-in template.
    pub(crate) fn builtin() -> Result<Self, ReportError> {
        Self::from_source(
            BUILTIN_TEMPLATE_NAME.to_owned(),
            BUILTIN_TEMPLATE.to_owned(),
        )
    }

    /// The template in `path` (`--template`), read and compiled now so that
    /// a syntax error is reported before anything runs.
    pub(crate) fn from_file(path: &Path) -> Result<Self, ReportError> {
        let source = std::fs::read_to_string(path).map_err(|source| ReportError::ReadTemplate {
            path: path.to_owned(),
            source,
        })?;
        Self::from_source(path.display().to_string(), source)
    }

    /// A template named `name` with `source`.
    pub(crate) fn from_source(name: String, source: String) -> Result<Self, ReportError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        add_filters(&mut env);
        env.add_template_owned(name.clone(), source)
            .map_err(|source| ReportError::Template {
                path: PathBuf::from(&name),
                template: name.clone(),
                source,
            })?;
        Ok(MarkdownTemplate { env, name })
    }

    fn err(&self, path: &Path) -> impl Fn(minijinja::Error) -> ReportError {
        let (path, template) = (path.to_owned(), self.name.clone());
        move |source| ReportError::Template {
            path: path.clone(),
            template: template.clone(),
            source,
        }
    }

    /// Renders the whole report; `path` names the output in errors.
    pub(crate) fn render(&self, report: &RunReport, path: &Path) -> Result<String, ReportError> {
        let ctx = Context::new(report, path)?;
        let tmpl = self.env.get_template(&self.name).map_err(self.err(path))?;
        tmpl.render(&ctx).map_err(self.err(path))
    }

    /// Renders only the `summary` block (verdict and assertion table).
    pub(crate) fn render_summary(
        &self,
        report: &RunReport,
        path: &Path,
    ) -> Result<String, ReportError> {
        let ctx = Context::new(report, path)?;
        let tmpl = self.env.get_template(&self.name).map_err(self.err(path))?;
        // Renders the whole template into a sink, then its summary block alone.
        let mut captured = tmpl
            .render_captured_to(&ctx, std::io::sink())
            .map_err(self.err(path))?;
        captured
            .with_state_mut(|state| state.render_block(SUMMARY_BLOCK))
            .map_err(self.err(path))
    }
}

/// `report.md` in a directory.
#[derive(Debug)]
pub(crate) struct MarkdownOutput {
    path: PathBuf,
    template: MarkdownTemplate,
}

impl MarkdownOutput {
    /// `out_dir/report.md`, rendered with `template`.
    pub(crate) fn new(out_dir: &Path, template: MarkdownTemplate) -> Self {
        MarkdownOutput {
            path: out_dir.join(REPORT_MD),
            template,
        }
    }
}

impl FileFormat for MarkdownOutput {
    fn render(&self, report: &RunReport) -> Result<Vec<OutputFile>, ReportError> {
        Ok(vec![OutputFile {
            path: self.path.clone(),
            contents: self.template.render(report, &self.path)?.into_bytes(),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::verdict::Verdict;
    use crate::report::fixture::run_report;

    fn render(variants: usize) -> String {
        MarkdownTemplate::builtin()
            .unwrap()
            .render(&run_report(variants), Path::new(REPORT_MD))
            .unwrap()
    }

    #[test]
    fn markdown_report_snapshot() {
        insta::assert_snapshot!(render(1));
    }

    #[test]
    fn markdown_report_with_variants_snapshot() {
        insta::assert_snapshot!(render(2));
    }

    #[test]
    fn summary_block_is_the_verdict_and_assertions_only() {
        let s = MarkdownTemplate::builtin()
            .unwrap()
            .render_summary(&run_report(1), Path::new(REPORT_MD))
            .unwrap();
        assert!(s.contains("FAIL"), "{s}");
        assert!(s.contains("write.append.p99 < 10ms"));
        assert!(!s.contains(".svg"), "no charts in the step summary: {s}");
    }

    #[test]
    fn store_appendix_is_collapsed_and_errors_are_called_out() {
        let mut report = run_report(1);
        report.variants[0].targets[1].store.appendix =
            Some("** DB Stats **\nUptime(secs): 65.0".to_owned());
        report.status = crate::metrics::report::RunStatus::Failed;
        report.error = Some("append on rocksdb-sync: io error".to_owned());
        let md = MarkdownTemplate::builtin()
            .unwrap()
            .render(&report, Path::new(REPORT_MD))
            .unwrap();
        assert!(
            md.contains("<details><summary>rocksdb-sync: store statistics dump</summary>"),
            "{md}"
        );
        assert!(md.contains("Uptime(secs): 65.0"));
        assert!(md.starts_with("# wal-vs-rocksdb-append: ⚠️ ERROR"), "{md}");
        assert!(md.contains("> The run stopped with an error: append on rocksdb-sync: io error."));
    }

    /// Issue 26: a target whose store reports its own service time per op
    /// gets the overhead table, the share computed per op (a batch's
    /// requests counted), and the warning once the protocol takes more
    /// than half; a target without those statistics gets none.
    #[test]
    fn an_op_with_the_stores_own_time_shows_where_its_latency_goes() {
        let mut report = run_report(1);
        let p = &mut report.variants[0].targets[0].phases[1];
        let ops = p.actors[0].count as f64;
        let mean = p.actors[0].latency.mean_ns;
        let op = p.actors[0].op.clone();
        for (name, value) in [
            (format!("{op}_service_ns"), mean * 0.25 * ops),
            (format!("{op}_timed_requests"), 4.0 * ops),
            ("noop_round_trip_ns".to_owned(), 20_000.0),
        ] {
            p.stats.store.insert(name, value);
        }
        let md = MarkdownTemplate::builtin()
            .unwrap()
            .render(&report, Path::new(REPORT_MD))
            .unwrap();
        let table: Vec<&str> = md
            .lines()
            .skip_while(|l| !l.starts_with("Where the time of an op goes"))
            .take(7)
            .collect();
        insta::assert_snapshot!(table.join("\n"));
        assert!(md.contains("Over half of the latency is overhead"), "{md}");
        assert_eq!(
            md.matches("Where the time of an op goes").count(),
            1,
            "{md}"
        );
        let p = &mut report.variants[0].targets[0].phases[1];
        p.stats
            .store
            .insert(format!("{op}_service_ns"), mean * 0.75 * ops);
        let md = MarkdownTemplate::builtin()
            .unwrap()
            .render(&report, Path::new(REPORT_MD))
            .unwrap();
        assert!(md.contains("| 25.0% |"), "{md}");
        assert!(!md.contains("Over half of the latency is overhead"), "{md}");
    }

    /// Guards issue 29: a get's hits (and their share of its operations)
    /// have a column of their own; a phase without gets has none.
    #[test]
    fn gets_show_their_hits_and_hit_ratio() {
        let mut report = run_report(1);
        let a = &mut report.variants[0].targets[0].phases[1].actors[0];
        a.op = "get".to_owned();
        a.hits = Some(a.count * 3 / 4);
        let hits = a.hits.unwrap_or_default();
        let md = MarkdownTemplate::builtin()
            .unwrap()
            .render(&report, Path::new(REPORT_MD))
            .unwrap();
        assert!(md.contains("| max | hits |"), "{md}");
        let row = md
            .lines()
            .find(|l| {
                l.contains(&format!(
                    "{} (75.0%) |",
                    crate::units::human::count(hits as f64)
                ))
            })
            .unwrap_or_else(|| panic!("no hits cell for {hits}: {md}"));
        let name = &report.variants[0].targets[0].phases[1].actors[0].name;
        assert!(row.starts_with(&format!("| {name} |")), "{row}");
        let plain = MarkdownTemplate::builtin()
            .unwrap()
            .render(&run_report(1), Path::new(REPORT_MD))
            .unwrap();
        assert!(!plain.contains("| hits |"), "no gets, no column: {plain}");
    }

    /// Guards issue 29: a matrix report puts the variants side by side,
    /// one table per phase and actor; a single variant has none.
    #[test]
    fn matrix_variants_are_tabled_side_by_side() {
        let md = render(2);
        let at = md
            .find("## Variants side by side")
            .expect("a side-by-side section");
        let section = &md[at..];
        let report = run_report(2);
        for v in &report.variants {
            assert!(section.contains(&format!("| `{}` |", v.label)), "{section}");
        }
        assert!(section.contains(", p99 "), "{section}");
        assert!(!render(1).contains("Variants side by side"));
    }

    /// Guards issue 29: store statistics beside a crash phase say whose
    /// they are (the child's writes are not in them), and a not-judged
    /// assertion shows its reason.
    #[test]
    fn crash_phases_label_the_store_statistics_and_not_judged_shows_why() {
        let mut report = run_report(1);
        let t = &mut report.variants[0].targets[0];
        let mut crash = t.phases[1].clone();
        crash.name = "recover".to_owned();
        crash.ended_by = "crash".to_owned();
        t.phases.push(crash);
        let a = &mut report.variants[0].assertions[0];
        a.verdict = Verdict::NotJudged;
        a.reason = Some("phase `recover` verified no record".to_owned());
        let md = MarkdownTemplate::builtin()
            .unwrap()
            .render(&report, Path::new(REPORT_MD))
            .unwrap();
        assert!(
            md.contains(
                "The writes of `recover` (crash and power-loss phases) happened in the crash child"
            ),
            "{md}"
        );
        assert!(
            md.contains("❔ not judged: phase `recover` verified no record"),
            "{md}"
        );
        assert!(md.contains("1 not judged"), "{md}");
    }

    #[test]
    fn strict_template_names_the_undefined_variable_and_template() {
        let t = MarkdownTemplate::from_source(
            "custom.md.j2".to_owned(),
            "# {{ report.scenario }}\n{{ nope }}\n".to_owned(),
        )
        .unwrap();
        let err = t
            .render(&run_report(1), Path::new("out/report.md"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("custom.md.j2"), "{err}");
        assert!(err.contains("undefined"), "{err}");
        assert!(err.contains("out/report.md"), "{err}");
    }

    #[test]
    fn template_file_override_and_syntax_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("mine.md.j2");
        std::fs::write(&good, "{{ report.scenario }}: {{ verdict }} p99 {{ variants[0].phases[0].rows[0].latency.p99_ns | duration }}\n").unwrap();
        let t = MarkdownTemplate::from_file(&good).unwrap();
        assert_eq!(
            t.render(&run_report(1), Path::new(REPORT_MD)).unwrap(),
            "wal-vs-rocksdb-append: FAIL p99 500\u{a0}µs\n"
        );
        let bad = dir.path().join("bad.md.j2");
        std::fs::write(&bad, "{% if %}").unwrap();
        let err = MarkdownTemplate::from_file(&bad).unwrap_err().to_string();
        assert!(
            err.contains("bad.md.j2") && err.contains("syntax error"),
            "{err}"
        );
        let err = MarkdownTemplate::from_file(&dir.path().join("missing.j2"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot read template ") && err.contains("missing.j2"),
            "{err}"
        );
    }

    /// Regression (issue 27): numbers wrapped away from their units in
    /// GitHub's narrow columns, trimmer rows said `0/s`, the environment
    /// table rendered an empty header row, a huge margin read as a
    /// percentage, and `lost_records` above `acknowledged_records` looked
    /// like a bug with nothing saying what each counts.
    #[test]
    fn tables_people_read() {
        let mut report = run_report(1);
        let t = &mut report.variants[0].targets[0];
        let mixed = t
            .phases
            .iter_mut()
            .find(|p| p.name == "mixed")
            .expect("mixed");
        let mut trimmer = mixed.actors[0].clone();
        trimmer.name = "trimmer".into();
        trimmer.op = "trim".into();
        trimmer.records_per_s = 0.0;
        trimmer.bytes_per_s = 0.0;
        trimmer.service = None;
        trimmer.rate_per_s = None;
        mixed.actors.push(trimmer);
        mixed
            .metrics
            .insert("acknowledged_records".into(), 1_699_580.0);
        mixed.metrics.insert("lost_records".into(), 1_740_840.0);
        report.variants[0].assertions[0].margin = Some(310.092);
        let md = MarkdownTemplate::builtin()
            .unwrap()
            .render(&report, Path::new(REPORT_MD))
            .unwrap();
        assert!(
            md.contains("500\u{a0}µs"),
            "no-break space between number and unit"
        );
        assert!(!md.contains(" µs |"), "{md}");
        let row = md
            .lines()
            .find(|l| l.starts_with("| trimmer |"))
            .expect("a trimmer row");
        assert!(row.contains("| – | – |"), "{row}");
        assert!(
            md.contains("## Environment\n\n| component | version or value |\n"),
            "a header row that says something: {md}"
        );
        assert!(md.contains("311× the threshold"), "{md}");
        assert!(
            md.contains("- `lost_records`: records known to be in the store"),
            "{md}"
        );
        assert!(md.contains("- `acknowledged_records`: "), "{md}");
    }
}
