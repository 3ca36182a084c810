//! Server statistics of a Redis-protocol target: the fields of `INFO`
//! that loadline reports as store statistics (`target.store.*`), with
//! their units, and the parser of `INFO`'s `field:value` text.
//!
//! Counters here count since the *server* started; a phase reports their
//! change over the phase, like every store counter. It owns no connection.

use crate::store::api::{RatioStat, StatDesc, StatUnit, StoreStats};
use crate::store::service_time;

/// One statistic: its description and where `INFO` has it.
struct Source {
    desc: StatDesc,
    /// The `INFO` field.
    field: &'static str,
    /// Factor from the field's unit to the statistic's (seconds → µs).
    scale: f64,
}

const fn counter(
    name: &'static str,
    unit: StatUnit,
    field: &'static str,
    help: &'static str,
) -> Source {
    Source {
        desc: StatDesc { name, unit, help },
        field,
        scale: 1.0,
    }
}

const fn level(
    name: &'static str,
    unit: StatUnit,
    field: &'static str,
    help: &'static str,
) -> Source {
    Source {
        desc: StatDesc { name, unit, help },
        field,
        scale: 1.0,
    }
}

const SOURCES: &[Source] = &[
    counter(
        "commands_processed",
        StatUnit::Count,
        "total_commands_processed",
        "commands the server processed (INFO total_commands_processed)",
    ),
    counter(
        "net_input_bytes",
        StatUnit::Bytes,
        "total_net_input_bytes",
        "bytes the server read from clients (INFO total_net_input_bytes)",
    ),
    counter(
        "net_output_bytes",
        StatUnit::Bytes,
        "total_net_output_bytes",
        "bytes the server wrote to clients (INFO total_net_output_bytes)",
    ),
    counter(
        "keyspace_hits",
        StatUnit::Count,
        "keyspace_hits",
        "key lookups that found the key (INFO keyspace_hits)",
    ),
    counter(
        "keyspace_misses",
        StatUnit::Count,
        "keyspace_misses",
        "key lookups that missed (INFO keyspace_misses)",
    ),
    counter(
        "connections_received",
        StatUnit::Count,
        "total_connections_received",
        "connections the server accepted (INFO total_connections_received)",
    ),
    counter(
        "aof_delayed_fsync",
        StatUnit::Count,
        "aof_delayed_fsync",
        "AOF fsyncs delayed behind a slow disk under appendfsync everysec (INFO aof_delayed_fsync)",
    ),
    Source {
        scale: 1e6,
        ..counter(
            "cpu_sys_micros",
            StatUnit::Micros,
            "used_cpu_sys",
            "system CPU time of the server (INFO used_cpu_sys)",
        )
    },
    Source {
        scale: 1e6,
        ..counter(
            "cpu_user_micros",
            StatUnit::Micros,
            "used_cpu_user",
            "user CPU time of the server (INFO used_cpu_user)",
        )
    },
    level(
        "used_memory",
        StatUnit::Bytes,
        "used_memory",
        "memory the server's allocator holds (INFO used_memory)",
    ),
    level(
        "used_memory_rss",
        StatUnit::Bytes,
        "used_memory_rss",
        "resident memory of the server process (INFO used_memory_rss)",
    ),
    level(
        "connected_clients",
        StatUnit::Count,
        "connected_clients",
        "client connections open (INFO connected_clients)",
    ),
    level(
        "aof_size",
        StatUnit::Bytes,
        "aof_current_size",
        "size of the append-only file, when AOF is on (INFO aof_current_size)",
    ),
    level(
        "unsaved_changes",
        StatUnit::Count,
        "rdb_changes_since_last_save",
        "writes since the last RDB snapshot (INFO rdb_changes_since_last_save)",
    ),
];

/// Each op and the command whose `INFO commandstats` line tells the
/// server's own time on it (a batch of N puts is N `SET` calls; an append
/// batch's `MULTI`/`EXEC` is left out).
pub(crate) const COMMAND_OPS: [(&str, &str); 8] = [
    ("append", "xadd"),
    ("read", "xrange"),
    ("trim", "xtrim"),
    ("bounds", "xinfo|stream"),
    ("put", "set"),
    ("get", "get"),
    ("delete", "del"),
    ("scan", "scan"),
];

/// The floor and the per-op statistics, in [`COMMAND_OPS`] order (a test
/// keeps them in step).
const OP_STATS: &[StatDesc] = &service_time::op_service_stats!(
    "INFO commandstats: calls and usec, whole microseconds per call";
    service_time::floor_desc("the protocol's floor: the median round trip of a `PING`, timed at open"),
    ;
    "append", "read", "trim", "bounds", "put", "get", "delete", "scan"
);

/// The ratios of the per-op statistics.
pub(crate) const RATIOS: &[RatioStat] = &service_time::op_service_ratios!(
    ;
    "append", "read", "trim", "bounds", "put", "get", "delete", "scan"
);

/// The statistics' descriptions: [`SOURCES`] then [`OP_STATS`].
pub(crate) static STATS: [StatDesc; SOURCES.len() + OP_STATS.len()] = {
    let mut out = [StatDesc {
        name: "",
        unit: StatUnit::Count,
        help: "",
    }; SOURCES.len() + OP_STATS.len()];
    let mut i = 0;
    while i < SOURCES.len() {
        out[i] = SOURCES[i].desc;
        i += 1;
    }
    while i < out.len() {
        out[i] = OP_STATS[i - SOURCES.len()];
        i += 1;
    }
    out
};

