//! `loadline explain`: prints the expanded plan of a scenario — variants,
//! targets, phases, actors with worker counts, expected records, bytes and
//! durations where they can be known, and payload pool memory.

use std::fmt::Write as _;

use super::{CliError, Exit, print_diagnostics};
use crate::cli::ExplainArgs;
use crate::scenario::Loader;
use crate::scenario::diagnostic::Diagnostics;
use crate::scenario::model::{Actor, KeyConfig, OpPlan, PayloadSource, Phase, Scenario};
use crate::units::{format_count, format_duration, format_size};

/// Prints the plan of one scenario file.
pub(crate) fn explain(args: &ExplainArgs, loader: &Loader) -> Result<Exit, CliError> {
    let loaded = loader
        .load_file(
            &args.file,
            &super::with_profile(&args.overrides, args.profile.as_deref()),
        )
        .map_err(|d| {
            print_diagnostics(&d);
            CliError::Invalid(d)
        })?;
    if !loaded.warnings.is_empty() {
        print_diagnostics(&Diagnostics(loaded.warnings.clone()));
    }
    let mut out = String::new();
    let first = &loaded.variants[0];
    let _ = writeln!(out, "scenario {} ({})", first.name, args.file.display());
    if let Some(d) = &first.description {
        let _ = writeln!(out, "  {d}");
    }
    let _ = writeln!(
        out,
        "seed: {}",
        first.seed.map_or_else(
            || "drawn at run time (pass --seed to fix it)".to_owned(),
            |s| s.to_string()
        )
    );
    // The profile: named on the command line (`--profile`, `--set
    // profile=`), else the file's `profile:`.
    let from_cli = args.profile.clone().or_else(|| {
        args.overrides
            .iter()
            .rev()
            .find_map(|o| o.split_once('=').filter(|(k, _)| k.trim() == "profile"))
            .map(|(_, v)| v.trim().to_owned())
    });
    let from_file = crate::scenario::yaml::parse(&loaded.source)
        .ok()
        .and_then(|(doc, _)| {
            doc.get("profile")
                .and_then(|v| v.as_str().map(str::to_owned))
        });
    if let Some(name) = from_cli.as_ref().or(from_file.as_ref()) {
        let entries: Vec<String> = loaded
            .spec
            .profiles
            .get(name)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}={}",
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "profile: {name} ({}): {}",
            if from_cli.is_some() {
                "from the command line"
            } else {
                "the file's `profile:`"
            },
            if entries.is_empty() {
                "no overrides".to_owned()
            } else {
                entries.join(", ")
            }
        );
    }
    let _ = writeln!(out, "variants: {}", loaded.variants.len());
    for v in &loaded.variants {
        explain_variant(&mut out, v, loaded.variants.len() > 1);
    }
    super::print_text(&out);
    Ok(Exit::Ok)
}

/// Appends the plan of one variant to `out`.
pub(crate) fn explain_variant(out: &mut String, s: &Scenario, labelled: bool) {
    if labelled {
        let _ = writeln!(out, "\nvariant {}", s.variant.label);
    }
    let _ = writeln!(
        out,
        "\ntargets ({}), each starting in an empty data directory of its own, shared by its phases:",
        s.targets.len()
    );
    for t in &s.targets {
        let detail = t.kind.describe();
        let _ = writeln!(out, "  {} [{}] {detail}", t.name, t.kind.name());
    }
    if !s.payloads.is_empty() {
        let _ = writeln!(out, "\npayloads:");
    }
    for p in &s.payloads {
        match &p.source {
            PayloadSource::Generated {
                size,
                entropy,
                keys,
                pool,
            } => {
                let batch = max_batch(s, &p.name);
                let mem = crate::scenario::budget::pool_bytes(p, batch);
                let _ = writeln!(
                    out,
                    "  {}: mean record {}, max {}, entropy {entropy}, keys {}; pool {} batches x {} records = {} in memory",
                    p.name,
                    format_size(size.mean().round() as u64),
                    format_size(size.max()),
                    wire(keys),
                    format_count(*pool),
                    batch,
                    format_size_approx(mem)
                );
            }
            PayloadSource::File { path, batch } => {
                let _ = writeln!(
                    out,
                    "  {}: recorded file {} (memory-mapped, batches of {batch})",
                    p.name,
                    path.display()
                );
            }
        }
    }
    let _ = writeln!(out, "\nphases (run in order against each target):");
    for (i, ph) in s.phases.iter().enumerate() {
        explain_phase(out, s, i, ph);
    }
    if !s.assertions.is_empty() {
        let _ = writeln!(
            out,
            "\nassertions ({}), checked on every target unless scoped with `on` or `where`:",
            s.assertions.len()
        );
        for a in &s.assertions {
            let _ = writeln!(out, "  {}", a.text);
        }
    }
    let _ = writeln!(
        out,
        "\ngate (what `compare`, `run --baseline` and `ab` judge between two runs): {}",
        s.gate.describe()
    );
    estimate(out, s);
}

