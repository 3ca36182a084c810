//! The statistics through which an out-of-process kind tells where an
//! op's time goes: per op, the requests that carried the store's own
//! time (`<op>_timed_requests`), that time summed (`<op>_service_ns`) and
//! their ratio (`<op>_service_ns_per_request`); and the protocol's floor,
//! the median round trip of a request the store spends no time on
//! (`noop_round_trip_ns`), measured once at open by [`floor`].
//!
//! `report.md` reads these names to split each actor's latency into the
//! store's own time and the protocol's overhead; any kind reporting them
//! gets that table. It owns the names and the floor's measurement, not
//! where a kind finds the values.

use std::time::Instant;

use super::api::StoreError;

/// The statistic of the protocol's floor, ns.
pub(crate) const NOOP_STAT: &str = "noop_round_trip_ns";
/// Suffix of an op's count of requests with the store's own time.
pub(crate) const TIMED_SUFFIX: &str = "_timed_requests";
/// Suffix of an op's summed own time, ns.
pub(crate) const SERVICE_SUFFIX: &str = "_service_ns";

/// Round trips [`floor`] times.
pub(crate) const FLOOR_ROUND_TRIPS: usize = 100;

/// The per-op statistics of the ops listed, as `StatDesc`s (three per op,
/// after any listed first) — `$source` says, in the help text, where the
/// store's own time comes from.
macro_rules! op_service_stats {
    ($source:literal; $($first:expr,)* ; $($op:literal),*) => {
        [
            $($first,)*
            $(
                $crate::store::api::StatDesc {
                    name: concat!($op, "_timed_requests"),
                    unit: $crate::store::api::StatUnit::Count,
                    help: concat!("`", $op, "` requests whose own time the store told (", $source, ")"),
                },
                $crate::store::api::StatDesc {
                    name: concat!($op, "_service_ns"),
                    unit: $crate::store::api::StatUnit::Nanos,
                    help: concat!("the store's own time on `", $op, "` requests, summed (", $source, ")"),
                },
                $crate::store::api::StatDesc {
                    name: concat!($op, "_service_ns_per_request"),
                    unit: $crate::store::api::StatUnit::Nanos,
                    help: concat!("the store's mean own time per `", $op, "` request; report.md subtracts it from the actor's latency: the protocol's overhead"),
                },
            )*
        ]
    };
}
pub(crate) use op_service_stats;

/// The ratios `<op>_service_ns_per_request` of the ops listed (after any
/// listed first), as `RatioStat`s.
macro_rules! op_service_ratios {
    ($($first:expr,)* ; $($op:literal),*) => {
        [
            $($first,)*
            $(
                $crate::store::api::RatioStat {
                    name: concat!($op, "_service_ns_per_request"),
                    numerator: &[concat!($op, "_service_ns")],
                    denominator: &[concat!($op, "_timed_requests")],
                },
            )*
        ]
    };
}
pub(crate) use op_service_ratios;

/// The description of [`NOOP_STAT`]; `how` names the request timed.
pub(crate) const fn floor_desc(help: &'static str) -> super::api::StatDesc {
    super::api::StatDesc {
        name: NOOP_STAT,
        unit: super::api::StatUnit::Nanos,
        help,
    }
}

/// The protocol's floor: the median of [`FLOOR_ROUND_TRIPS`] round trips
/// of `round_trip`, one after another, in ns; `None` as soon as one
/// answers `Ok(false)` (the store does not offer the request). The one
/// clock read of a store outside the engine's worker: once, at open,
/// before any measured operation.
///
/// # Errors
///
/// The first error of `round_trip`.
pub(crate) fn floor(
    mut round_trip: impl FnMut() -> Result<bool, StoreError>,
) -> Result<Option<u64>, StoreError> {
    let mut times = Vec::with_capacity(FLOOR_ROUND_TRIPS);
    for _ in 0..FLOOR_ROUND_TRIPS {
        let start = Instant::now();
        if !round_trip()? {
            return Ok(None);
        }
        times.push(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    times.sort_unstable();
    Ok(times.get(times.len() / 2).copied())
}

/// Puts an op's three statistics into `values` from its timed requests
/// and their summed own time.
pub(crate) fn insert_op(
    values: &mut std::collections::BTreeMap<String, f64>,
    op: &str,
    timed: f64,
    service_ns: f64,
) {
    values.insert(format!("{op}{TIMED_SUFFIX}"), timed);
    values.insert(format!("{op}{SERVICE_SUFFIX}"), service_ns);
    let per = if timed > 0.0 { service_ns / timed } else { 0.0 };
    values.insert(format!("{op}{SERVICE_SUFFIX}_per_request"), per);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_a_median_and_an_unoffered_request_has_none() {
        let mut n = 0;
        let f = floor(|| {
            n += 1;
            Ok(true)
        })
        .expect("floor");
        assert!(f.is_some());
        assert_eq!(n, FLOOR_ROUND_TRIPS);
        assert_eq!(floor(|| Ok(false)).expect("floor"), None);
        let err = floor(|| {
            Err(StoreError::Engine {
                op: "noop",
                detail: "boom".to_owned(),
            })
        });
        assert!(matches!(err, Err(StoreError::Engine { op: "noop", .. })));
    }

    #[test]
    fn an_ops_statistics_and_their_declarations_share_names() {
        const STATS: &[crate::store::api::StatDesc] = &op_service_stats!("test"; ; "put");
        const RATIOS: &[crate::store::api::RatioStat] = &op_service_ratios!(; "put");
        let mut values = std::collections::BTreeMap::new();
        insert_op(&mut values, "put", 4.0, 10.0);
        let names: Vec<&str> = STATS.iter().map(|d| d.name).collect();
        let keys: Vec<&str> = values.keys().map(String::as_str).collect();
        assert_eq!(keys, {
            let mut n = names.clone();
            n.sort_unstable();
            n
        });
        assert_eq!(values["put_service_ns_per_request"], 2.5);
        assert_eq!(RATIOS[0].name, "put_service_ns_per_request");
        assert_eq!(RATIOS[0].numerator, ["put_service_ns"]);
        assert_eq!(RATIOS[0].denominator, ["put_timed_requests"]);
    }
}
