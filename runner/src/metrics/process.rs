//! Process and machine facts from `/proc`: CPU time, peak RSS and storage
//! bytes of this process (sampled before and after a target's run), and the
//! environment recorded in every report (CPU, cores, memory, kernel,
//! filesystem of the data directory).
//!
//! Reads files only; on systems without `/proc` every value is zero or
//! empty rather than an error, since they describe the run, not gate it.

use std::path::Path;

use super::report::{Environment, ProcessStats};

/// A point-in-time sample of this process's counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    cpu_user_ns: u64,
    cpu_sys_ns: u64,
    read_bytes: u64,
    write_bytes: u64,
}

/// Clock ticks per second of `/proc/self/stat` times (Linux's USER_HZ is
/// 100 on every architecture loadline runs on).
const USER_HZ: u64 = 100;

/// Samples `/proc/self/stat` and `/proc/self/io`.
pub fn sample() -> Sample {
    let mut s = Sample::default();
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesised command name; utime and stime are
        // fields 14 and 15 (1-based), i.e. 11 and 12 after the name.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            s.cpu_user_ns = ticks(11) * (1_000_000_000 / USER_HZ);
            s.cpu_sys_ns = ticks(12) * (1_000_000_000 / USER_HZ);
        }
    }
    if let Ok(io) = std::fs::read_to_string("/proc/self/io") {
        for line in io.lines() {
            let mut it = line.split(':');
            let (Some(k), Some(v)) = (it.next(), it.next()) else {
                continue;
            };
            let v = v.trim().parse().unwrap_or(0);
            match k {
                "read_bytes" => s.read_bytes = v,
                "write_bytes" => s.write_bytes = v,
                _ => {}
            }
        }
    }
    s
}

/// Peak resident set size of this process (`VmHWM`), bytes.
pub fn peak_rss() -> u64 {
    status_kib("/proc/self/status", "VmHWM:") * 1024
}

fn status_kib(file: &str, key: &str) -> u64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The difference between two samples, plus the current peak RSS.
pub fn delta(before: Sample, after: Sample) -> ProcessStats {
    ProcessStats {
        cpu_user_ns: after.cpu_user_ns.saturating_sub(before.cpu_user_ns),
        cpu_sys_ns: after.cpu_sys_ns.saturating_sub(before.cpu_sys_ns),
        peak_rss_bytes: peak_rss(),
        disk_read_bytes: after.read_bytes.saturating_sub(before.read_bytes),
        disk_write_bytes: after.write_bytes.saturating_sub(before.write_bytes),
    }
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The filesystem type holding `dir`, from the longest matching mount point.
pub fn filesystem_of(dir: &Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut best: Option<(usize, String)> = None;
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        let mount = f[1].replace("\\040", " ");
        if dir.starts_with(&mount) && best.as_ref().is_none_or(|(len, _)| mount.len() > *len) {
            best = Some((mount.len(), f[2].to_owned()));
        }
    }
    best.map(|(_, fs)| fs).unwrap_or_default()
}

/// The environment of this run.
pub fn environment(data_dir: &Path) -> Environment {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    Environment {
        hostname: read_trim("/proc/sys/kernel/hostname"),
        kernel: read_trim("/proc/sys/kernel/osrelease"),
        os: std::env::consts::OS.to_owned(),
        cpu_model,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        memory_bytes: status_kib("/proc/meminfo", "MemTotal:") * 1024,
        rustc: env!("LOADLINE_RUSTC").to_owned(),
        filesystem: filesystem_of(data_dir),
        data_dir: data_dir.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_with_work() {
        // Spins until 100 ms of CPU time show, with a 20 s limit: a wall
        // clock budget fails when other processes share the cores (300 ms
        // of wall time gave < 100 ms of CPU beside five compilers).
        let before = sample();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        let mut d = delta(before, sample());
        while d.cpu_user_ns + d.cpu_sys_ns < 100_000_000
            && start.elapsed() < std::time::Duration::from_secs(20)
        {
            for _ in 0..1_000_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            std::hint::black_box(x);
            d = delta(before, sample());
        }
        assert!(d.cpu_user_ns + d.cpu_sys_ns >= 100_000_000, "{d:?}");
        assert!(d.peak_rss_bytes > 0);
    }

    #[test]
    fn environment_names_the_machine() {
        let e = environment(Path::new("/"));
        assert!(e.cores >= 1);
        assert!(!e.kernel.is_empty());
        assert!(!e.filesystem.is_empty());
    }
}
