//! What a comparison gates on: the scenario's `gate:` section (its wire
//! type, [`GateSpec`], is here so a run read back can be judged by the gate
//! it was run with), its defaults, and the cells that cannot be judged
//! however many rounds there are — with the reason, so they are listed
//! instead of silently gated or silently dropped.
//!
//! Owns *which* cells are judged. *How* a judged cell is judged is
//! `stats`' and `diff`'s.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cells::CellKey;
use crate::metrics::actor_metric;
use crate::metrics::catalog;
use crate::metrics::report::RunReport;
use crate::units::Percent;

/// Metrics judged on every actor when a scenario names none.
pub(crate) const DEFAULT_METRICS: &[&str] = &[
    actor_metric::named("records_per_s").name,
    actor_metric::named("p50").name,
    actor_metric::named("p99").name,
];

/// The default minimum effect: a change within ±10 % is no change.
pub(crate) const DEFAULT_THRESHOLD: f64 = 0.10;

fn default_metrics() -> Vec<String> {
    DEFAULT_METRICS.iter().map(|m| (*m).to_owned()).collect()
}

fn yes() -> bool {
    true
}

/// What `loadline compare`, `run --baseline` and `loadline ab` judge
/// between a base and a new run of this scenario. Every other cell is
/// still listed, not judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct GateSpec {
    /// Metrics to judge: a metric name judges it on every actor that has
    /// it (`records_per_s`, `p99`, `service.p99`, a store statistic such
    /// as `fsyncs` on every phase), a metric path one cell
    /// (`write.append.p999`, `crash.reopen.max`, `target.store.fsyncs`).
    /// Default `[records_per_s, p50, p99]`. `--metric` on the command line
    /// replaces the list.
    #[serde(default = "default_metrics")]
    #[schemars(example = vec!["records_per_s", "p99", "target.store.fsyncs"])]
    pub metrics: Vec<String>,
    /// Also judge the metric on the left of every assertion (default
    /// `true`).
    #[serde(default = "yes")]
    pub assertions: bool,
    /// The minimum effect: a cell whose median moves by less than this
    /// (relative to the base) is no change, however certain. Default
    /// `10%`; `--threshold` on the command line overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"5%")]
    pub threshold: Option<Percent>,
}

impl Default for GateSpec {
    fn default() -> Self {
        GateSpec {
            metrics: default_metrics(),
            assertions: true,
            threshold: None,
        }
    }
}

/// The gate a comparison applies: the new run's `gate:` (its resolved
/// scenario, so a stored run is judged as it was declared) with the
/// command line's `--metric` and `--threshold` over it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    /// Names or paths judged (see [`GateSpec::metrics`]).
    pub metrics: Vec<String>,
    /// Paths named on the left of an assertion (empty when the gate says
    /// `assertions: false`).
    pub assertion_metrics: Vec<String>,
    /// The scenario's minimum effect (before `--threshold`).
    pub threshold: f64,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            metrics: default_metrics(),
            assertion_metrics: Vec::new(),
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// The metric on the left of an assertion's text.
fn assertion_metric(text: &str) -> Option<String> {
    let first = text.split_whitespace().next()?;
    let end = first.find(['<', '>', '=', '!']).unwrap_or(first.len());
    (end > 0).then(|| first[..end].to_owned())
}

impl Gate {
    /// The gate `spec` declares, with the assertions of `assertions`.
    pub fn from_spec(spec: &GateSpec, assertions: &[String]) -> Gate {
        let mut assertion_metrics: Vec<String> = if spec.assertions {
            assertions
                .iter()
                .filter_map(|a| assertion_metric(a))
                .collect()
        } else {
            Vec::new()
        };
        assertion_metrics.dedup();
        Gate {
            metrics: spec.metrics.clone(),
            assertion_metrics,
            threshold: spec.threshold.map_or(DEFAULT_THRESHOLD, |p| p.0),
        }
    }

    /// The gate a run was declared with (its first variant's resolved
    /// scenario); a `gate:` that does not read back gives the defaults and
    /// a note saying so.
    pub fn of_run(report: &RunReport) -> (Gate, Option<String>) {
        let Some(doc) = report.variants.first().map(|v| &v.resolved) else {
            return (Gate::default(), None);
        };
        let assertions: Vec<String> = doc
            .get("assertions")
            .and_then(|a| serde_json::from_value(a.clone()).ok())
            .unwrap_or_default();
        match doc.get("gate") {
            None => (Gate::from_spec(&GateSpec::default(), &assertions), None),
            Some(g) => match serde_json::from_value::<GateSpec>(g.clone()) {
                Ok(spec) => (Gate::from_spec(&spec, &assertions), None),
                Err(e) => (
                    Gate::from_spec(&GateSpec::default(), &assertions),
                    Some(format!(
                        "the new run's `gate:` does not read back ({e}); the default gate applies"
                    )),
                ),
            },
        }
    }