fn max_batch(s: &Scenario, payload: &str) -> usize {
    s.phases
        .iter()
        .flat_map(|p| &p.actors)
        .filter_map(|a| a.plan.payload())
        .filter(|(p, _)| *p == payload)
        .map(|(_, batch)| batch)
        .max()
        .unwrap_or(1)
}

fn explain_phase(out: &mut String, s: &Scenario, i: usize, ph: &Phase) {
    let mut ends = Vec::new();
    if let Some(r) = ph.records {
        ends.push(format!("{} records", format_count(r)));
    }
    if let Some(d) = ph.duration {
        ends.push(format_duration(d));
    }
    let _ = writeln!(
        out,
        "  {}. {}{}{}{}",
        i + 1,
        ph.name,
        if ph.targets.is_empty() {
            String::new()
        } else {
            format!(" (on {} only)", ph.targets.join(", "))
        },
        if ph.warmup {
            " (warmup: excluded from results)"
        } else {
            ""
        },
        if ends.is_empty() {
            String::new()
        } else {
            format!(", ends after {}", ends.join(" or "))
        }
    );
    let writers: usize = ph
        .actors
        .iter()
        .filter(|a| a.is_writer())
        .map(|a| a.workers)
        .sum();
    if let Some(st) = ph.settle {
        let _ = writeln!(
            out,
            "     first settles: waits until the store's background work is done (at most {}; {})",
            format_duration(st.timeout),
            if st.fail_on_timeout {
                "a timeout stops the run"
            } else {
                "after a timeout it measures anyway, settle.timed_out = 1"
            }
        );
    }
    for a in &ph.actors {
        let _ = writeln!(out, "     - {}", describe_actor(s, ph, a, writers));
    }
    if let Some(r) = &ph.restart {
        let window = r.after.map_or(String::new(), |(a, b)| {
            if a == b {
                format!(" after {}", format_duration(a))
            } else {
                format!(
                    " at a seeded moment in {}..{}",
                    format_duration(a),
                    format_duration(b)
                )
            }
        });
        let _ = writeln!(
            out,
            "     then restart: {}{window}{}{}{}",
            wire(&r.kind),
            r.after_records.map_or(String::new(), |n| format!(
                " after {} acknowledged records",
                format_count(n)
            )),
            if r.repeat > 1 {
                format!(", {} cycles", r.repeat)
            } else {
                String::new()
            },
            if r.verify {
                ", verify every acknowledged record"
            } else {
                ""
            }
        );
        if let Some((bytes, payload)) = &r.prepare {
            let _ = writeln!(
                out,
                "     prepared with {} of `{payload}`",
                format_size(*bytes)
            );
        }
    }
}

