//! The key-value suite: put, get, delete and scan semantics.

use std::path::Path;

use super::support::*;
use super::*;
use crate::store::api::{Keys, ReadBuf, Record};

/// Checks put / get / delete / scan of a store whose capabilities include
/// `kv`, and (when persistent) that the pairs survive a reopen.
///
/// # Panics
///
/// On the first broken rule, naming it; also when the store does not claim
/// `kv`.
pub fn check_kv_store(open: OpenFn<'_>, dir: &Path) {
    let d = sub(dir, "kv");
    let store = must(open(&d), "open");
    let caps = store.capabilities();
    assert!(
        caps.kv,
        "kv capability: check_kv_store called on a store without kv"
    );
    let mut s = must(store.session(), "session");
    let mut v = Vec::new();
    assert!(
        !must(s.get(b"absent", &mut v), "get"),
        "kv get: an absent key must return false"
    );
    must(s.put(b"b", b"two"), "put");
    must(s.put(b"a", b"one"), "put");
    must(s.put(b"c", b""), "put");
    must(s.put(b"d", &[7u8; 5000]), "put");
    assert!(
        must(s.get(b"a", &mut v), "get"),
        "kv put/get: a put key must be found"
    );
    assert_eq!(v, b"one", "kv put/get: get must return the value put");
    assert!(
        must(s.get(b"c", &mut v), "get"),
        "kv put/get: an empty value is a value"
    );
    assert!(
        v.is_empty(),
        "kv put/get: an empty value must read back empty"
    );
    must(s.put(b"a", b"uno"), "put");
    assert!(
        must(s.get(b"a", &mut v), "get"),
        "kv overwrite: key vanished"
    );
    assert_eq!(v, b"uno", "kv overwrite: the last put wins");

    let mut other = must(store.session(), "session");
    assert!(
        must(other.get(b"b", &mut v), "get") && v == b"two",
        "kv read-your-writes: another session must see a put"
    );

    must(s.delete(b"b"), "delete");
    must(s.delete(b"never-there"), "delete");
    assert!(
        !must(other.get(b"b", &mut v), "get"),
        "kv delete: a deleted key must be absent"
    );

    let mut buf = ReadBuf::default();
    let n = must(s.scan(b"", 10, &mut buf), "scan");
    assert_eq!(n, 3, "kv scan: must return every live pair up to the limit");
    assert_eq!(buf.len(), n, "kv scan: the count must match the buffer");
    assert_eq!(buf.body(0), b"uno", "kv scan: pairs must come in key order");
    assert_eq!(buf.body(1), b"", "kv scan: pairs must come in key order");
    assert_eq!(
        buf.body(2),
        &[7u8; 5000][..],
        "kv scan: pairs must come in key order"
    );
    let n = must(s.scan(b"b", 1, &mut buf), "scan");
    assert_eq!(n, 1, "kv scan: limit must be respected");
    assert_eq!(
        buf.body(0),
        b"",
        "kv scan: must start at the first key >= start"
    );
    let n = must(s.scan(b"e", 10, &mut buf), "scan");
    assert_eq!(
        n, 0,
        "kv scan: nothing at or after a start past the last key"
    );
    assert!(buf.is_empty(), "kv scan: the buffer must be cleared");

    // A batch of puts (`put_batch`, what a `put` actor with `batch: N`
    // calls): every pair lands, and a key set twice keeps the later value.
    let keys = b"y1y2y1";
    let ranges = [0..2, 2..4, 4..6];
    let values = [
        Record {
            keys: Keys::None,
            body: b"first",
        },
        Record {
            keys: Keys::None,
            body: b"second",
        },
        Record {
            keys: Keys::None,
            body: b"again",
        },
    ];
    must(s.put_batch(keys, &ranges, &values), "put_batch");
    assert!(
        must(other.get(b"y2", &mut v), "get") && v == b"second",
        "kv put_batch: every pair of the batch must be set"
    );
    assert!(
        must(other.get(b"y1", &mut v), "get") && v == b"again",
        "kv put_batch: a key set twice in one batch keeps the later value"
    );
    // A batch of deletes (`delete_batch`, a `delete` actor with `batch: N`):
    // every key goes, and a key absent or named twice is fine.
    must(
        s.delete_batch(b"y1y2y1zz", &[0..2, 2..4, 4..6, 6..8]),
        "delete_batch",
    );
    assert!(
        !must(other.get(b"y1", &mut v), "get") && !must(other.get(b"y2", &mut v), "get"),
        "kv delete_batch: every key of the batch must be removed"
    );
    drop((s, other));
    if caps.persistent {
        must(store.close(), "close");
        let store = must(open(&d), "reopen");
        let mut s = must(store.session(), "session");
        assert!(
            must(s.get(b"a", &mut v), "get") && v == b"uno",
            "kv reopen: pairs must survive a reopen"
        );
        assert!(
            !must(s.get(b"b", &mut v), "get"),
            "kv reopen: deletes must survive a reopen"
        );
        drop(s);
        must(store.close(), "close");
    } else {
        must(store.close(), "close");
    }
}
