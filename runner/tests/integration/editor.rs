//! The scenario schema in the editor its users have: Red Hat's
//! `yaml-language-server` from npm (what VS Code's YAML extension, Neovim
//! and Helix run), installed by the test when missing and driven over
//! LSP on stdio. A bad size, duration or rate reads as a sentence with an
//! example, not a regex; hovering an optional field shows the field's
//! description, not its type's.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::repo_root;

const VERSION: &str = "1.25.0";

/// `yaml-language-server`'s entry point, installed once from npm into a
/// cache under the system temp directory (Node.js and npm from Debian's
/// packages when missing).
fn yaml_language_server() -> PathBuf {
    super::tools::ensure(&["node", "npm"], &["nodejs", "npm"]);
    let dir = std::env::temp_dir().join(format!("loadline-yaml-ls-{VERSION}"));
    let bin = dir.join("node_modules/yaml-language-server/bin/yaml-language-server");
    if bin.is_file() {
        return bin;
    }
    std::fs::create_dir_all(&dir).expect("cache dir");
    let ok = Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund"])
        .arg(format!("yaml-language-server@{VERSION}"))
        .current_dir(&dir)
        .status()
        .expect("npm runs");
    assert!(
        ok.success() && bin.is_file(),
        "npm install yaml-language-server failed"
    );
    bin
}

/// A language server child and its messages.
struct Server {
    child: Child,
    messages: Receiver<Value>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new("node")
            .arg(yaml_language_server())
            .arg("--stdio")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("yaml-language-server starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length:") {
                        length = n.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(v) = serde_json::from_slice(&body) else {
                    return;
                };
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Server { child, messages }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        let stdin = self.child.stdin.as_mut().expect("stdin");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        stdin.flush().expect("flush");
    }

    /// The next message that is not a request from the server (those are
    /// answered: settings for `workspace/configuration`, null otherwise).
    fn next(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = match self.messages.recv_timeout(left) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            };
            if let (Some(id), Some(method)) = (m.get("id"), m.get("method")) {
                let result = if method == "workspace/configuration" {
                    let items = m["params"]["items"].as_array().cloned().unwrap_or_default();
                    Value::Array(
                        items
                            .iter()
                            .map(|i| {
                                if i["section"] == "yaml" {
                                    json!({ "validate": true, "hover": true, "schemas": {} })
                                } else {
                                    json!({})
                                }
                            })
                            .collect(),
                    )
                } else {
                    Value::Null
                };
                let id = id.clone();
                self.send(json!({ "jsonrpc": "2.0", "id": id, "result": result }));
                continue;
            }
            return Some(m);
        }
    }
}

#[test]
fn the_real_yaml_language_server_reads_the_schema_as_a_user_would() {
    let schema_path = repo_root().join("schemas/scenario.schema.json");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(&schema_path).expect("schema")).expect("json");
    let doc = format!(
        "# yaml-language-server: $schema=file://{}\n\
         version: 1\n\
         name: editor\n\
         interval: 250ms\n\
         targets:\n  w:\n    wal:\n      segment_size: 12 parsecs\n      sync_interval: soon\n\
         payloads:\n  p:\n    size: 512B\n\
         phases:\n  - name: write\n    duration: 1s\n    actors:\n      - {{ op: append, payload: p, rate: fast }}\n",
        schema_path.display()
    );
    let mut s = Server::start();
    let deadline = Instant::now() + Duration::from_secs(60);
    s.send(json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": null, "rootUri": null,
        "capabilities": { "textDocument": { "hover": { "contentFormat": ["plaintext", "markdown"] } } }
    }}));
    while s.next(deadline).expect("initialize answered")["id"] != 1 {}
    let uri = "file:///loadline/editor.yaml";
    s.send(json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));
    s.send(
        json!({ "jsonrpc": "2.0", "method": "workspace/didChangeConfiguration",
        "params": { "settings": { "yaml": { "validate": true, "hover": true, "schemas": {} } } } }),
    );
    s.send(
        json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": doc } } }),
    );
    // Hover the optional `interval:` (line 3) and wal's `segment_size:` (line 7).
    for (id, line) in [(2, 3), (3, 7)] {
        s.send(
            json!({ "jsonrpc": "2.0", "id": id, "method": "textDocument/hover", "params": {
            "textDocument": { "uri": uri }, "position": { "line": line, "character": 8 } } }),
        );
    }
    let (mut diagnostics, mut hovers) = (None::<Vec<String>>, Vec::new());
    while diagnostics.is_none() || hovers.len() < 2 {
        let Some(m) = s.next(deadline) else {
            panic!("no answer within 60 s: diagnostics {diagnostics:?}, hovers {hovers:?}");
        };
        if m["method"] == "textDocument/publishDiagnostics" {
            let found: Vec<String> = m["params"]["diagnostics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["message"].as_str().map(str::to_owned))
                .collect();
            if !found.is_empty() {
                diagnostics = Some(found);
            }
        } else if m["id"] == 2 || m["id"] == 3 {
            hovers.push((
                m["id"].as_i64().unwrap_or_default(),
                m["result"]["contents"]["value"]
                    .as_str()
                    .unwrap_or_default()
                    .replace('\\', ""),
            ));
        }
    }
    let diagnostics = diagnostics.unwrap_or_default();
    for want in [
        "Expected a size such as `512B`",
        "Expected a duration such as `500us`",
        "Expected a rate such as `50k/s`",
    ] {
        assert!(
            diagnostics.iter().any(|d| d.starts_with(want)),
            "{want}: {diagnostics:?}"
        );
    }
    assert!(
        !diagnostics.iter().any(|d| d.contains("pattern")),
        "no raw regex: {diagnostics:?}"
    );
    hovers.sort();
    let first_line = |desc: &Value| {
        desc.as_str()
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let interval = first_line(&schema["properties"]["interval"]["description"]);
    let segment =
        first_line(&schema["$defs"]["WalConfig"]["properties"]["segment_size"]["description"]);
    assert!(!interval.is_empty() && !segment.is_empty());
    for ((_, text), field) in hovers.iter().zip([&interval, &segment]) {
        assert!(
            text.contains(field.as_str()),
            "hover shows {text:?}, not {field:?}"
        );
        assert!(
            !text.contains("a duration: a number") && !text.contains("a size: an integer"),
            "{text}"
        );
    }
}
