#!/usr/bin/env bash
# Power loss as it really happens: runs examples/lazyfs/wal.yaml on a LazyFS
# mount (https://github.com/dsrhaslab/lazyfs, the FUSE file system that keeps
# unsynced writes in its own cache) with loadline's crash hooks injecting one
# fault per cycle, and prints, per fault and target: cycles, logs that
# opened, acknowledged records and how many were lost, and what recovery cut.
#
#   kill      SIGKILL the writers, then `lazyfs::clear-cache`: every unsynced
#             write is lost whole (a power cut with no reordering).
#   torn-seq  at the crash moment, of the active log file's next group of
#             writes (no fsync between), the 2nd reaches the disk and the 1st
#             does not; LazyFS crashes (a hole before later data).
#   torn-op   the next write to the active log file is cut in three, parts 1
#             and 3 reach the disk; LazyFS crashes (a torn write).
#
# Usage (from the repository root, as root or with FUSE allowed):
#   examples/lazyfs/campaign.sh LAZYFS_CHECKOUT [WORK_DIR]
# LAZYFS_CHECKOUT is a clone of dsrhaslab/lazyfs; it is built when
# lazyfs/build/lazyfs is missing (needs cmake, g++, libfuse3-dev, fuse3, and
# network access for libpcache's dependencies unless they are in place).
# Environment: FAULTS (default "kill torn-seq torn-op"), TARGETS (default
# every target of wal.yaml), CYCLES (default 20), LOADLINE (the binary),
# SET (extra `--set` overrides, space-separated, e.g.
# "phases.crash.actors.0.batch=1" for frames that fit in one 4 KiB page).
# Exit status: 0 when every log opened with every acknowledged record of a
# synced target (wal-always, wal-batch, rocksdb-sync), 1 otherwise, 2 when
# something could not run.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
LAZYFS_SRC=$(cd "${1:?usage: campaign.sh LAZYFS_CHECKOUT [WORK_DIR]}" && pwd)
WORK=${2:-$PWD/reports/runs/lazyfs}
LOADLINE=${LOADLINE:-${CARGO_TARGET_DIR:-target}/release/loadline}
FAULTS=${FAULTS:-kill torn-seq torn-op}
CYCLES=${CYCLES:-20}
[ -x "$LOADLINE" ] || { echo "build loadline first: cargo build --release (or set LOADLINE)" >&2; exit 2; }
LOADLINE=$(cd "$(dirname "$LOADLINE")" && pwd)/$(basename "$LOADLINE")
command -v jq >/dev/null || { echo "jq is not installed" >&2; exit 2; }
command -v fusermount3 >/dev/null || { echo "fuse3 is not installed (apt-get install fuse3)" >&2; exit 2; }
[ -e /dev/fuse ] || { echo "/dev/fuse is missing: FUSE is not available here" >&2; exit 2; }

export LAZYFS=$LAZYFS_SRC/lazyfs/build/lazyfs
if [ ! -x "$LAZYFS" ]; then
    echo "building LazyFS in $LAZYFS_SRC" >&2
    (cd "$LAZYFS_SRC/libs/libpcache" && ./build.sh) >&2
    (cd "$LAZYFS_SRC/lazyfs" && ./build.sh) >&2
fi

# LazyFS names files by their path under ROOT in fault commands, which it
# reads 100 bytes at a time: ROOT is a short link to WORK/root.
export WORK_DIR=$WORK MNT=$WORK/mnt ROOT=/tmp/lzroot-$$ FIFO=$WORK/faults.fifo DONE_LOG=$WORK/done.log
export CONFIG=$WORK/lazyfs.toml LAZYFS_LOG=$WORK/lazyfs.out FIRED_LOG=$WORK/fired.log
fusermount3 -uz "$MNT" 2>/dev/null || true
rm -rf "$WORK" && mkdir -p "$MNT" "$WORK/root"
ln -sfn "$WORK/root" "$ROOT"
sed "s|@WORK@|$WORK|g" "$HERE/lazyfs.toml" >"$CONFIG"
: >"$FIRED_LOG"
: >"$DONE_LOG"
# LazyFS opens its completion FIFO before it reads any command, and a
# crashed LazyFS reopens it on remount: keep a reader on it all along.
mkfifo "$WORK/faults-done.fifo"
(while :; do cat "$WORK/faults-done.fifo" >>"$DONE_LOG"; done) &
relay=$!
disown "$relay"
# On exit: stop the relay, unmount, stop the last LazyFS daemon (a lazy
# unmount alone leaves it running). set -e must not cut the cleanup short.
cleanup() {
    set +e
    pkill -P "$relay" 2>/dev/null
    kill "$relay" 2>/dev/null
    fusermount3 -uz "$MNT" 2>/dev/null
    [ -f "$WORK/lazyfs.pid" ] && kill "$(cat "$WORK/lazyfs.pid")" 2>/dev/null
    rm -f "$ROOT"
}
trap cleanup EXIT
FAULT=mount "$HERE/hook.sh" mount

target_args=()
for t in ${TARGETS:-}; do target_args+=(--target "$t"); done
for s in ${SET:-}; do target_args+=(--set "$s"); done

for fault in $FAULTS; do
    echo "== $fault: $CYCLES cycles per target" >&2
    rm -rf "$MNT/d"
    set +e
    FAULT=$fault "$LOADLINE" run "$HERE/wal.yaml" --quiet "${target_args[@]}" \
        --set "phases.crash.repeat=$CYCLES" \
        --out "$WORK/runs/$fault" --data-dir "$MNT/d" --keep-data \
        --crash-hook "$HERE/hook.sh crash" --after-crash-hook "$HERE/hook.sh after"
    echo "loadline exited $?" >"$WORK/runs/$fault.exit"
    set -e
    # A torn fault leaves LazyFS down when a run stops between the hooks.
    mountpoint -q "$MNT" || FAULT=mount "$HERE/hook.sh" mount
done

status=0
printf '%-9s %-15s %6s %6s %12s %10s %7s %10s %7s %8s  %s\n' fault target cycles opened \
    acknowledged lost fired dropped_B cut_fr cut_rec error
for fault in $FAULTS; do
    run=$WORK/runs/$fault/run.json
    [ -f "$run" ] || { echo "$fault: no run.json ($(cat "$WORK/runs/$fault.exit"))" >&2; status=1; continue; }
    while IFS=$'\t' read -r target cycles ack lost dropped cutf cutr err; do
        fired=$(grep -c "^$target [0-9]* $fault fired" "$FIRED_LOG" || true)
        [ "$fault" = kill ] && fired=-
        # A refused reopen ends the target's phase with an error: the cycles
        # before it opened, that one did not.
        opened=$cycles
        [ "$err" != "-" ] && status=1
        case $target in *never | *nosync) ;; *) [ "$lost" != 0 ] && status=1 ;; esac
        printf '%-9s %-15s %6s %6s %12s %10s %7s %10s %7s %8s  %s\n' "$fault" "$target" \
            "$cycles" "$opened" "$ack" "$lost" "$fired" "$dropped" "$cutf" "$cutr" "$err"
    done < <(jq -r '.variants[0].targets[] | [.name,
        (.phases[0].metrics.cycles // 0), (.phases[0].metrics.acknowledged_records // 0),
        (.phases[0].metrics.lost_records // 0), (.phases[0].metrics.dropped_bytes // 0),
        (.phases[0].metrics.cut_frames // 0), (.phases[0].metrics.cut_records // 0),
        ((.error // "-") | tostring | .[0:160])] | @tsv' "$run")
done
exit $status
