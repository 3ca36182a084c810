//! RocksDB's errors as [`StoreError`]s: one mapping, used by the store
//! and by applying options.

use crate::store::api::StoreError;

/// Maps a RocksDB error to [`StoreError::Engine`]. RocksDB's status text is
/// `<Code>: <message>` (`IO error: While lock file: /data/LOCK: …`): the code
/// is lowercased to match our messages, the rest is kept as is because it
/// may hold case-sensitive paths.
pub(super) fn engine(op: &'static str) -> impl FnOnce(rocksdb::Error) -> StoreError {
    move |e| StoreError::Engine {
        op,
        detail: lowercase_status(&e.into_string()),
    }
}

/// Lowercases the status code before the first `: ` of a RocksDB message.
pub(super) fn lowercase_status(msg: &str) -> String {
    match msg.split_once(": ") {
        Some((code, rest)) => format!("{}: {rest}", code.to_lowercase()),
        None => msg.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_lowercased_and_paths_kept() {
        assert_eq!(
            lowercase_status("IO error: While lock file: /Data/LOCK: Resource busy"),
            "io error: While lock file: /Data/LOCK: Resource busy"
        );
        assert_eq!(lowercase_status("Corruption"), "corruption");
    }
}
