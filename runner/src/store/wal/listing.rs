//! Recovery's first two steps: what the log directory holds (segment
//! files by id, recycled files, the trim file) once what a crash left
//! half-made is removed, and the check that segment ids run without a gap
//! from the lowest live one.

use std::collections::BTreeMap;
use std::path::Path;

use super::damage::corrupt;
use super::prepare::PREPARED_TMP;
use super::recycle::parse_recycle_name;
use super::segment::{file_name, parse_file_name};
use super::stats::Counters;
use super::trim::{TRIM_TMP, TrimState};
use super::writer::{RECYCLED_TMP, WalOptions, sync_dir};
use crate::store::api::StoreError;
use crate::store::fs::Io;

/// What the directory holds once leftovers are gone.
pub(super) struct Listing {
    /// Live segment files by id.
    pub(super) ids: BTreeMap<u64, String>,
    /// Recycled files kept for reuse, by the id they had.
    pub(super) recycled: BTreeMap<u64, std::path::PathBuf>,
    pub(super) trim: TrimState,
}

/// Recovery's step 1: lists `dir`, removes what a crash left half-made (a trim-file
/// update never renamed into place, a preallocated or recycled file no
/// segment was made of), recycled files beyond the pool and segments below
/// the lowest live one (trims whose unlink a crash undid); fails on two
/// files for one segment id.
pub(super) fn list_dir(
    io: &dyn Io,
    dir: &Path,
    opts: &WalOptions,
    counters: &Counters,
) -> Result<Listing, StoreError> {
    let names = io
        .list_dir(dir)
        .map_err(|e| StoreError::io("list directory", dir, e))?;
    let mut ids: BTreeMap<u64, String> = BTreeMap::new();
    let mut recycled: BTreeMap<u64, std::path::PathBuf> = BTreeMap::new();
    for name in names {
        if let Some(old) = parse_recycle_name(&name) {
            recycled.insert(old, dir.join(&name));
            continue;
        }
        if name == TRIM_TMP || name == PREPARED_TMP || name == RECYCLED_TMP {
            let p = dir.join(&name);
            io.remove_file(&p)
                .map_err(|e| StoreError::io("remove", &p, e))?;
            continue;
        }
        if let Some(id) = parse_file_name(&name)
            && let Some(other) = ids.insert(id, name.clone())
        {
            return Err(corrupt(
                &dir.join(&name),
                0,
                format!("duplicate segment {id}: also in {other}"),
            ));
        }
    }
    let trim = TrimState::load(io, dir)?;
    // Recycled files beyond what the pool keeps (the option was lowered).
    while recycled.len() > opts.recycle_segments {
        if let Some((_, p)) = recycled.pop_first() {
            io.remove_file(&p)
                .map_err(|e| StoreError::io("remove recycled segment", &p, e))?;
        }
    }
    let stale: Vec<u64> = ids.range(..trim.first_live).map(|(id, _)| *id).collect();
    for id in &stale {
        if let Some(name) = ids.remove(id) {
            let p = dir.join(name);
            io.remove_file(&p)
                .map_err(|e| StoreError::io("remove trimmed segment", &p, e))?;
        }
    }
    if !stale.is_empty() {
        sync_dir(counters, io, dir)?;
    }
    Ok(Listing {
        ids,
        recycled,
        trim,
    })
}

/// Recovery's step 2: segment ids must be consecutive from the lowest live one (the
/// trim file's); a gap is a missing segment. Returns the id after the last.
pub(super) fn check_consecutive(
    dir: &Path,
    ids: &BTreeMap<u64, String>,
    trim: &TrimState,
) -> Result<u64, StoreError> {
    let missing_first = || {
        corrupt(
            &dir.join(file_name(trim.first_live)),
            0,
            format!(
                "missing segment {}: the trim file says it is the lowest live one",
                trim.first_live
            ),
        )
    };
    let mut expect_id = match ids.keys().next() {
        Some(&first) if trim.first_live > 0 && first != trim.first_live => {
            return Err(missing_first());
        }
        Some(&first) => first,
        // The active segment is never below the lowest live id and never
        // deleted, so a trimmed log without any segment lost one.
        None if trim.first_live > 0 => return Err(missing_first()),
        None => 1,
    };
    for &id in ids.keys() {
        if id != expect_id {
            return Err(corrupt(
                &dir.join(file_name(expect_id)),
                0,
                format!(
                    "missing segment {expect_id} (found segment {id} after {})",
                    expect_id - 1
                ),
            ));
        }
        expect_id += 1;
    }
    Ok(expect_id)
}
