//! fjall and redb keep loadline's store semantics: the conformance suite
//! (log and key-value operations, reopen persistence) and the kill -9
//! durability check, each kind at its default durability, in one call.

use loadline::store::conformance;
use loadline_stores::{FjallConfig, FjallKind, RedbConfig, RedbKind};

#[test]
fn fjall_conforms_and_survives_kill9() {
    conformance::check_kind::<FjallKind>(&FjallConfig::default());
}

#[test]
fn redb_conforms_and_survives_kill9() {
    conformance::check_kind::<RedbKind>(&RedbConfig::default());
}