/// The names of the statistics that are levels.
pub(crate) static LEVELS: [&str; 6] = [
    "used_memory",
    "used_memory_rss",
    "connected_clients",
    "aof_size",
    "unsaved_changes",
    service_time::NOOP_STAT,
];

/// Adds the per-op statistics of `INFO commandstats`' text to `stats`:
/// each op of [`COMMAND_OPS`] from its command's `calls` and `usec`
/// (an op whose command the server has not run yet counts 0).
pub(crate) fn parse_commandstats(text: &str, stats: &mut StoreStats) {
    let mut found: std::collections::BTreeMap<&str, (f64, f64)> = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Some((name, fields)) = line.trim_end().split_once(':') else {
            continue;
        };
        let Some(command) = name.strip_prefix("cmdstat_") else {
            continue;
        };
        let Some(&(op, _)) = COMMAND_OPS
            .iter()
            .find(|(_, c)| c.eq_ignore_ascii_case(command))
        else {
            continue;
        };
        let field = |key: &str| {
            fields
                .split(',')
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .and_then(|v| v.parse::<f64>().ok())
        };
        if let (Some(calls), Some(usec)) = (field("calls"), field("usec")) {
            found.insert(op, (calls, usec));
        }
    }
    for (op, _) in COMMAND_OPS {
        let (calls, usec) = found.get(op).copied().unwrap_or((0.0, 0.0));
        service_time::insert_op(&mut stats.values, op, calls, usec * 1e3);
    }
}

/// The statistics found in `INFO`'s text; fields the server does not
/// report (`aof_current_size` without AOF) are left out. The server's
/// version and mode go to the appendix.
pub(crate) fn parse(info: &str) -> StoreStats {
    let mut stats = StoreStats::default();
    let mut about = Vec::new();
    for line in info.lines() {
        let Some((field, value)) = line.trim_end().split_once(':') else {
            continue;
        };
        if matches!(
            field,
            "redis_version" | "redis_mode" | "aof_enabled" | "os" | "executable" | "config_file"
        ) {
            about.push(format!("{field}: {value}"));
        }
        let Some(s) = SOURCES.iter().find(|s| s.field == field) else {
            continue;
        };
        if let Ok(v) = value.parse::<f64>() {
            stats.values.insert(s.desc.name.to_owned(), v * s.scale);
        }
    }
    if !about.is_empty() {
        stats.appendix = Some(about.join("\n"));
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_is_a_declared_statistic() {
        for l in LEVELS {
            assert!(STATS.iter().any(|d| d.name == l), "{l}");
        }
    }

    #[test]
    fn every_command_op_has_its_statistics_and_ratio_declared() {
        for (op, _) in COMMAND_OPS {
            for suffix in ["_timed_requests", "_service_ns", "_service_ns_per_request"] {
                let name = format!("{op}{suffix}");
                assert!(STATS.iter().any(|d| d.name == name), "{name}");
            }
            let ratio = format!("{op}_service_ns_per_request");
            assert!(RATIOS.iter().any(|r| r.name == ratio), "{ratio}");
        }
        assert_eq!(OP_STATS.len(), 1 + 3 * COMMAND_OPS.len());
    }

    #[test]
    fn commandstats_become_each_ops_own_time() {
        let text = "# Commandstats\r\ncmdstat_set:calls=10,usec=25,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\ncmdstat_xinfo|stream:calls=2,usec=8,usec_per_call=4.00\r\ncmdstat_ping:calls=100,usec=50\r\ncmdstat_get:calls=x,usec=1\r\n";
        let mut s = StoreStats::default();
        parse_commandstats(text, &mut s);
        assert_eq!(s.values["put_timed_requests"], 10.0);
        assert_eq!(s.values["put_service_ns"], 25_000.0);
        assert_eq!(s.values["put_service_ns_per_request"], 2_500.0);
        assert_eq!(s.values["bounds_timed_requests"], 2.0);
        assert_eq!(s.values["get_timed_requests"], 0.0, "calls not a number");
        assert_eq!(s.values["append_service_ns_per_request"], 0.0, "never run");
        assert!(!s.values.keys().any(|k| k.starts_with("ping")));
    }

    #[test]
    fn info_text_becomes_statistics_in_their_units() {
        let text = "# Server\r\nredis_version:7.0.15\r\n\r\n# Stats\r\ntotal_commands_processed:1234\r\nused_cpu_sys:1.500000\r\nused_memory:1048576\r\nbogus\r\nkeyspace_hits:x\r\n";
        let s = parse(text);
        assert_eq!(s.values.get("commands_processed"), Some(&1234.0));
        assert_eq!(s.values.get("cpu_sys_micros"), Some(&1_500_000.0));
        assert_eq!(s.values.get("used_memory"), Some(&1_048_576.0));
        assert!(!s.values.contains_key("keyspace_hits"), "not a number");
        assert!(!s.values.contains_key("aof_size"), "absent field");
        assert_eq!(s.appendix.as_deref(), Some("redis_version: 7.0.15"));
    }
}