    /// True when the gate names `key` by metric name or path.
    pub fn selects(&self, key: &CellKey) -> bool {
        let path = key.path();
        self.metrics
            .iter()
            .chain(&self.assertion_metrics)
            .any(|m| *m == key.metric || *m == path)
    }

    /// One line for `explain` and the outputs.
    pub fn describe(&self) -> String {
        let mut s = format!("judges {}", self.metrics.join(", "));
        if !self.assertion_metrics.is_empty() {
            s.push_str(&format!(
                " and the metrics assertions name ({})",
                self.assertion_metrics.join(", ")
            ));
        }
        s.push_str(&format!(
            "; minimum effect {}",
            crate::units::Percent(self.threshold)
        ));
        s
    }
}

/// Why a cell the gate names cannot be judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Unjudgeable {
    /// A percentile of fewer operations (or crash cycles) than it needs.
    TooFew {
        /// The fewest in any round on either side.
        have: u64,
        /// `operations` or `cycles`.
        of: &'static str,
        /// The percentile (`p99`, `reopen.p99`).
        metric: String,
        /// How many it needs.
        need: u64,
    },
    /// A process-wide value on a per-target cell of a run with several
    /// targets: it depends on the targets that ran before it.
    ProcessWide,
    /// The same measurement as another cell, judged there.
    AliasOf {
        /// The other cell's path.
        path: String,
    },
}

impl std::fmt::Display for Unjudgeable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unjudgeable::TooFew {
                have, of, metric, ..
            } => write!(f, "{have} {of}: {metric} undefined"),
            Unjudgeable::ProcessWide => write!(
                f,
                "process-wide: depends on the targets run before it in the same process"
            ),
            Unjudgeable::AliasOf { path } => write!(f, "the same measurement as {path}"),
        }
    }
}

/// Observations a percentile needs to be more than the maximum: `p99` of
/// fewer than 100 operations is the largest one.
pub(crate) fn percentile_needs(metric: &str) -> Option<u64> {
    let last = metric.rsplit('.').next().unwrap_or(metric);
    match last {
        "p50" => Some(2),
        "p90" => Some(10),
        "p99" => Some(100),
        "p999" => Some(1_000),
        "p9999" => Some(10_000),
        _ => None,
    }
}

/// The rounds of the cells a judgement looks at, on both sides.
pub(crate) trait Rounds {
    /// The base and new rounds of `key`, when both runs have it.
    fn both(&self, key: &CellKey) -> Option<(&[f64], &[f64])>;
    /// Every cell of the same variant and target as `key` (either side).
    fn siblings(&self, key: &CellKey) -> Vec<&CellKey>;
    /// Targets in `key`'s variant, the larger count of the two runs.
    fn targets(&self, key: &CellKey) -> usize;
}

