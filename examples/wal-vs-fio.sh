#!/usr/bin/env bash
# Runs fio and loadline's WAL back to back on the same filesystem and prints
# the five figures of the WAL performance issue with their ratios and goals:
#
#   1. sync: never, 512 B x 10, one writer   vs fio buffered sequential write (>= 0.8x);
#      also vs fio with the WAL's writeback (sync_file_range(WRITE) every MiB)
#   2. sync: always, one writer, 4 KiB p50   vs fio write + fdatasync p50 (<= 1.3x)
#   3. sync: batch, 16 writers, on a log that trims (recycled segments), as a
#      fraction of the minimal group commit's 16-writer rate in the same run
#      (runner/examples/group_commit_ceiling.rs) (>= 0.9); also without trimming
#   4. reopen of a 1 GiB log with a warm page cache (its files read once
#      first) vs `cat` of the same files, five times (each <= 1.5x and < 500 ms)
#   5. sealed-segment sequential reads, 1 MiB fetches (>= 3.9 GiB/s)
#
# Every figure is printed; the exit status is 1 when a goal is missed, 2 when
# something could not run. On a machine that other work shares, wall-clock
# figures are noisy: run it several times and look at the spread.
#
# Usage: examples/wal-vs-fio.sh [WORK_DIR]   (from the repository root)
# Needs fio (apt-get install fio), python3 and a release build of loadline
# and its examples (cargo build --release --bin loadline --examples).
set -euo pipefail

WORK=${1:-$PWD/reports/runs/wal-vs-fio}
LOADLINE=${LOADLINE:-${CARGO_TARGET_DIR:-target}/release/loadline}
CEILING=${CEILING:-${CARGO_TARGET_DIR:-target}/release/examples/group_commit_ceiling}
SCENARIO=scenarios/wal-performance.yaml
REOPENS=${REOPENS:-5}
command -v fio >/dev/null || { echo "fio is not installed (apt-get install fio)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is not installed" >&2; exit 2; }
[ -x "$LOADLINE" ] || { echo "build loadline first: cargo build --release (or set LOADLINE)" >&2; exit 2; }
[ -x "$CEILING" ] || { echo "build the ceiling probe first: cargo build --release --examples (or set CEILING)" >&2; exit 2; }
rm -rf "$WORK" && mkdir -p "$WORK/fio"
MISSED=()

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

fio_json() { # name args... -> $WORK/fio/name.json
    local name=$1; shift
    fio --name="$name" --directory="$WORK/fio" --output-format=json --output="$WORK/fio/$name.json" "$@" >/dev/null
    rm -f "$WORK/fio/$name".*.0
}

fio_bw() { # name -> write bytes/s
    python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['jobs'][0]['write']['bw_bytes'])" "$WORK/fio/$1.json"
}

run() { # out-dir loadline-args...
    local out=$1; shift
    "$LOADLINE" run "$SCENARIO" --quiet --out "$out" "$@" >/dev/null 2>"$out.stderr" || {
        local rc=$?
        # 1 is a failed assertion of the scenario, which this script judges itself.
        if [ "$rc" -ne 1 ]; then
            echo "loadline run $* failed (exit $rc); see $out.stderr" >&2
            exit 2
        fi
    }
}

# goal NAME VALUE OP LIMIT: records a missed goal; prints ok/MISSED.
goal() {
    if python3 -c "import sys; v,l=float(sys.argv[1]),float(sys.argv[3]); sys.exit(0 if (v>=l if sys.argv[2]=='>=' else v<=l if sys.argv[2]=='<=' else v<l) else 1)" "$2" "$3" "$4"; then
        echo "  -> $1: ok"
    else
        echo "  -> $1: MISSED ($2, goal $3 $4)"
        MISSED+=("$1")
    fi
}

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.3f}')" "$1" "$2"; }

