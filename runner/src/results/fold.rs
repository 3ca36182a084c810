//! Folding several measurements of one (variant × target) cell — the
//! rounds of `--repeat`, or the same cell from several run directories
//! given to `merge` — into one [`TargetReport`]: every metric's values
//! side by side in [`TargetReport::spread`], the metric fields set to the
//! medians (a maximum to the largest of the rounds'), and the HDR histograms of the rounds added together
//! (losslessly: same bounds, counts summed), so `histogram` in a folded
//! report is the distribution of every operation of every round.
//!
//! One measurement folds to itself, unchanged (no `spread`): a single
//! round's output is what it always was.

use std::collections::BTreeMap;

use crate::metrics::actor_metric::{self, ACTOR_METRICS};
use crate::metrics::recorder;
use crate::metrics::report::{PhaseReport, TargetReport};

use super::stats;

/// Every metric value of `t` by path: its rounds' values when it is
/// already folded, else its one measurement.
fn values_of(t: &TargetReport, into: &mut BTreeMap<String, Vec<f64>>) {
    if t.spread.is_empty() {
        for m in t.measured() {
            into.entry(m.path()).or_default().push(m.value);
        }
    } else {
        for (path, s) in &t.spread {
            into.entry(path.clone())
                .or_default()
                .extend(s.values.iter().copied());
        }
    }
}

/// Adds encoded histograms; `None` when none decodes.
fn merge_histograms<'a>(encoded: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut sum: Option<hdrhistogram::Histogram<u64>> = None;
    for text in encoded {
        let Some(h) = recorder::decode(text) else {
            continue;
        };
        match &mut sum {
            None => sum = Some(h),
            Some(s) => {
                // Histograms of one build share their bounds; one that
                // cannot be added (foreign bounds) is left out.
                let _ = s.add(&h);
            }
        }
    }
    sum.map(|h| recorder::encode(&h))
}

/// Folds the measurements of one cell (in round order) into one report.
pub(crate) fn fold_targets(parts: &[&TargetReport]) -> Option<TargetReport> {
    let (first, rest) = parts.split_first()?;
    if rest.is_empty() {
        return Some((*first).clone());
    }
    let mut values = BTreeMap::new();
    for t in parts {
        values_of(t, &mut values);
    }
    let spread: BTreeMap<String, _> = values
        .into_iter()
        .filter_map(|(k, v)| Some((k, stats::spread(v)?)))
        .collect();
    let mut out = (*first).clone();
    out.error = parts.iter().find_map(|t| t.error.clone());
    // Phases in the order they first appear; each folded over the parts that ran it.
    out.phases = by_name(parts, |t| &t.phases, |p| &p.name)
        .iter()
        .filter_map(|of| fold_phase(of))
        .collect();
    for t in rest {
        for (k, unit) in &t.store_units {
            out.store_units.entry(k.clone()).or_insert(*unit);
        }
    }
    set_medians(&mut out, &spread);
    out.spread = spread;
    Some(out)
}

/// The items of `parts` grouped by name, in the order names first appear:
/// for each name, the item of every part that has it.
fn by_name<'a, P, T>(
    parts: &[&'a P],
    items: impl Fn(&'a P) -> &'a [T],
    name: impl Fn(&T) -> &str,
) -> Vec<Vec<&'a T>> {
    let mut groups: Vec<Vec<&'a T>> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for p in parts {
        for item in items(p) {
            let n = groups.len();
            let at = *index.entry(name(item)).or_insert(n);
            if at == n {
                groups.push(Vec::new());
            }
            groups[at].push(item);
        }
    }
    groups
}

fn fold_phase(parts: &[&PhaseReport]) -> Option<PhaseReport> {
    let (first, _) = parts.split_first()?;
    let mut out = (*first).clone();
    out.actors = by_name(parts, |p| &p.actors, |a| &a.name)
        .iter()
        .filter_map(|of| {
            let (first, _) = of.split_first()?;
            let mut a = (*first).clone();
            if let Some(h) = merge_histograms(of.iter().map(|a| a.histogram.as_str())) {
                a.histogram = h;
            }
            if a.service_histogram.is_some() {
                a.service_histogram =
                    merge_histograms(of.iter().filter_map(|a| a.service_histogram.as_deref()));
            }
            a.first_error = of.iter().find_map(|a| a.first_error.clone());
            Some(a)
        })
        .collect();
    for p in parts.iter().filter(|p| !p.warmup) {
        for k in p.metrics.keys() {
            out.metrics.entry(k.clone()).or_insert(0.0);
        }
    }
    Some(out)
}

