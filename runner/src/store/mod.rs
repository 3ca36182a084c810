//! Stores under test: the [`Store`]/[`Session`] API, its implementations, and
//! the one `match` that opens a target. A new store is one file plus one arm.

mod api;
pub mod conformance;
pub mod memory;
pub mod wal;

pub use api::*;
pub use memory::MemoryStore;
pub use wal::{SimFs, WalOptions, WalStore, WalSync};