/// Why the gated cell `key` cannot be judged, if it cannot.
pub(crate) fn unjudgeable(key: &CellKey, rounds: &dyn Rounds) -> Option<Unjudgeable> {
    if key.actor == "process"
        && catalog::PROCESS_WIDE.contains(&key.metric.as_str())
        && rounds.targets(key) > 1
    {
        return Some(Unjudgeable::ProcessWide);
    }
    if key.phase == "target" && key.actor == "store" {
        let same = rounds.both(key)?;
        let aliases: Vec<&CellKey> = rounds
            .siblings(key)
            .into_iter()
            .filter(|k| k.phase != "target" && k.actor == "store" && k.metric == key.metric)
            .filter(|k| rounds.both(k) == Some(same))
            .collect();
        if let [one] = aliases.as_slice() {
            return Some(Unjudgeable::AliasOf { path: one.path() });
        }
    }
    let need = percentile_needs(&key.metric)?;
    let (count_metric, of) = if key.actor.is_empty() {
        ("cycles", "cycles")
    } else {
        ("count", "operations")
    };
    let count_key = CellKey {
        metric: count_metric.to_owned(),
        ..key.clone()
    };
    let (b, n) = rounds.both(&count_key)?;
    let have = b.iter().chain(n).copied().fold(f64::INFINITY, f64::min);
    (have.is_finite() && (have as u64) < need).then(|| Unjudgeable::TooFew {
        have: have as u64,
        of,
        metric: key.metric.clone(),
        need,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    struct Map(BTreeMap<CellKey, (Vec<f64>, Vec<f64>)>, usize);

    impl Rounds for Map {
        fn both(&self, key: &CellKey) -> Option<(&[f64], &[f64])> {
            self.0.get(key).map(|(b, n)| (b.as_slice(), n.as_slice()))
        }
        fn siblings(&self, key: &CellKey) -> Vec<&CellKey> {
            self.0
                .keys()
                .filter(|k| k.target == key.target && k.variant == key.variant)
                .collect()
        }
        fn targets(&self, _: &CellKey) -> usize {
            self.1
        }
    }

    fn key(phase: &str, actor: &str, metric: &str) -> CellKey {
        CellKey {
            variant: String::new(),
            target: "wal".into(),
            phase: phase.into(),
            actor: actor.into(),
            metric: metric.into(),
        }
    }

    #[test]
    fn the_default_gate_and_the_metrics_assertions_name() {
        let g = Gate::from_spec(
            &GateSpec::default(),
            &[
                "crash.reopen.p99 < 2s".into(),
                "write.append.p99<50ms".into(),
                "target.store.fsyncs == 0 on wal".into(),
            ],
        );
        assert_eq!(g.threshold, 0.1);
        assert_eq!(
            g.assertion_metrics,
            [
                "crash.reopen.p99",
                "write.append.p99",
                "target.store.fsyncs"
            ]
        );
        assert!(g.selects(&key("mixed", "writer", "records_per_s")));
        assert!(g.selects(&key("crash", "", "reopen.p99")));
        assert!(!g.selects(&key("mixed", "writer", "p999")));
        assert!(!g.selects(&key("mixed", "writer", "service.p99")));
        let off = Gate::from_spec(
            &GateSpec {
                metrics: vec!["write.append.p999".into()],
                assertions: false,
                threshold: Some(Percent(0.05)),
            },
            &["crash.reopen.p99 < 2s".into()],
        );
        assert!(off.selects(&key("write", "append", "p999")));
        assert!(!off.selects(&key("crash", "", "reopen.p99")));
        assert_eq!(
            off.describe(),
            "judges write.append.p999; minimum effect 5%"
        );
    }

    #[test]
    fn a_gate_reads_back_from_a_runs_resolved_scenario() {
        let mut r = crate::report::fixture::run_report(1);
        r.variants[0].resolved["gate"] =
            serde_json::json!({ "metrics": ["p99"], "threshold": "20%" });
        let (g, note) = Gate::of_run(&r);
        assert_eq!(
            (g.metrics.as_slice(), g.threshold, note),
            (&["p99".to_owned()][..], 0.2, None)
        );
        r.variants[0].resolved["gate"] = serde_json::json!({ "metric": ["p99"] });
        let (g, note) = Gate::of_run(&r);
        assert_eq!(g.metrics, DEFAULT_METRICS);
        assert!(note.expect("a note").contains("does not read back"));
    }

    #[test]
    fn too_few_operations_process_wide_values_and_aliases_are_named() {
        let mut m = BTreeMap::new();
        m.insert(
            key("mixed", "trimmer", "count"),
            (vec![7.0, 8.0], vec![8.0, 9.0]),
        );
        m.insert(
            key("mixed", "trimmer", "p99"),
            (vec![1.0, 1.0], vec![1.0, 1.0]),
        );
        m.insert(
            key("mixed", "trimmer", "p50"),
            (vec![1.0, 1.0], vec![1.0, 1.0]),
        );
        m.insert(key("crash", "", "cycles"), (vec![3.0], vec![3.0]));
        m.insert(
            key("crash", "store", "reopen_nanos"),
            (vec![5.0, 6.0], vec![7.0, 8.0]),
        );
        m.insert(
            key("target", "store", "reopen_nanos"),
            (vec![5.0, 6.0], vec![7.0, 8.0]),
        );
        m.insert(key("write", "store", "fsyncs"), (vec![1.0], vec![1.0]));
        m.insert(key("crash", "store", "fsyncs"), (vec![1.0], vec![1.0]));
        m.insert(key("target", "store", "fsyncs"), (vec![1.0], vec![1.0]));
        let rounds = Map(m, 3);
        let reason = unjudgeable(&key("mixed", "trimmer", "p99"), &rounds).expect("too few");
        assert_eq!(reason.to_string(), "7 operations: p99 undefined");
        assert_eq!(unjudgeable(&key("mixed", "trimmer", "p50"), &rounds), None);
        assert_eq!(
            unjudgeable(&key("crash", "", "reopen.p99"), &rounds)
                .expect("3 cycles")
                .to_string(),
            "3 cycles: reopen.p99 undefined"
        );
        assert_eq!(
            unjudgeable(&key("target", "store", "reopen_nanos"), &rounds),
            Some(Unjudgeable::AliasOf {
                path: "crash.store.reopen_nanos".into()
            })
        );
        // Two phases with the same values: not one measurement's alias.
        assert_eq!(
            unjudgeable(&key("target", "store", "fsyncs"), &rounds),
            None
        );
        assert_eq!(
            unjudgeable(&key("target", "process", "peak_rss"), &rounds),
            Some(Unjudgeable::ProcessWide)
        );
        assert_eq!(
            unjudgeable(&key("target", "process", "cpu_user"), &rounds),
            None
        );
        let alone = Map(BTreeMap::new(), 1);
        assert_eq!(
            unjudgeable(&key("target", "process", "peak_rss"), &alone),
            None,
            "with one target the process is the target's"
        );
    }
}