/// Sets every metric field of `t` to its median over the rounds, a
/// maximum to the largest of the rounds' (see `Spread::reported`; derived
/// metrics such as `per_record.p99` live in `spread` only).
fn set_medians(t: &mut TargetReport, spread: &BTreeMap<String, crate::metrics::report::Spread>) {
    let median = |path: String| spread.get(&path).map(|s| s.reported(&path));
    for p in t.phases.iter_mut().filter(|p| !p.warmup) {
        if let Some(v) = median(format!("{}.duration", p.name)) {
            p.duration_ns = v.round() as u64;
        }
        let keys: Vec<String> = p.metrics.keys().cloned().collect();
        for k in keys {
            match median(format!("{}.{k}", p.name)) {
                Some(v) => {
                    p.metrics.insert(k, v);
                }
                None => {
                    p.metrics.remove(&k);
                }
            }
        }
        for a in &mut p.actors {
            for m in ACTOR_METRICS {
                if let Some(v) = median(format!("{}.{}.{}", p.name, a.name, m.name)) {
                    m.set(a, v);
                }
            }
            for m in actor_metric::latencies() {
                if let Some(v) = median(format!("{}.{}.service.{}", p.name, a.name, m.name)) {
                    m.set_service(a, v);
                }
            }
        }
    }
    let pm = &mut t.process;
    for (name, _) in crate::metrics::catalog::PROCESS_METRICS {
        if let Some(v) = median(format!("target.process.{name}")) {
            let n = v.round() as u64;
            match *name {
                "cpu_user" => pm.cpu_user_ns = n,
                "cpu_sys" => pm.cpu_sys_ns = n,
                "peak_rss" => pm.peak_rss_bytes = n,
                "disk_read_bytes" => pm.disk_read_bytes = n,
                "disk_write_bytes" => pm.disk_write_bytes = n,
                _ => {}
            }
        }
    }
    let stats: Vec<String> = spread
        .keys()
        .filter_map(|k| k.strip_prefix("target.store.").map(str::to_owned))
        .collect();
    for name in stats {
        if let Some(v) = median(format!("target.store.{name}")) {
            t.store.values.insert(name, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    fn cell(scale: f64) -> TargetReport {
        let mut t = run_report(1).variants[0].targets[0].clone();
        for p in &mut t.phases {
            for a in &mut p.actors {
                a.records_per_s *= scale;
                a.latency.p99_ns = (a.latency.p99_ns as f64 * scale) as u64;
            }
        }
        t
    }

    /// Every per-actor metric a report holds comes back from a fold of
    /// rounds as the rounds' reported value (a median, a maximum's
    /// largest): each row's setter writes what its getter reads, the
    /// service time's included, and a derived row follows its fields.
    #[test]
    fn every_actor_metric_row_round_trips_through_fold() {
        let rounds: Vec<TargetReport> = (1..=3u32)
            .map(|round| {
                let mut t = cell(1.0);
                let a = &mut t.phases[2].actors[0];
                a.hits = Some(0);
                for (i, m) in ACTOR_METRICS.iter().enumerate() {
                    let v = f64::from(round) * 1_000.0 + i as f64;
                    m.set(a, v);
                    m.set_service(a, v + 100.0);
                }
                // Gets that found a third of what they looked for.
                a.count = 30_000 * u64::from(round);
                a.hits = Some(10_000 * u64::from(round));
                t
            })
            .collect();
        assert!(
            rounds[0].phases[2].actors[0].service.is_some(),
            "an open-loop actor"
        );
        let parts: Vec<&TargetReport> = rounds.iter().collect();
        let f = fold_targets(&parts).unwrap();
        let (phase, a) = (&f.phases[2].name, &f.phases[2].actors[0]);
        for m in ACTOR_METRICS {
            let path = format!("{phase}.{}.{}", a.name, m.name);
            match m.value {
                actor_metric::Value::Derived(get) => {
                    assert_eq!(m.get(a), get(a), "{path} follows its fields");
                }
                _ => {
                    let reported = f.spread[&path].reported(&path);
                    assert_eq!(m.get(a), Some(reported), "{path}");
                    assert!(
                        rounds
                            .iter()
                            .any(|r| m.get(&r.phases[2].actors[0]) == Some(reported)),
                        "{path}: one round's value (3 rounds: the median or the largest)"
                    );
                }
            }
            if let Some(service) = m.service(a) {
                let path = format!("{phase}.{}.service.{}", a.name, m.name);
                assert_eq!(service, f.spread[&path].reported(&path), "{path}");
            }
        }
    }

    #[test]
    fn one_round_folds_to_itself() {
        let t = cell(1.0);
        let folded = fold_targets(&[&t]).unwrap();
        assert_eq!(
            serde_json::to_string(&folded).unwrap(),
            serde_json::to_string(&t).unwrap()
        );
    }

    #[test]
    fn rounds_fold_to_medians_with_every_value_kept() {
        let (a, b, c) = (cell(1.0), cell(3.0), cell(2.0));
        let f = fold_targets(&[&a, &b, &c]).unwrap();
        let w = &f.phases[1].actors[0];
        let path = format!("{}.{}.records_per_s", f.phases[1].name, w.name);
        let s = &f.spread[&path];
        let base = a.phases[1].actors[0].records_per_s;
        assert_eq!(s.values, [base, base * 3.0, base * 2.0]);
        assert_eq!(w.records_per_s, base * 2.0, "the field is the median");
        assert_eq!(s.min, base);
        assert_eq!(s.max, base * 3.0);
        let m = crate::metrics::catalog::MetricRef::Actor {
            phase: f.phases[1].name.clone(),
            actor: w.name.clone(),
            metric: "records_per_s".into(),
        };
        assert_eq!(f.lookup(&m), Some(base * 2.0), "assertions see the median");
        // Folding folded cells appends their rounds (a merge of repeated runs).
        let g = fold_targets(&[&f, &a]).unwrap();
        assert_eq!(g.spread[&path].values.len(), 4);
    }

    /// Regression: `max` was the median of the rounds' maxima (512 µs shown
    /// where one round saw 1.07 ms).
    #[test]
    fn the_max_over_rounds_is_the_largest_round_max() {
        let rounds: Vec<TargetReport> = [512_000u64, 1_070_000, 500_000]
            .iter()
            .map(|&max| {
                let mut t = cell(1.0);
                t.phases[1].actors[0].latency.max_ns = max;
                t
            })
            .collect();
        let parts: Vec<&TargetReport> = rounds.iter().collect();
        let f = fold_targets(&parts).unwrap();
        let w = &f.phases[1].actors[0];
        assert_eq!(w.latency.max_ns, 1_070_000, "the field is the true max");
        let m = crate::metrics::catalog::MetricRef::Actor {
            phase: f.phases[1].name.clone(),
            actor: w.name.clone(),
            metric: "max".into(),
        };
        assert_eq!(f.lookup(&m), Some(1_070_000.0), "assertions see it too");
        let p99 = crate::metrics::catalog::MetricRef::Actor {
            phase: f.phases[1].name.clone(),
            actor: w.name.clone(),
            metric: "p99".into(),
        };
        assert_eq!(
            f.lookup(&p99),
            Some(rounds[0].phases[1].actors[0].latency.p99_ns as f64),
            "other statistics stay medians"
        );
    }

    #[test]
    fn histograms_of_rounds_are_added() {
        let mut h =
            hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for v in [1_000u64, 2_000, 3_000] {
            h.record(v).unwrap();
        }
        let mut a = cell(1.0);
        let mut b = cell(1.0);
        a.phases[1].actors[0].histogram = recorder::encode(&h);
        h.record(1_000_000).unwrap();
        b.phases[1].actors[0].histogram = recorder::encode(&h);
        let f = fold_targets(&[&a, &b]).unwrap();
        let merged = recorder::decode(&f.phases[1].actors[0].histogram).unwrap();
        assert_eq!(merged.len(), 7, "3 + 4 operations");
        assert_eq!(merged.max(), h.max());
    }
}