echo "== 1. buffered throughput (sync: never, 512 B x 10, one writer)"
# fio, the WAL, then fio with the WAL's writeback: each writes 1 GiB into a
# fresh file after the previous one was deleted.
fio_json buffered --rw=write --bs=5120 --size=1G --ioengine=psync --end_fsync=0
run "$WORK/buffered" --target never --phase buffered
# sync_file_range(SYNC_FILE_RANGE_WRITE) every 205 writes of 5120 B = every MiB,
# as the WAL's writeback thread does; the WAL also fdatasyncs each 64 MiB
# segment when it seals it, which this fio line does not.
fio_json buffered-wb --rw=write --bs=5120 --size=1G --ioengine=psync --end_fsync=0 --sync_file_range=write:205
fio_plain=$(fio_bw buffered); fio_wb=$(fio_bw buffered-wb)
wal_bw=$(metric "$WORK/buffered" buffered append bytes_per_s)
r1=$(ratio "$wal_bw" "$fio_plain"); r1wb=$(ratio "$wal_bw" "$fio_wb")
python3 -c "import sys; f,g,w=map(float,sys.argv[1:]); print(f'fio {f/2**20:.0f} MiB/s, wal {w/2**20:.0f} MiB/s, ratio {w/f:.2f} (goal >= 0.8)'); print(f'fio with writeback every MiB {g/2**20:.0f} MiB/s, ratio {w/g:.2f}')" "$fio_plain" "$fio_wb" "$wal_bw"
goal "buffered vs fio" "$r1" ">=" 0.8

