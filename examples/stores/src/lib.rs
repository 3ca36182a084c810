//! fjall and redb as loadline store kinds: the proof that a store kind is
//! one file written against loadline's public API, and that a binary built
//! on loadline gets the whole command line with its own kinds.
//!
//! | file | owns |
//! |---|---|
//! | `fjall_kind` | the `fjall` kind: the log and key-value pairs in a fjall LSM database |
//! | `redb_kind` | the `redb` kind: the log and key-value pairs in a redb B-tree file |

mod fjall_kind;
mod redb_kind;

pub use fjall_kind::{FjallConfig, FjallKind, FjallPersist};
pub use redb_kind::{RedbConfig, RedbDurability, RedbKind};

/// The `loadline-stores` command line: loadline's with `fjall` and `redb`.
pub fn app() -> loadline::App {
    loadline::App::new()
        .name("loadline-stores")
        .store::<FjallKind>()
        .store::<RedbKind>()
}
