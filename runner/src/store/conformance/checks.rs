//! The suite as separate checks: [`run_suite`] runs every check a store's
//! capabilities call for, each on its own ([`run_check`]: a broken rule's
//! panic becomes that check's failure, and the next check still runs), and
//! returns one [`CheckResult`] per check. [`check_kind`](super::check_kind)
//! and `loadline conform` are its two callers.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use super::support::sub;
use super::*;
use crate::store::api::Capabilities;

/// The outcome of one conformance check or protocol rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The check or rule, e.g. `log` or `protocol: ids echoed`.
    pub name: String,
    /// What it checked (said on a pass too).
    pub detail: String,
    /// Why it failed: the broken rule's message, starting with the rule;
    /// `None` on a pass.
    pub failure: Option<String>,
    /// How long it took.
    pub duration: Duration,
}

impl CheckResult {
    /// True when the check passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Runs `check`, which returns what it checked or panics naming the rule
/// it found broken, as the check `name`. A panic (from the check or from a
/// thread it joined) is its failure, never the caller's.
pub fn run_check(name: impl Into<String>, check: impl FnOnce() -> String) -> CheckResult {
    let start = Instant::now();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
    let duration = start.elapsed();
    let (detail, failure) = match outcome {
        Ok(detail) => (detail, None),
        Err(payload) => (String::new(), Some(panic_text(payload.as_ref()))),
    };
    CheckResult {
        name: name.into(),
        detail,
        failure,
        duration,
    }
}

/// The text of a panic's payload (`panic!`/`assert!` messages are `&str`
/// or `String`) on one line, starting with the rule: an `assert_eq!`'s
/// "assertion … failed: " prefix goes, its `left`/`right` lines follow
/// the message after `; `.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        return "panicked".to_owned();
    };
    let text = [
        "assertion `left == right` failed: ",
        "assertion `left != right` failed: ",
    ]
    .iter()
    .find_map(|p| text.strip_prefix(p))
    .unwrap_or(&text);
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// One store for [`run_suite`]: how to open it, what it can do, and how to
/// start the kill -9 checks' child writers.
pub struct Suite<'a> {
    /// Opens the store in a directory.
    pub open: OpenFn<'a>,
    /// Opens it on a simulated disk (used when
    /// [`Capabilities::power_loss`]).
    pub open_simulated: SimOpenFn<'a>,
    /// What the store can do: which checks apply.
    pub capabilities: Capabilities,
    /// Crash cycles of each kill -9 check.
    pub kill_cycles: u64,
    /// Starts a child writer on a directory (`true`: key-value puts and
    /// deletes, `false`: appends) with its stdout piped: a process that
    /// calls [`crash_child_kv_writer`] or [`crash_child_writer`].
    pub spawn: &'a dyn Fn(&Path, bool) -> Child,
}

/// Runs every check `suite`'s capabilities call for, each in its own
/// directory under `root`: log, key-value, crash-phase requests, kill -9
/// durability of key-value writes and of appends (persistent and
/// `crash_durable` stores), power loss (stores with `power_loss`). A
/// store that cannot be opened at all fails one `open` check instead.
pub fn run_suite(suite: &Suite<'_>, root: &Path) -> Vec<CheckResult> {
    let caps = suite.capabilities;
    let open = suite.open;
    let opened = run_check("open", || {
        let store = super::support::must(open(&sub(root, "open")), "open");
        super::support::must(store.close(), "close");
        "opens and closes".to_owned()
    });
    if !opened.passed() {
        return vec![opened];
    }
    let mut results = vec![opened];
    let persists = if caps.persistent {
        ", reopen persistence"
    } else {
        ""
    };
    if caps.log {
        results.push(run_check("log", || {
            check_log_store(open, &sub(root, "log"));
            format!(
                "dense offsets, independent streams, read-your-writes, max_bytes, reads past the tail, keys, trim, sync, concurrent appends{persists}"
            )
        }));
    }
    if caps.kv {
        results.push(run_check("key-value", || {
            check_kv_store(open, &sub(root, "kv"));
            format!(
                "get/put/overwrite, read-your-writes, delete, scan order and limit, put_batch, delete_batch{persists}"
            )
        }));
    }
    results.push(run_check("crash phase", || {
        check_crash_requests(open, &sub(root, "crash-requests"));
        format!(
            "only {} operations asked of it; missing ones answer \"not supported\"",
            match (caps.log, caps.kv) {
                (true, true) => "log and key-value",
                (true, false) => "log",
                (false, true) => "key-value",
                (false, false) => "no",
            }
        )
    }));
    let cycles = suite.kill_cycles;
    let durable = caps.persistent && caps.crash_durable;
    if caps.kv && durable {
        results.push(run_check("kill -9 durability of puts and deletes", || {
            let dir = sub(root, "kv-kill9");
            let acks =
                check_kv_kill9_durability(open, &dir, cycles, &|| (suite.spawn)(&dir, true));
            format!(
                "{cycles} cycles, {acks} acknowledged writes, each key's last acknowledged write intact"
            )
        }));
    }
    if caps.log && durable {
        results.push(run_check("kill -9 durability of appends", || {
            let dir = sub(root, "kill9");
            check_kill9_durability(open, &dir, cycles, &|| (suite.spawn)(&dir, false));
            format!("{cycles} cycles, every acknowledged record intact, no holes")
        }));
    }
    if caps.log && caps.power_loss {
        results.push(run_check("power loss with reordered writeback", || {
            let sweep = check_power_loss(suite.open_simulated, 0..POWER_LOSS_TRIALS, false);
            format!(
                "{} simulated disks, {} power losses, {} synced records checked intact",
                sweep.trials, sweep.power_losses, sweep.durable_checked
            )
        }));
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_the_checks_failure_and_a_return_its_detail() {
        let ok = run_check("fine", || "checked".to_owned());
        assert!(ok.passed());
        assert_eq!(ok.detail, "checked");
        let bad = run_check("broken", || panic!("dense offsets: got {}", 3));
        assert_eq!(bad.failure.as_deref(), Some("dense offsets: got 3"));
        let literal = run_check("literal", || panic!("trim: moved back"));
        assert_eq!(literal.failure.as_deref(), Some("trim: moved back"));
        let eq = run_check("eq", || {
            assert_eq!(1 + 1, 3, "dense offsets: stream {}", 0);
            String::new()
        });
        assert_eq!(
            eq.failure.as_deref(),
            Some("dense offsets: stream 0; left: 2; right: 3")
        );
    }
}
