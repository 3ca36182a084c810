//! A loadline `external` plug-in in Rust: the reference for plug-in
//! authors in compiled languages, as `examples/external/store.py` is for
//! scripting ones (same files, same behaviour).
//!
//! A small durable store behind loadline's stdio protocol, version 1
//! (`docs/src/external-protocol.md`): one JSON request per line on stdin,
//! one JSON reply per line on stdout, diagnostics on stderr. Logs and
//! key-value pairs live in memory and in append-only files in the target's
//! directory (`log.jsonl`, `kv.jsonl`, `trims.json`); every write reaches
//! the file (the OS page cache) before it is acknowledged, so a SIGKILL of
//! this process loses nothing acknowledged, and a torn last line is cut
//! when the store opens. Option `fsync: true` also fsyncs each write.
//!
//! ```yaml
//! targets:
//!   rust:
//!     external:
//!       command: [target/release/loadline-external-store]
//!       capabilities: [log, kv, persistent, crash_durable]
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// Why a request failed: the reply's `error.kind` and message.
enum Failure {
    /// The plug-in does not offer the op.
    Unsupported(String),
    /// The request broke the contract.
    Invalid(String),
    /// The store failed.
    Engine(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Engine(e.to_string())
    }
}

/// One record of a log: its keys as sent (or `null`), its body as base64,
/// and the body's length in bytes.
struct Entry {
    keys: Value,
    body: String,
    len: usize,
}

/// The store: every stream and pair in memory, every write in a file.
struct Store {
    dir: PathBuf,
    fsync: bool,
    logs: HashMap<u64, Vec<Entry>>,
    trims: HashMap<u64, u64>,
    kv: BTreeMap<Vec<u8>, String>,
    log_file: File,
    kv_file: File,
}

fn field<'a>(req: &'a Value, name: &str) -> Result<&'a Value, Failure> {
    req.get(name)
        .ok_or_else(|| Failure::Invalid(format!("missing `{name}`")))
}

fn number(req: &Value, name: &str) -> Result<u64, Failure> {
    field(req, name)?
        .as_u64()
        .ok_or_else(|| Failure::Invalid(format!("`{name}` is not a u64")))
}

fn text<'a>(req: &'a Value, name: &str) -> Result<&'a str, Failure> {
    field(req, name)?
        .as_str()
        .ok_or_else(|| Failure::Invalid(format!("`{name}` is not a string")))
}

fn bytes(b64: &str) -> Result<Vec<u8>, Failure> {
    STANDARD
        .decode(b64)
        .map_err(|e| Failure::Invalid(format!("not base64: {e}")))
}

