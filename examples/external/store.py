#!/usr/bin/env python3
"""A loadline `external` plug-in in Python (standard library only).

A small durable store behind loadline's stdio protocol, version 1
(docs/src/external-protocol.md): one JSON request per line on stdin, one JSON
reply per line on stdout. Logs and key-value pairs live in memory and in
append-only files in the target's directory; every write reaches the file
(the OS page cache) before it is acknowledged, so a SIGKILL of this
process loses nothing acknowledged. Options: `fsync: true` also fsyncs
each write (for power loss, which loadline cannot inject here). Every
reply carries `service_ns`, the time spent on the request here; `hello`
offers two statistics of its own, `file_bytes` and `kv_keys`, that
`stats` reports.

Run it from a scenario:

    targets:
      py:
        external:
          command: [python3, examples/external/store.py]
          capabilities: [log, kv, persistent, crash_durable]
"""

import base64
import json
import os
import sys
import time


class Store:
    def __init__(self, directory, options):
        self.dir = directory
        self.fsync = bool(options.get("fsync", False))
        os.makedirs(directory, exist_ok=True)
        self.logs = {}  # stream -> list of records (keys, body b64), offset = index
        self.trims = {}  # stream -> trim point
        self.kv = {}  # key bytes -> value b64
        self.log_file = self.replay("log.jsonl", self.apply_log)
        self.kv_file = self.replay("kv.jsonl", self.apply_kv)
        path = os.path.join(directory, "trims.json")
        if os.path.exists(path):
            with open(path) as f:
                self.trims = {int(s): t for s, t in json.load(f).items()}

    def replay(self, name, apply):
        """Applies every whole line of `name`, cuts a torn last line, opens it to append."""
        path = os.path.join(self.dir, name)
        good = 0
        if os.path.exists(path):
            with open(path, "rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):
                        break
                    apply(json.loads(line))
                    good += len(line)
            os.truncate(path, good)
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def apply_log(self, entry):
        self.logs.setdefault(entry["s"], []).append((entry.get("k"), entry["b"]))

    def apply_kv(self, entry):
        key = base64.b64decode(entry["key"])
        if "value" in entry:
            self.kv[key] = entry["value"]
        else:
            self.kv.pop(key, None)

    def write(self, fd, entries):
        """One write() for the whole batch, so a kill never splits it between lines."""
        os.write(fd, b"".join(json.dumps(e).encode() + b"\n" for e in entries))
        if self.fsync:
            os.fsync(fd)

    def append(self, stream, records):
        log = self.logs.setdefault(stream, [])
        first = len(log)
        entries = [{"s": stream, "k": r.get("keys"), "b": r["body"]} for r in records]
        self.write(self.log_file, entries)
        for e in entries:
            self.apply_log(e)
        return {"first": first}

    def read(self, stream, start, max_bytes):
        log = self.logs.get(stream, [])
        at = max(start, self.trims.get(stream, 0))
        out, size = [], 0
        while at < len(log):
            keys, body = log[at]
            n = len(base64.b64decode(body))
            if out and size + n > max_bytes:
                break
            rec = {"offset": at, "body": body}
            if keys is not None:
                rec["keys"] = keys
            out.append(rec)
            size += n
            at += 1
        return {"records": out, "next": at}

    def trim(self, stream, up_to):
        tail = len(self.logs.get(stream, []))
        self.trims[stream] = max(self.trims.get(stream, 0), min(up_to, tail))
        tmp = os.path.join(self.dir, "trims.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.trims, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.dir, "trims.json"))
        return {}

    def sync(self):
        os.fsync(self.log_file)
        os.fsync(self.kv_file)
        return {}

    def bounds(self, stream):
        return {"trim_point": self.trims.get(stream, 0), "tail": len(self.logs.get(stream, []))}

    def stats(self):
        return {"values": {
            "file_bytes": os.fstat(self.log_file).st_size + os.fstat(self.kv_file).st_size,
            "kv_keys": len(self.kv),
        }}

    def put(self, key, value):
        entry = {"key": key, "value": value}
        self.write(self.kv_file, [entry])
        self.apply_kv(entry)
        return {}

    def get(self, key):
        value = self.kv.get(base64.b64decode(key))
        return {} if value is None else {"value": value}

    def delete(self, key):
        entry = {"key": key}
        self.write(self.kv_file, [entry])
        self.apply_kv(entry)
        return {}

    def scan(self, start, limit):
        first = base64.b64decode(start)
        keys = sorted(k for k in self.kv if k >= first)[:limit]
        return {"values": [self.kv[k] for k in keys]}


# The store's own statistics, offered in `hello` and reported by `stats`.
STATISTICS = [
    {"name": "file_bytes", "unit": "bytes", "level": True},
    {"name": "kv_keys", "unit": "count", "level": True},
]


def handle(store, req):
    op = req["op"]
    if op == "append":
        return store.append(req["stream"], req["records"])
    if op == "read":
        return store.read(req["stream"], req["from"], req["max_bytes"])
    if op == "trim":
        return store.trim(req["stream"], req["up_to"])
    if op == "sync":
        return store.sync()
    if op == "bounds":
        return store.bounds(req["stream"])
    if op == "stats":
        return store.stats()
    if op in ("put", "get", "delete", "scan"):
        args = [req[a] for a in ("key", "value", "start", "limit") if a in req]
        return getattr(store, op)(*args)
    raise NotImplementedError(op)


def main():
    store = None
    for line in sys.stdin:
        req = json.loads(line)
        start = time.perf_counter_ns()
        reply = {"id": req["id"]}
        try:
            if req["op"] == "hello":
                store = Store(req["dir"], req["options"])
                caps = ["log", "kv", "persistent", "crash_durable"]
                reply["ok"] = {"version": 1, "capabilities": caps, "statistics": STATISTICS}
            elif req["op"] in ("close", "noop"):
                reply["ok"] = {}
            else:
                reply["ok"] = handle(store, req)
        except NotImplementedError as e:
            reply["error"] = {"kind": "unsupported", "message": f"no op {e}"}
        except Exception as e:  # the store failed: say so, keep serving
            reply["error"] = {"kind": "engine", "message": repr(e)}
        reply["service_ns"] = time.perf_counter_ns() - start
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if req["op"] == "close":
            return


if __name__ == "__main__":
    main()