echo "== 2. synced append latency (sync: always, one writer, 4 KiB)"
fio_json synced --rw=write --bs=4k --size=80M --ioengine=psync --fdatasync=1
run "$WORK/synced" --target always --phase synced
fio_p50=$(python3 -c "
import json,sys; j=json.load(open(sys.argv[1]))['jobs'][0]
w=j['write']['clat_ns']['percentile']['50.000000']; s=j['sync']['lat_ns']['percentile']['50.000000']
print(w+s)" "$WORK/fio/synced.json")
wal_p50=$(metric "$WORK/synced" synced append p50)
r2=$(ratio "$wal_p50" "$fio_p50")
python3 -c "import sys; f,w=map(float,sys.argv[1:]); print(f'fio write+fdatasync p50 {f/1e3:.0f} us, wal p50 {w/1e3:.0f} us, ratio {w/f:.2f} (goal <= 1.3)')" "$fio_p50" "$wal_p50"
run "$WORK/growing" --target always-growing --phase synced
grow_p50=$(metric "$WORK/growing" synced append p50)
python3 -c "import sys; f,w=map(float,sys.argv[1:]); print(f'  (without preallocate, appending to a growing file: wal p50 {w/1e3:.0f} us, ratio {w/f:.2f})')" "$fio_p50" "$grow_p50"
goal "synced p50 vs fio" "$r2" "<=" 1.3

echo "== 3. group commit (sync: batch, 16 writers) vs the minimal group commit"
# The ceiling (runner/examples/group_commit_ceiling.rs: nothing of loadline
# in it) runs before and after the WAL; the WAL is judged against the mean.
"$CEILING" "$WORK" 16 200000 | tee "$WORK/ceiling-16a.txt" | sed 's/^/  ceiling: /'
run "$WORK/trimmed" --target batch-recycled --phase group-trim-warmup --phase group-trimmed
"$CEILING" "$WORK" 16 200000 | tee "$WORK/ceiling-16b.txt" | sed 's/^/  ceiling: /'
run "$WORK/group" --target batch --phase group
"$CEILING" "$WORK" 1 20000 | tee "$WORK/ceiling-1.txt" | sed 's/^/  ceiling: /'
c16a=$(awk '{print $3}' "$WORK/ceiling-16a.txt"); c16b=$(awk '{print $3}' "$WORK/ceiling-16b.txt")
c16=$(python3 -c "import sys; print((float(sys.argv[1])+float(sys.argv[2]))/2)" "$c16a" "$c16b")
c1=$(awk '{print $3}' "$WORK/ceiling-1.txt")
trimmed=$(metric "$WORK/trimmed" group-trimmed append records_per_s)
untrimmed=$(metric "$WORK/group" group append records_per_s)
one=$(metric "$WORK/synced" synced append records_per_s)
r3=$(ratio "$trimmed" "$c16")
python3 -c "
import sys; c16,c1,t,u,o=map(float,sys.argv[1:])
print(f'ceiling x16 {c16:.0f} rec/s (mean of two), x1 {c1:.0f} rec/s: ratio {c16/c1:.1f}')
print(f'wal batch x16 with trimming (recycled segments) {t:.0f} rec/s = {t/c16:.2f} of the ceiling (goal >= 0.9)')
print(f'wal batch x16 without trimming {u:.0f} rec/s = {u/c16:.2f} of the ceiling; wal always x1 {o:.0f} rec/s = {o/c1:.2f} of the ceiling x1; batch x16 / always x1 = {t/o:.1f}')
" "$c16" "$c1" "$trimmed" "$untrimmed" "$one"
goal "group commit vs ceiling" "$r3" ">=" 0.9

echo "== 4. reopen of a 1 GiB log (warm page cache) vs cat, $REOPENS times, and 5. sealed-segment reads"
run "$WORK/fill" --target never --phase fill --keep-data --data-dir "$WORK/data"
size=$(du -sb "$WORK/data" | cut -f1)
cat_files() { find "$WORK/data" -type f -name '*.wal' -print0 | xargs -0 cat > /dev/null; }
cat_ns() { local t0; t0=$(date +%s%N); cat_files; echo $(( $(date +%s%N) - t0 )); }
cat_files # warm means warm: every file read once before anything is timed
worst=0; all_under=1
for i in $(seq 1 "$REOPENS"); do
    before=$(cat_ns)
    run "$WORK/recover-$i" --target never --phase recover --reuse-data --data-dir "$WORK/data"
    after=$(cat_ns)
    reopen=$(metric "$WORK/recover-$i" recover "" reopen.duration)
    line=$(python3 -c "
import sys; r,b,a,s=map(float,sys.argv[1:]); c=(b+a)/2
print(f'{r/c:.3f} {r/1e6:.0f}', f'log {s/2**30:.2f} GiB: reopen {r/1e6:.0f} ms, cat {b/1e6:.0f} ms before / {a/1e6:.0f} ms after, ratio {r/c:.2f}')" "$reopen" "$before" "$after" "$size")
    read -r r4 ms text <<<"$line"
    echo "  $i: $text"
    worst=$(python3 -c "import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))" "$worst" "$r4")
    [ "$ms" -lt 500 ] || all_under=0
done
echo "worst ratio over $REOPENS reopens: $worst (goals <= 1.5x and < 500 ms each)"
goal "reopen vs cat (worst of $REOPENS)" "$worst" "<=" 1.5
[ "$all_under" = 1 ] || { echo "  -> reopen < 500 ms: MISSED"; MISSED+=("reopen < 500 ms"); }
run "$WORK/scan" --target never --phase scan --reuse-data --data-dir "$WORK/data"
scan=$(metric "$WORK/scan" scan read bytes_per_s)
python3 -c "import sys; b=float(sys.argv[1]); print(f'sealed-segment reads, 1 MiB fetches: {b/2**30:.2f} GiB/s (goal >= 3.9)')" "$scan"
goal "sealed-segment reads" "$(python3 -c "import sys; print(float(sys.argv[1])/2**30)" "$scan")" ">=" 3.9
rm -rf "$WORK/data" "$WORK/fio"

echo "== summary: ratios $r1 (buffered; $r1wb vs fio with writeback) | $r2 (synced p50) | $r3 (group commit) | $worst (reopen, worst) | $(python3 -c "import sys; print(f'{float(sys.argv[1])/2**30:.2f}')" "$scan") GiB/s (reads)"
if [ ${#MISSED[@]} -gt 0 ]; then
    printf 'missed: %s\n' "${MISSED[@]}"
    exit 1
fi
echo "every goal met"
