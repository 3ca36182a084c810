#!/usr/bin/env bash
# Runs fio and loadline's WAL back to back on the same filesystem and prints
# the five figures of the WAL issue with their ratios:
#
#   1. sync: never, 512 B x 10, one writer   vs fio buffered sequential write
#   2. sync: always, one writer, 4 KiB       vs fio write + fdatasync, p50
#   3. sync: batch, 16 writers               vs the sync: always one-writer figure
#      (and the same ratio for a minimal group commit: the machine's ceiling)
#   4. recovery of a 1 GiB log (warm cache)  vs `cat` of the same segment files
#   5. sealed-segment sequential reads, 1 MiB fetches
#
# Usage: examples/wal-vs-fio.sh [WORK_DIR]   (from the repository root)
# Needs fio (apt-get install fio) and a release build of loadline and its
# examples (cargo build --release --examples).
set -euo pipefail

WORK=${1:-$PWD/reports/runs/wal-vs-fio}
LOADLINE=${LOADLINE:-${CARGO_TARGET_DIR:-target}/release/loadline}
SCENARIO=scenarios/wal-performance.yaml
command -v fio >/dev/null || { echo "fio is not installed (apt-get install fio)" >&2; exit 2; }
CEILING=${CEILING:-${CARGO_TARGET_DIR:-target}/release/examples/group_commit_ceiling}
[ -x "$LOADLINE" ] || { echo "build loadline first: cargo build --release (or set LOADLINE)" >&2; exit 2; }
[ -x "$CEILING" ] || { echo "build the ceiling probe first: cargo build --release --examples (or set CEILING)" >&2; exit 2; }
rm -rf "$WORK" && mkdir -p "$WORK/fio"

metric() { # run-dir phase actor metric -> value
    python3 - "$1/results.csv" "$2" "$3" "$4" <<'EOF'
import csv, sys
path, phase, actor, metric = sys.argv[1:]
for row in csv.DictReader(open(path)):
    if row["phase"] == phase and row["actor"] == actor and row["metric"] == metric:
        print(row["value"]); break
else:
    sys.exit(f"{metric} of {phase}.{actor} not found in {path}")
EOF
}

fio_json() { # name args... -> json file
    local name=$1; shift
    fio --name="$name" --directory="$WORK/fio" --output-format=json --output="$WORK/fio/$name.json" "$@" >/dev/null
    rm -f "$WORK/fio/$name".*.0
}

run() { # out-dir loadline-args...
    local out=$1; shift
    "$LOADLINE" run "$SCENARIO" --quiet --out "$out" "$@" >/dev/null || true
}

echo "== 1. buffered throughput (sync: never, 512 B x 10, one writer)"
fio_json buffered --rw=write --bs=5120 --size=1G --ioengine=psync --end_fsync=0
run "$WORK/buffered" --target never --phase buffered
fio_bw=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['jobs'][0]['write']['bw_bytes'])" "$WORK/fio/buffered.json")
wal_bw=$(metric "$WORK/buffered" buffered append bytes_per_s)
python3 -c "import sys; f,w=map(float,sys.argv[1:]); print(f'fio {f/2**20:.0f} MiB/s, wal {w/2**20:.0f} MiB/s, ratio {w/f:.2f} (goal >= 0.8)')" "$fio_bw" "$wal_bw"

echo "== 2. synced append latency (sync: always, one writer, 4 KiB)"
fio_json synced --rw=write --bs=4k --size=80M --ioengine=psync --fdatasync=1
run "$WORK/synced" --target always --phase synced
fio_p50=$(python3 -c "
import json,sys; j=json.load(open(sys.argv[1]))['jobs'][0]
w=j['write']['clat_ns']['percentile']['50.000000']; s=j['sync']['lat_ns']['percentile']['50.000000']
print(w+s)" "$WORK/fio/synced.json")
wal_p50=$(metric "$WORK/synced" synced append p50)
python3 -c "import sys; f,w=map(float,sys.argv[1:]); print(f'fio write+fdatasync p50 {f/1e3:.0f} us, wal p50 {w/1e3:.0f} us, ratio {w/f:.2f} (goal <= 1.3)')" "$fio_p50" "$wal_p50"
run "$WORK/growing" --target always-growing --phase synced
grow_p50=$(metric "$WORK/growing" synced append p50)
python3 -c "import sys; f,w=map(float,sys.argv[1:]); print(f'  (without preallocate, appending to a growing file: wal p50 {w/1e3:.0f} us, ratio {w/f:.2f})')" "$fio_p50" "$grow_p50"

echo "== 3. group commit (sync: batch, 16 writers) vs sync: always, one writer"
run "$WORK/group" --target batch --phase group
one=$(metric "$WORK/synced" synced append records_per_s)
sixteen=$(metric "$WORK/group" group append records_per_s)
python3 -c "import sys; o,s=map(float,sys.argv[1:]); print(f'always x1 {o:.0f} rec/s, batch x16 {s:.0f} rec/s, ratio {s/o:.1f} (goal >= 8)')" "$one" "$sixteen"
# The same comparison for a minimal group commit with nothing of loadline in
# it (runner/examples/group_commit_ceiling.rs): what this machine allows.
"$CEILING" "$WORK" 1 20000 | tee "$WORK/ceiling-1.txt" | sed 's/^/  ceiling: /'
"$CEILING" "$WORK" 16 200000 | tee "$WORK/ceiling-16.txt" | sed 's/^/  ceiling: /'
c1=$(awk '{print $3}' "$WORK/ceiling-1.txt"); c16=$(awk '{print $3}' "$WORK/ceiling-16.txt")
python3 -c "import sys; a,b,o,s=map(float,sys.argv[1:]); print(f'  ceiling ratio {b/a:.1f}; wal always x1 = {o/a:.2f} and batch x16 = {s/b:.2f} of the ceiling')" "$c1" "$c16" "$one" "$sixteen"

echo "== 4. recovery of a 1 GiB log (warm page cache) and 5. sealed-segment reads"
run "$WORK/recover" --target never --phase fill --phase recover --phase scan --keep-data --data-dir "$WORK/data"
reopen=$(metric "$WORK/recover" recover "" reopen.duration)
t0=$(date +%s%N)
find "$WORK/data" -type f -print0 | xargs -0 cat > /dev/null
cat_ns=$(( $(date +%s%N) - t0 ))
size=$(du -sb "$WORK/data" | cut -f1)
python3 -c "import sys; r,c,s=map(float,sys.argv[1:]); print(f'log {s/2**30:.2f} GiB: reopen {r/1e6:.0f} ms, cat {c/1e6:.0f} ms, ratio {r/c:.2f} (goals < 500 ms, <= 1.5x)')" "$reopen" "$cat_ns" "$size"
scan=$(metric "$WORK/recover" scan read bytes_per_s)
python3 -c "import sys; b=float(sys.argv[1]); print(f'sealed-segment reads, 1 MiB fetches: {b/2**30:.2f} GiB/s (goal >= 3.9)')" "$scan"
rm -rf "$WORK/data" "$WORK/fio"
