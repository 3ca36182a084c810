//! Process and machine facts: CPU time (`getrusage`), peak RSS and storage
//! bytes of this process from `/proc` (sampled before and after a target's
//! run), and the environment recorded in every report (CPU, cores, memory,
//! kernel, filesystem of the data directory).
//!
//! Reads only; on systems without `/proc` every value is zero or empty
//! rather than an error, since they describe the run, not gate it.

use std::path::Path;

use super::report::{Environment, PhaseProcess, ProcessStats};

/// A point-in-time sample of this process's counters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    cpu_user_ns: u64,
    cpu_sys_ns: u64,
    read_bytes: u64,
    write_bytes: u64,
}

/// Samples this process's CPU time (`getrusage`) and `/proc/self/io`.
pub(crate) fn sample() -> Sample {
    let mut s = Sample::default();
    if let Some((user, sys)) = cpu_times() {
        s.cpu_user_ns = user;
        s.cpu_sys_ns = sys;
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

/// User and system CPU time of this process so far, in nanoseconds, from
/// `getrusage(RUSAGE_SELF)`. Linux derives them from the scheduler's exact
/// run time and reports microseconds, where `/proc/self/stat` counts 10 ms
/// clock ticks: a phase of a few hundred milliseconds could read 40 ms one
/// run and 80 ms the next, and fail a comparison on nothing.
#[expect(
    unsafe_code,
    reason = "getrusage(2) has no std wrapper; see the SAFETY notes"
)]
fn cpu_times() -> Option<(u64, u64)> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is writable memory of the type getrusage fills in,
    // and RUSAGE_SELF is a valid `who`.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: zeroed (a valid `rusage`: plain integers) and then filled in
    // by the successful call.
    let usage = unsafe { usage.assume_init() };
    let nanos = |t: libc::timeval| {
        u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000
            + u64::try_from(t.tv_usec).unwrap_or(0) * 1_000
    };
    Some((nanos(usage.ru_utime), nanos(usage.ru_stime)))
}

/// Resident set size of this process now (`VmRSS`), bytes.
pub(crate) fn rss() -> u64 {
    status_kib("/proc/self/status", "VmRSS:") * 1024
}

/// Process statistics between two samples `wall_ns` apart, with RSS and
/// jemalloc's figures now.
pub(crate) fn phase_delta(before: Sample, after: Sample, wall_ns: u64) -> PhaseProcess {
    let (user, sys) = (
        after.cpu_user_ns.saturating_sub(before.cpu_user_ns),
        after.cpu_sys_ns.saturating_sub(before.cpu_sys_ns),
    );
    PhaseProcess {
        cpu_user_ns: user,
        cpu_sys_ns: sys,
        cpu_utilisation: if wall_ns == 0 {
            0.0
        } else {
            (user + sys) as f64 / wall_ns as f64
        },
        rss_bytes: rss(),
        memory: super::memory::sample(),
    }
}

/// Peak resident set size of this process (`VmHWM`), bytes.
pub(crate) fn peak_rss() -> u64 {
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
pub(crate) fn delta(before: Sample, after: Sample) -> ProcessStats {
    ProcessStats {
        cpu_user_ns: after.cpu_user_ns.saturating_sub(before.cpu_user_ns),
        cpu_sys_ns: after.cpu_sys_ns.saturating_sub(before.cpu_sys_ns),
        peak_rss_bytes: peak_rss(),
        rss_bytes: rss(),
        memory: super::memory::sample(),
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
pub(crate) fn filesystem_of(dir: &Path) -> String {
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
pub(crate) fn environment(data_dir: &Path) -> Environment {
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

    /// Spins `chunk` multiplications at a time until the process's CPU
    /// time since the start has grown to at least `ns` (a loaded machine
    /// may give this thread little of the wall clock), or a minute passes;
    /// returns the change.
    fn spin_until_cpu(chunk: u64, ns: u64) -> ProcessStats {
        let before = sample();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        loop {
            for _ in 0..chunk {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            std::hint::black_box(x);
            let d = delta(before, sample());
            if d.cpu_user_ns + d.cpu_sys_ns >= ns
                || start.elapsed() > std::time::Duration::from_secs(60)
            {
                return d;
            }
        }
    }

    #[test]
    fn cpu_time_is_finer_than_a_clock_tick() {
        // The first change the sampler sees is far below the 10 ms tick of
        // `/proc/self/stat`, whose first change is a whole tick.
        let d = spin_until_cpu(10_000, 1);
        let total = d.cpu_user_ns + d.cpu_sys_ns;
        assert!(total > 0 && total < 5_000_000, "{d:?}");
    }

    #[test]
    fn cpu_time_grows_with_work() {
        // Fails only when the CPU time never grows by 100 ms: a sampler
        // that does not read CPU time.
        let d = spin_until_cpu(1_000_000, 100_000_000);
        assert!(d.cpu_user_ns + d.cpu_sys_ns >= 100_000_000, "{d:?}");
        assert!(d.peak_rss_bytes > 0);
        assert!(d.rss_bytes > 0 && d.rss_bytes <= d.peak_rss_bytes, "{d:?}");
    }

    #[test]
    fn environment_names_the_machine() {
        let e = environment(Path::new("/"));
        assert!(e.cores >= 1);
        assert!(!e.kernel.is_empty());
        assert!(!e.filesystem.is_empty());
    }
}