fn describe_actor(s: &Scenario, ph: &Phase, a: &Actor, writer_workers: usize) -> String {
    let op = a.plan.name();
    let mut parts = vec![format!(
        "{} ({op}), {} worker{}",
        a.name,
        a.workers,
        if a.workers == 1 { "" } else { "s" }
    )];
    let keys = |k: &KeyConfig| {
        format!(
            "{} key{} of {}, {}",
            format_count(k.space),
            if k.space == 1 { "" } else { "s" },
            format_size(k.length as u64),
            wire(&k.distribution)
        )
    };
    let batch = |b: usize| (b > 1).then(|| format!("batch {b}"));
    match &a.plan {
        OpPlan::Append { streams, batch, .. } => parts.push(format!(
            "{streams} stream{}, batch {batch}",
            if *streams == 1 { "" } else { "s" },
        )),
        OpPlan::Read {
            from,
            lag,
            max_bytes,
            ..
        } => parts.push(format!(
            "from {}, lag {lag}, up to {} per read",
            wire(from),
            format_size(*max_bytes)
        )),
        OpPlan::Trim { every, keep, .. } => parts.push(format!(
            "every {}, keeping {} records",
            format_duration(*every),
            format_count(*keep)
        )),
        OpPlan::Sync { every } => parts.push(format!("every {}", format_duration(*every))),
        OpPlan::Put {
            batch: b, keys: k, ..
        }
        | OpPlan::Delete { batch: b, keys: k } => {
            parts.push(keys(k));
            parts.extend(batch(*b));
        }
        OpPlan::Get { keys: k } | OpPlan::Scan { keys: k, .. } => parts.push(keys(k)),
    }
    match a.rate {
        Some(r) => parts.push(format!("open loop at {r}/s")),
        None if !a.is_periodic() => parts.push("closed loop".to_owned()),
        None => {}
    }
    if a.in_flight > 1 {
        parts.push(format!("{} requests in flight per worker", a.in_flight));
    }
    if let Some((records, bytes)) = expected(s, ph, a, writer_workers) {
        parts.push(format!(
            "expects {} records{}",
            format_count(records),
            bytes.map_or(String::new(), |b| format!(" (~{})", format_size_approx(b)))
        ));
    }
    parts.join(", ")
}

/// An actor's expected records (a writer's share of `records`, or rate ×
/// duration) and, with a generated payload, their body bytes.
fn expected(
    s: &Scenario,
    ph: &Phase,
    a: &Actor,
    writer_workers: usize,
) -> Option<(u64, Option<u64>)> {
    let share = if a.is_writer() && writer_workers > 0 {
        ph.records
            .map(|r| r * a.workers as u64 / writer_workers as u64)
    } else {
        None
    };
    let by_rate = a
        .rate
        .zip(ph.duration)
        .map(|(r, d)| (r * d.as_secs_f64()) as u64);
    let records = match (share, by_rate) {
        (Some(r), Some(b)) => r.min(b * a.plan.batch() as u64),
        (Some(r), None) => r,
        (None, Some(b)) => b * a.plan.batch() as u64,
        (None, None) => return None,
    };
    let p = a.plan.payload().and_then(|(p, _)| s.payload(p))?;
    let bytes = match &p.source {
        PayloadSource::Generated { size, .. } => Some((records as f64 * size.mean()) as u64),
        PayloadSource::File { .. } => None,
    };
    Some((records, bytes))
}

