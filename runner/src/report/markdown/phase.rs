//! One phase of a target as `report.md` tables it: the phase's runs,
//! its actors' rows, where an out-of-process op's time goes (the store's
//! own time against the protocol's), and its non-zero store statistics.

use serde::Serialize;

use crate::metrics::catalog::MetricUnit;
use crate::metrics::report::{Latency, PhaseReport, TargetReport};
use crate::report::charts::ChartSpec;
use crate::store::service_time::{NOOP_STAT, SERVICE_SUFFIX, TIMED_SUFFIX};

/// One measured phase across targets.
#[derive(Debug, Serialize)]
pub(crate) struct PhaseView {
    /// Phase name.
    pub name: String,
    /// Per target: name, duration in ns, why it ended.
    pub runs: Vec<PhaseRun>,
    /// Actor × target rows (service-time rows follow their actor).
    pub rows: Vec<ActorRow>,
    /// Some row has errors (show the column).
    pub has_errors: bool,
    /// Some row has late starts (show the column).
    pub has_late: bool,
    /// Some row is a get's (show the hits column).
    pub has_hits: bool,
    /// The SVG charts of this phase (latency spectrum and timeline per
    /// actor), files beside `report.md`.
    pub charts: Vec<ChartLink>,
    /// Where each op's time goes on targets whose store reports its own
    /// service time per op (out-of-process kinds).
    pub overhead: Vec<OverheadRow>,
    /// Some overhead row is over [`OVERHEAD_WARNING`] of its latency.
    pub overhead_warning: bool,
    /// Phase-level metrics (e.g. `lost_records`), one row each.
    pub metrics: Vec<StatRow>,
    /// What each crash record count in `metrics` counts (name, meaning),
    /// so `lost_records` above `acknowledged_records` does not read as a
    /// bug.
    pub definitions: Vec<(String, &'static str)>,
}

/// A phase on one target.
#[derive(Debug, Serialize)]
pub(crate) struct PhaseRun {
    /// Target name.
    pub target: String,
    /// Wall-clock duration, ns.
    pub duration_ns: u64,
    /// Why it ended.
    pub ended_by: String,
    /// It began with the target's files evicted from the page cache.
    pub began_cold: bool,
}

/// One actor on one target (or its service time).
#[derive(Debug, Serialize)]
pub(crate) struct ActorRow {
    /// Actor name.
    pub actor: String,
    /// Target name.
    pub target: String,
    /// True for the service-time row of an open-loop actor.
    pub service: bool,
    /// Records per second (absent on service rows and for periodic ops —
    /// trim, sync — that move no records).
    pub records_per_s: Option<f64>,
    /// Body bytes per second (absent where `records_per_s` is).
    pub bytes_per_s: Option<f64>,
    /// Target rate of an open-loop actor.
    pub rate_per_s: Option<f64>,
    /// Latency in ns.
    pub latency: Latency,
    /// Failed operations.
    pub errors: Option<u64>,
    /// Operations that started late (open loop).
    pub late: Option<u64>,
    /// Gets only: operations that found their key.
    pub hits: Option<u64>,
    /// Gets only: `hits` over operations.
    pub hit_ratio: Option<f64>,
}

/// The share of an op's latency spent outside the store above which the
/// report warns: the figures then measure the protocol more than the
/// store.
pub(crate) const OVERHEAD_WARNING: f64 = 0.5;

/// One actor on one target split into the store's own time and the rest:
/// the protocol (pipes or network, encoding, the plug-in's loop).
#[derive(Debug, Serialize)]
pub(crate) struct OverheadRow {
    /// Actor name.
    pub actor: String,
    /// Target name.
    pub target: String,
    /// Mean latency of an op, ns (its service time under a rate: the
    /// queueing before its start is not the protocol's).
    pub latency_ns: f64,
    /// Requests the store answered per op (a batch of puts is several).
    pub requests_per_op: f64,
    /// The store's own time per op, as its replies said, ns.
    pub service_ns: f64,
    /// The protocol's floor, the round trip of a request the store spends
    /// no time on, ns (absent when not measured).
    pub floor_ns: Option<f64>,
    /// `latency_ns − service_ns`.
    pub overhead_ns: f64,
    /// `overhead_ns / latency_ns`.
    pub share: f64,
    /// `share` is above [`OVERHEAD_WARNING`].
    pub warn: bool,
}

/// The overhead rows of a phase: per actor and target whose phase
/// statistics have the store's own time of the actor's op (the names of
/// [`crate::store::service_time`]: `<op>_service_ns`,
/// `<op>_timed_requests`, and `noop_round_trip_ns` for the floor). Actors
/// of one op share its time in proportion to their ops.
fn overhead_rows(phases: &[(String, Option<&PhaseReport>)]) -> Vec<OverheadRow> {
    let mut rows = Vec::new();
    for (target, p) in phases {
        let Some(p) = p else { continue };
        let store = &p.stats.store;
        for a in &p.actors {
            let (Some(&service), Some(&timed)) = (
                store.get(&format!("{}{SERVICE_SUFFIX}", a.op)),
                store.get(&format!("{}{TIMED_SUFFIX}", a.op)),
            ) else {
                continue;
            };
            let ops: u64 = p
                .actors
                .iter()
                .filter(|b| b.op == a.op)
                .map(|b| b.count)
                .sum();
            if timed <= 0.0 || ops == 0 || a.count == 0 {
                continue;
            }
            let latency_ns = a.service.unwrap_or(a.latency).mean_ns;
            let service_ns = service / ops as f64;
            let overhead_ns = (latency_ns - service_ns).max(0.0);
            let share = if latency_ns > 0.0 {
                overhead_ns / latency_ns
            } else {
                0.0
            };
            rows.push(OverheadRow {
                actor: a.name.clone(),
                target: target.clone(),
                latency_ns,
                requests_per_op: timed / ops as f64,
                service_ns,
                floor_ns: store.get(NOOP_STAT).copied(),
                overhead_ns,
                share,
                warn: share > OVERHEAD_WARNING,
            });
        }
    }
    rows
}

/// A named value per target, with its unit.
#[derive(Debug, Serialize)]
pub(crate) struct StatRow {
    /// Name.
    pub name: String,
    /// Unit of the values.
    pub unit: MetricUnit,
    /// One value per target (absent where it does not exist).
    pub values: Vec<Option<f64>>,
}

/// The unit of store statistic `name` of store kind `kind`: as the store
/// declares it, else guessed from a conventional suffix.
pub(super) fn store_stat_unit(kind: &str, name: &str) -> MetricUnit {
    if let Some(d) = crate::store::stat_desc(kind, name) {
        return crate::metrics::catalog::stat_unit(d.unit);
    }
    if name.ends_with("_bytes") || name.ends_with("bytes_written") || name.ends_with("bytes_read") {
        MetricUnit::Bytes
    } else if name.ends_with("_micros") {
        MetricUnit::Micros
    } else if name.ends_with("_ns") || name.ends_with("_nanos") {
        MetricUnit::Nanos
    } else if name.ends_with("amplification") || name.ends_with("_ratio") {
        MetricUnit::Ratio
    } else {
        MetricUnit::Count
    }
}

/// Names in first-seen order across targets. A set keeps it linear: a
/// report is rendered after every few phases, and with thousands of phases
/// a quadratic union dominated the run.
pub(super) fn union<'a>(
    lists: impl IntoIterator<Item = impl IntoIterator<Item = &'a str>>,
) -> Vec<String> {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for list in lists {
        for n in list {
            if seen.insert(n) {
                out.push(n.to_owned());
            }
        }
    }
    out
}