/// Applies every whole line of `path` (creating it when absent), cuts a
/// torn last line, and opens it to append.
fn replay(
    path: &Path,
    mut apply: impl FnMut(&Value) -> Result<(), Failure>,
) -> Result<File, Failure> {
    let mut data = Vec::new();
    if let Ok(mut f) = File::open(path) {
        f.read_to_end(&mut data)?;
    }
    let mut good = 0;
    for line in data.split_inclusive(|&b| b == b'\n') {
        if !line.ends_with(b"\n") {
            break;
        }
        let entry: Value = serde_json::from_slice(line)
            .map_err(|e| Failure::Engine(format!("{}: {e}", path.display())))?;
        apply(&entry)?;
        good += line.len();
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    file.set_len(good as u64)?;
    Ok(file)
}

impl Store {
    fn open(dir: &str, options: &Value) -> Result<Store, Failure> {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir)?;
        let mut logs: HashMap<u64, Vec<Entry>> = HashMap::new();
        let log_file = replay(&dir.join("log.jsonl"), |e| {
            let stream = number(e, "s")?;
            let entry = entry(e.get("k").cloned().unwrap_or(Value::Null), text(e, "b")?)?;
            logs.entry(stream).or_default().push(entry);
            Ok(())
        })?;
        let mut kv = BTreeMap::new();
        let kv_file = replay(&dir.join("kv.jsonl"), |e| apply_kv(&mut kv, e))?;
        let mut trims = HashMap::new();
        if let Ok(t) = std::fs::read(dir.join("trims.json")) {
            let map: HashMap<String, u64> = serde_json::from_slice(&t)
                .map_err(|e| Failure::Engine(format!("trims.json: {e}")))?;
            for (s, t) in map {
                let s = s
                    .parse()
                    .map_err(|_| Failure::Engine(format!("trims.json: stream `{s}`")))?;
                trims.insert(s, t);
            }
        }
        Ok(Store {
            dir,
            fsync: options
                .get("fsync")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            logs,
            trims,
            kv,
            log_file,
            kv_file,
        })
    }

    /// One write for the whole batch, so a kill never splits it between
    /// lines.
    fn write(&mut self, kv: bool, lines: &[Value]) -> Result<(), Failure> {
        let mut buf = Vec::new();
        for l in lines {
            buf.extend(l.to_string().into_bytes());
            buf.push(b'\n');
        }
        let file = if kv {
            &mut self.kv_file
        } else {
            &mut self.log_file
        };
        file.write_all(&buf)?;
        if self.fsync {
            file.sync_data()?;
        }
        Ok(())
    }

    fn append(&mut self, req: &Value) -> Result<Value, Failure> {
        let stream = number(req, "stream")?;
        let records = field(req, "records")?
            .as_array()
            .ok_or_else(|| Failure::Invalid("`records` is not a list".to_owned()))?;
        let mut lines = Vec::with_capacity(records.len());
        let mut entries = Vec::with_capacity(records.len());
        for r in records {
            let keys = r.get("keys").cloned().unwrap_or(Value::Null);
            let body = text(r, "body")?;
            lines.push(json!({"s": stream, "k": keys, "b": body}));
            entries.push(entry(keys, body)?);
        }
        self.write(false, &lines)?;
        let log = self.logs.entry(stream).or_default();
        let first = log.len();
        log.extend(entries);
        Ok(json!({"first": first}))
    }

    fn read(&self, req: &Value) -> Result<Value, Failure> {
        let stream = number(req, "stream")?;
        let max_bytes = number(req, "max_bytes")?;
        let log = self.logs.get(&stream).map_or(&[][..], Vec::as_slice);
        let mut at = number(req, "from")?.max(self.trim_point(stream));
        let (mut out, mut size) = (Vec::new(), 0u64);
        while let Some(e) = usize::try_from(at).ok().and_then(|i| log.get(i)) {
            if !out.is_empty() && size + e.len as u64 > max_bytes {
                break;
            }
            let mut rec = json!({"offset": at, "body": e.body});
            if !e.keys.is_null() {
                rec["keys"] = e.keys.clone();
            }
            out.push(rec);
            size += e.len as u64;
            at += 1;
        }
        Ok(json!({"records": out, "next": at}))
    }

    fn trim_point(&self, stream: u64) -> u64 {
        self.trims.get(&stream).copied().unwrap_or(0)
    }

    fn tail(&self, stream: u64) -> u64 {
        self.logs.get(&stream).map_or(0, |l| l.len() as u64)
    }

    fn trim(&mut self, req: &Value) -> Result<Value, Failure> {
        let stream = number(req, "stream")?;
        let point = number(req, "up_to")?
            .min(self.tail(stream))
            .max(self.trim_point(stream));
        self.trims.insert(stream, point);
        let map: HashMap<String, u64> = self
            .trims
            .iter()
            .map(|(s, t)| (s.to_string(), *t))
            .collect();
        let tmp = self.dir.join("trims.json.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(json!(map).to_string().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, self.dir.join("trims.json"))?;
        Ok(json!({}))
    }

    fn kv_write(&mut self, line: Value) -> Result<Value, Failure> {
        self.write(true, std::slice::from_ref(&line))?;
        apply_kv(&mut self.kv, &line)?;
        Ok(json!({}))
    }

    fn scan(&self, req: &Value) -> Result<Value, Failure> {
        let start = bytes(text(req, "start")?)?;
        let limit = usize::try_from(number(req, "limit")?).unwrap_or(usize::MAX);
        let values: Vec<&String> = self.kv.range(start..).take(limit).map(|(_, v)| v).collect();
        Ok(json!({"values": values}))
    }

    fn handle(&mut self, op: &str, req: &Value) -> Result<Value, Failure> {
        match op {
            "append" => self.append(req),
            "read" => self.read(req),
            "trim" => self.trim(req),
            "sync" => {
                self.log_file.sync_all()?;
                self.kv_file.sync_all()?;
                Ok(json!({}))
            }
            "bounds" => {
                let s = number(req, "stream")?;
                Ok(json!({"trim_point": self.trim_point(s), "tail": self.tail(s)}))
            }
            "put" => self.kv_write(json!({"key": text(req, "key")?, "value": text(req, "value")?})),
            "delete" => self.kv_write(json!({"key": text(req, "key")?})),
            "get" => {
                let key = bytes(text(req, "key")?)?;
                Ok(self.kv.get(&key).map_or(json!({}), |v| json!({"value": v})))
            }
            "scan" => self.scan(req),
            "stats" => {
                let bytes = self.log_file.metadata()?.len() + self.kv_file.metadata()?.len();
                Ok(json!({"values": {"file_bytes": bytes, "kv_keys": self.kv.len()}}))
            }
            other => Err(Failure::Unsupported(format!("no op `{other}`"))),
        }
    }
}

fn entry(keys: Value, body: &str) -> Result<Entry, Failure> {
    Ok(Entry {
        len: bytes(body)?.len(),
        keys,
        body: body.to_owned(),
    })
}

/// A `kv.jsonl` line: `{"key", "value"}` sets, `{"key"}` deletes.
fn apply_kv(kv: &mut BTreeMap<Vec<u8>, String>, line: &Value) -> Result<(), Failure> {
    let key = bytes(text(line, "key")?)?;
    match line.get("value").and_then(Value::as_str) {
        Some(v) => kv.insert(key, v.to_owned()),
        None => kv.remove(&key),
    };
    Ok(())
}

/// The reply to one request line (with `service_ns`, the time spent on
/// it here), and whether it was `close`.
fn answer(store: &mut Option<Store>, req: &Value) -> (Value, bool) {
    let start = std::time::Instant::now();
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let op = req.get("op").and_then(Value::as_str).unwrap_or("");
    let result = match (op, store.as_mut()) {
        ("hello", _) => text(req, "dir").and_then(|dir| {
            *store = Some(Store::open(
                dir,
                req.get("options").unwrap_or(&Value::Null),
            )?);
            Ok(json!({
                "version": 1,
                "capabilities": ["log", "kv", "persistent", "crash_durable"],
                "statistics": [
                    {"name": "file_bytes", "unit": "bytes", "level": true},
                    {"name": "kv_keys", "unit": "count", "level": true},
                ],
            }))
        }),
        ("close" | "noop", _) => Ok(json!({})),
        (op, Some(s)) => s.handle(op, req),
        (_, None) => Err(Failure::Invalid(
            "the first request must be `hello`".to_owned(),
        )),
    };
    let mut reply = match result {
        Ok(ok) => json!({"id": id, "ok": ok}),
        Err(f) => {
            let (kind, message) = match f {
                Failure::Unsupported(m) => ("unsupported", m),
                Failure::Invalid(m) => ("invalid", m),
                Failure::Engine(m) => ("engine", m),
            };
            json!({"id": id, "error": {"kind": kind, "message": message}})
        }
    };
    reply["service_ns"] = json!(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
    (reply, op == "close")
}

fn main() -> std::io::Result<()> {
    let mut store = None;
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let req: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("not a request ({e}): {line}");
                continue;
            }
        };
        let (reply, close) = answer(&mut store, &req);
        writeln!(out, "{reply}")?;
        out.flush()?;
        if close {
            break;
        }
    }
    Ok(())
}