/// The estimate at the end of a variant's plan: how long its phases take
/// on one target where a clock bounds them, and how many bytes of records
/// its writers and `prepare`s put on each target's disk where the
/// scenario fixes them. Phases ended by `records` alone take what the
/// store takes, and are named.
fn estimate(out: &mut String, s: &Scenario) {
    let mut clocked = std::time::Duration::ZERO;
    let mut open_ended: Vec<&str> = Vec::new();
    let mut bytes = 0u64;
    let mut unknown_bytes: Vec<&str> = Vec::new();
    for ph in &s.phases {
        let crash = ph.restart.as_ref().and_then(|r| {
            r.after
                .map(|(_, hi)| hi * u32::try_from(r.repeat).unwrap_or(u32::MAX))
        });
        match (ph.duration, crash) {
            (Some(d), Some(c)) => clocked += d.min(c),
            (Some(d), None) | (None, Some(d)) => clocked += d,
            (None, None) if !ph.actors.is_empty() => open_ended.push(&ph.name),
            (None, None) => {}
        }
        let writers: usize = ph
            .actors
            .iter()
            .filter(|a| a.is_writer())
            .map(|a| a.workers)
            .sum();
        for a in ph.actors.iter().filter(|a| a.plan.payload().is_some()) {
            match expected(s, ph, a, writers) {
                Some((_, Some(b))) => bytes += b,
                _ => {
                    if !unknown_bytes.contains(&ph.name.as_str()) {
                        unknown_bytes.push(&ph.name);
                    }
                }
            }
        }
        if let Some((b, _)) = ph.restart.as_ref().and_then(|r| r.prepare.as_ref()) {
            bytes += b;
        }
    }
    let _ = writeln!(
        out,
        "\nestimate, per target ({}):",
        match s.targets.len() {
            1 => "1 target".to_owned(),
            n => format!("{n} targets, run one after another"),
        }
    );
    let _ = writeln!(
        out,
        "  time: {}{}",
        if clocked.is_zero() && !open_ended.is_empty() {
            "unknown".to_owned()
        } else {
            format!("at least {}", format_duration(clocked))
        },
        if open_ended.is_empty() {
            String::new()
        } else {
            format!(
                ", plus {} (ended by records: as fast as the store writes them)",
                open_ended.join(", ")
            )
        }
    );
    let _ = writeln!(
        out,
        "  disk: ~{} of record bodies written{}; the store's own overhead (framing, indexes, compaction) comes on top",
        format_size_approx(bytes),
        if unknown_bytes.is_empty() {
            String::new()
        } else {
            format!(
                ", plus what {} write{} (no fixed count)",
                unknown_bytes.join(", "),
                if unknown_bytes.len() == 1 { "s" } else { "" }
            )
        }
    );
}

/// A value's name as a scenario file writes it (`power-loss`, `tail`,
/// `zipfian`): its serde name, not its Rust `Debug` name lowercased.
fn wire<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::from("?"),
    }
}

