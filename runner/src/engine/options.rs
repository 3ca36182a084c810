//! How to run: the seed, the data directory, the cells selected, the
//! rounds and the interrupt flag the engine polls.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::select::CellFilter;

/// How to run.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    /// Seed of every random stream.
    pub seed: u64,
    /// Where target data directories are created.
    pub data_dir: PathBuf,
    /// Keep data directories after the run.
    pub keep_data: bool,
    /// Open the data a kept directory holds instead of starting empty
    /// (`--reuse-data`); implies `keep_data`.
    pub reuse_data: bool,
    /// The phases, targets and cells to run (`--phase`, `--target`, `--shard`).
    pub filter: CellFilter,
    /// Set to interrupt the run (Ctrl-C); finished phases are kept.
    pub interrupt: Arc<AtomicBool>,
    /// Rounds (`--repeat`, at least 1): each runs every selected cell once;
    /// round `r` starts with the target `r` places down the list.
    pub repeat: usize,
    /// Timeline interval for every phase (`--interval`), overriding the
    /// scenario's `interval:`.
    pub interval: Option<Duration>,
    /// `--crash-hook` and `--after-crash-hook`, for `restart: crash` phases.
    pub crash_hooks: super::hooks::CrashHooks,
}

impl RunOptions {
    /// True when the target called `target` of variant `variant` is to run
    /// (`--target` and `--shard` select it).
    pub(crate) fn selects(&self, variant: usize, target: &str) -> bool {
        self.filter.selects(variant, target)
    }
}
