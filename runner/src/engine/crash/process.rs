//! The crash child's process: the program it runs and the guard that
//! kills and reaps it on every way out.

use std::path::PathBuf;
use std::process::{Child, ChildStdin, ExitStatus};

use crate::store::StoreError;

/// The program a crash child runs: loadline itself, or (in tests) a stand-in.
#[derive(Debug, Clone)]
pub(crate) struct ChildCommand {
    /// The executable.
    pub program: PathBuf,
    /// Arguments put before the child's own (`__crash-child --file …`).
    pub prefix: Vec<String>,
}

impl ChildCommand {
    /// This executable: `/proc/self/exe` where it exists, which names the
    /// running image even after its file was replaced or deleted (a
    /// rebuild during a long run), else `std::env::current_exe`.
    pub(crate) fn current_exe() -> Result<ChildCommand, StoreError> {
        let proc_self = PathBuf::from("/proc/self/exe");
        if proc_self.exists() {
            return Ok(ChildCommand {
                program: proc_self,
                prefix: Vec::new(),
            });
        }
        let program = std::env::current_exe().map_err(|source| StoreError::Io {
            op: "find the loadline executable",
            path: PathBuf::new(),
            source,
        })?;
        Ok(ChildCommand {
            program,
            prefix: Vec::new(),
        })
    }
}

/// Kills and reaps its child when dropped, so no path — error, panic or
/// interrupt — leaves a zombie or an orphan writing to the store.
#[derive(Debug)]
pub(crate) struct ChildGuard {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl ChildGuard {
    /// Guards `child`, keeping its stdin open (the child exits when it
    /// closes, so it cannot outlive a parent that dies without unwinding).
    pub(crate) fn new(mut child: Child) -> ChildGuard {
        let stdin = child.stdin.take();
        ChildGuard { child, stdin }
    }

    /// The child's stdin, while it is open.
    pub(super) fn stdin(&mut self) -> Option<&mut ChildStdin> {
        self.stdin.as_mut()
    }

    /// The child's process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILLs the child (a no-op if it already exited) and reaps it.
    pub(crate) fn kill(&mut self) -> std::io::Result<ExitStatus> {
        let _ = self.child.kill();
        self.stdin = None;
        self.child.wait()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