/// A size rounded for reading (explain output, not data).
fn format_size_approx(bytes: u64) -> String {
    let units = [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (u, f) in units {
        if bytes >= f {
            return format!("{:.1}{u}", bytes as f64 / f as f64);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::load::Source;

    fn plan(text: &str) -> String {
        let loaded = crate::scenario::load_source(
            Source {
                name: "t.yaml".to_owned(),
                text: text.to_owned(),
            },
            Path::new("t.yaml"),
            &[],
        )
        .expect("valid");
        let mut out = String::new();
        super::explain_variant(&mut out, &loaded.variants[0], false);
        out
    }

    #[test]
    fn explain_says_a_phase_settles_first_and_what_a_timeout_does() {
        let out = plan(
            "version: 1\nname: t\ntargets:\n  db: { rocksdb: {} }\npayloads:\n  p: { size: 1KiB }\nphases:\n  - name: fill\n    records: 1000\n    actors:\n      - { op: append, payload: p }\n  - name: quiet\n    settle: {}\n  - name: read\n    settle: { timeout: 30s, on_timeout: measure }\n    records: 1000\n    actors:\n      - { op: read, from: head }\n",
        );
        assert!(
            out.contains("2. quiet\n     first settles: waits until the store's background work is done (at most 5m; a timeout stops the run)"),
            "{out}"
        );
        assert!(
            out.contains("(at most 30s; after a timeout it measures anyway, settle.timed_out = 1)"),
            "{out}"
        );
        assert_eq!(out.matches("first settles").count(), 2, "{out}");
    }

    /// Guards issue 16 (explain's names): values are printed as a
    /// scenario writes them — `power-loss`, not `powerloss`; `1 key of 8B`,
    /// not `1 keys of 8b`; `1MB`, not `1000000B`.
    #[test]
    fn explain_prints_names_and_sizes_as_a_scenario_writes_them() {
        let out = plan(
            "version: 1\nname: t\ntargets:\n  log: { wal: {} }\n  kv: { memory: {} }\npayloads:\n  p: { size: 1MB, keys: single, pool: 2 }\nphases:\n  - name: crash\n    targets: [log]\n    restart: power-loss\n    after: 1s\n    actors:\n      - { op: append, payload: p }\n  - name: kv\n    targets: [kv]\n    records: 10\n    actors:\n      - { op: put, batch: 10, keys: { space: 1, length: 8B, distribution: sequential } }\n      - { op: read, from: head }\n",
        );
        assert!(out.contains("then restart: power-loss after 1s"), "{out}");
        assert!(out.contains("1 key of 8B, sequential, batch 10"), "{out}");
        assert!(
            out.contains("mean record 1MB, max 1MB, entropy 1, keys single"),
            "{out}"
        );
        assert!(out.contains("(read), 1 worker, from head"), "{out}");
        assert!(
            !out.contains("powerloss") && !out.contains("000000B"),
            "{out}"
        );
    }

    /// Guards issue 16 (explain omitted RocksDB settings): `memory_budget`,
    /// raw `options` and per-column-family options are in the plan.
    /// Guards issue 29: explain estimates time and disk — a 1 GiB
    /// scenario says so in figures, and names the phases only the store's
    /// speed bounds; the wal's group commit reads as the wait it is.
    #[test]
    fn explain_estimates_time_and_disk_and_says_what_sync_interval_is() {
        let out = plan(
            "version: 1\nname: t\ntargets:\n  log: { wal: { sync: batch, sync_interval: 1ms } }\npayloads:\n  p: { size: 1KiB }\nphases:\n  - name: fill\n    records: 1048576\n    actors:\n      - { op: append, payload: p }\n  - name: soak\n    duration: 30s\n    actors:\n      - { op: read, from: head }\n  - name: crash\n    restart: crash\n    after: 1s..2s\n    repeat: 3\n    prepare: { bytes: 64MiB }\n    actors:\n      - { op: append, payload: p }\n",
        );
        assert!(
            out.contains("time: at least 36s, plus fill (ended by records"),
            "{out}"
        );
        assert!(
            out.contains("disk: ~1.1GiB of record bodies written, plus what crash writes"),
            "{out}"
        );
        assert!(
            out.contains("group commit: a group waits up to 1ms for writers to join"),
            "{out}"
        );
        assert!(!out.contains("every 1ms"), "{out}");
        assert!(out.contains("estimate, per target (1 target):"), "{out}");
    }

    #[cfg(feature = "rocksdb")]
    #[test]
    fn explain_shows_rocksdb_memory_budget_raw_options_and_column_families() {
        let out = plan(
            "version: 1\nname: t\ntargets:\n  r:\n    rocksdb:\n      memory_budget: 256MiB\n      options: { max_background_jobs: \"4\" }\n      column_families:\n        data: { memory_share: 85%, num_levels: 7, compression: zstd, prefix_length: 9 }\n        metadata: { memory_share: 15%, num_levels: 3 }\npayloads:\n  p: { size: 64B }\nphases:\n  - name: w\n    records: 10\n    actors: [{ op: append }]\n",
        );
        assert!(out.contains("memory_budget 256MiB"), "{out}");
        assert!(out.contains("options {max_background_jobs=4}"), "{out}");
        assert!(
            out.contains(
                "cf data [85% of memory_budget, 7 levels, compression zstd, 9-byte prefix extractor]"
            ),
            "{out}"
        );
        assert!(
            out.contains("cf metadata [15% of memory_budget, 3 levels]"),
            "{out}"
        );
    }
}
