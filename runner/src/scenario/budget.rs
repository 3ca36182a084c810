//! Memory a scenario allocates before its phases run, and the machine's
//! memory to compare it with.
//!
//! Payload pools are generated up front (one per payload and batch size the
//! actors use), and a power-loss phase's `prepare` lives on a simulated disk
//! in memory. Both are known from the file, so validation refuses a scenario
//! whose up-front allocation exceeds what the machine has instead of letting
//! the allocator abort the run with no report. `explain` prints the same
//! figures.

use super::model::{Payload, PayloadSource, Phase, RestartKind};

/// The (payload, batch size) pools the phases' actors use: appends and
/// puts their batch (a put of batch N sets N keys in one operation), and
/// `prepare` batches of one.
/// `only`, when not empty, restricts to those phases.
pub(crate) fn pool_batches(phases: &[Phase], only: &[&str]) -> Vec<(String, usize)> {
    let mut wanted: Vec<(String, usize)> = Vec::new();
    let mut want = |p: &str, batch: usize| {
        if !wanted.iter().any(|(n, b)| n == p && *b == batch) {
            wanted.push((p.to_owned(), batch));
        }
    };
    for ph in phases {
        if !only.is_empty() && !only.contains(&ph.name.as_str()) {
            continue;
        }
        if let Some(r) = &ph.restart
            && let Some((_, p)) = &r.prepare
        {
            want(p, 1);
        }
        for a in &ph.actors {
            if let Some((p, batch)) = a.plan.payload() {
                want(p, batch);
            }
        }
    }
    wanted
}

/// Expected bytes of one generated pool: `pool` batches of `batch` records
/// of the mean size (recorded files are memory-mapped, not allocated).
pub(crate) fn pool_bytes(payload: &Payload, batch: usize) -> u64 {
    match &payload.source {
        PayloadSource::Generated { size, pool, .. } => {
            (*pool as f64 * batch as f64 * size.mean()).min(u64::MAX as f64) as u64
        }
        PayloadSource::File { .. } => 0,
    }
}

/// One up-front allocation: what it is, the YAML pointer that causes it,
/// and its size in bytes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Allocation {
    /// For messages: ``payload `small` (batches of 10)``.
    pub what: String,
    /// JSON pointer of the field that sets its size.
    pub pointer: String,
    /// Bytes.
    pub bytes: u64,
}

/// Every up-front allocation of one variant.
pub(crate) fn allocations(payloads: &[Payload], phases: &[Phase]) -> Vec<Allocation> {
    let mut out = Vec::new();
    for (name, batch) in pool_batches(phases, &[]) {
        let Some(p) = payloads.iter().find(|p| p.name == name) else {
            continue;
        };
        let bytes = pool_bytes(p, batch);
        if bytes > 0 {
            out.push(Allocation {
                what: format!("payload `{name}` pool (batches of {batch})"),
                pointer: format!("/payloads/{}/pool", super::load::escape_segment(&name)),
                bytes,
            });
        }
    }
    for (i, ph) in phases.iter().enumerate() {
        if let Some(r) = &ph.restart
            && r.kind == RestartKind::PowerLoss
            && let Some((bytes, _)) = &r.prepare
        {
            out.push(Allocation {
                what: format!(
                    "phase `{}` prepare (held on a simulated disk in memory)",
                    ph.name
                ),
                pointer: format!("/phases/{i}/prepare"),
                bytes: *bytes,
            });
        }
    }
    out
}

/// Memory the machine has for a run: `MemAvailable` from `/proc/meminfo`
/// (free memory plus what the kernel can reclaim), or `None` where that
/// cannot be read (then nothing is refused).
pub(crate) fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo(&text, "MemAvailable")
}

fn parse_meminfo(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_is_read_in_bytes() {
        let text =
            "MemTotal:       24586240 kB\nMemFree:        1000 kB\nMemAvailable:   23000000 kB\n";
        assert_eq!(parse_meminfo(text, "MemAvailable"), Some(23_000_000 * 1024));
        assert_eq!(parse_meminfo(text, "MemTotal"), Some(24_586_240 * 1024));
        assert_eq!(parse_meminfo(text, "Mem"), None);
        assert!(available_memory().is_some_and(|b| b > 0), "this is Linux");
    }
}