/// Each target's measured phases by name (the first of a name), so a
/// report of many phases is laid out in linear time.
pub(super) type PhaseIndex<'a> = Vec<std::collections::HashMap<&'a str, &'a PhaseReport>>;

pub(super) fn phase_index(targets: &[TargetReport]) -> PhaseIndex<'_> {
    targets
        .iter()
        .map(|t| {
            let mut m = std::collections::HashMap::new();
            for p in t.phases.iter().filter(|p| !p.warmup) {
                m.entry(p.name.as_str()).or_insert(p);
            }
            m
        })
        .collect()
}

pub(super) fn phase_view(
    name: &str,
    targets: &[TargetReport],
    index: &PhaseIndex<'_>,
    charts: Vec<ChartLink>,
) -> PhaseView {
    let phases: Vec<(String, Option<&PhaseReport>)> = targets
        .iter()
        .zip(index)
        .map(|(t, by_name)| (t.name.clone(), by_name.get(name).copied()))
        .collect();
    let runs = phases
        .iter()
        .filter_map(|(t, p)| {
            p.as_ref().map(|p| PhaseRun {
                target: t.clone(),
                duration_ns: p.duration_ns,
                ended_by: p.ended_by.clone(),
                began_cold: p.began_cold,
            })
        })
        .collect();
    let actors = union(
        phases
            .iter()
            .filter_map(|(_, p)| p.as_ref())
            .map(|p| p.actors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>()),
    );
    let mut rows = Vec::new();
    for actor in &actors {
        let mut service_rows = Vec::new();
        for (target, p) in &phases {
            let Some(a) = p
                .as_ref()
                .and_then(|p| p.actors.iter().find(|a| &a.name == actor))
            else {
                continue;
            };
            rows.push(ActorRow {
                actor: actor.clone(),
                target: target.clone(),
                service: false,
                // A trimmer moves no records: `–`, as on the console.
                records_per_s: (!crate::report::console::periodic(&a.op))
                    .then_some(a.records_per_s),
                bytes_per_s: (!crate::report::console::periodic(&a.op)).then_some(a.bytes_per_s),
                rate_per_s: a.rate_per_s,
                latency: a.latency,
                errors: Some(a.errors),
                late: Some(a.late),
                hits: a.hits,
                hit_ratio: const { crate::metrics::actor_metric::named("hit_ratio") }.get(a),
            });
            if let Some(s) = a.service {
                service_rows.push(ActorRow {
                    actor: actor.clone(),
                    target: target.clone(),
                    service: true,
                    records_per_s: None,
                    bytes_per_s: None,
                    rate_per_s: None,
                    latency: s,
                    errors: None,
                    late: None,
                    hits: None,
                    hit_ratio: None,
                });
            }
        }
        rows.extend(service_rows);
    }
    let metric_names = union(
        phases
            .iter()
            .filter_map(|(_, p)| p.as_ref())
            .map(|p| p.metrics.keys().map(String::as_str).collect::<Vec<_>>()),
    );
    let metrics: Vec<StatRow> = metric_names
        .into_iter()
        .map(|m| StatRow {
            unit: crate::metrics::phase_metric::phase_metric_unit(&m).unwrap_or(MetricUnit::Count),
            values: phases
                .iter()
                .map(|(_, p)| p.as_ref().and_then(|p| p.metrics.get(&m).copied()))
                .collect(),
            name: m,
        })
        .collect();
    let definitions = crate::metrics::phase_metric::PHASE_METRICS
        .iter()
        .filter(|d| metrics.iter().any(|m: &StatRow| m.name == d.name))
        .filter_map(|d| Some((d.name.to_owned(), d.meaning?)))
        .collect();
    let overhead = overhead_rows(&phases);
    PhaseView {
        name: name.to_owned(),
        overhead_warning: overhead.iter().any(|r| r.warn),
        overhead,
        definitions,
        runs,
        has_errors: rows.iter().any(|r| r.errors.unwrap_or(0) > 0),
        has_late: rows.iter().any(|r| r.late.unwrap_or(0) > 0),
        has_hits: rows.iter().any(|r| r.hits.is_some()),
        rows,
        charts,
        metrics,
    }
}

/// A chart file beside `report.md`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChartLink {
    /// What it shows (alt text).
    pub title: String,
    /// File name, relative to `report.md`.
    pub file: String,
}

impl From<&ChartSpec> for ChartLink {
    fn from(spec: &ChartSpec) -> Self {
        ChartLink {
            title: spec.title.clone(),
            file: spec.file.clone(),
        }
    }
}
