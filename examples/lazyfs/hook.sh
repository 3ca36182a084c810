#!/usr/bin/env bash
# The fault of one LazyFS crash cycle, as loadline's crash hooks:
#
#   loadline run ... --crash-hook "hook.sh crash" --after-crash-hook "hook.sh after"
#
# loadline sets LOADLINE_HOOK, LOADLINE_TARGET, LOADLINE_PHASE, LOADLINE_CYCLE,
# LOADLINE_DATA_DIR (and LOADLINE_CHILD_PID for the crash hook); campaign.sh
# sets the rest (FAULT, MNT, ROOT, FIFO, DONE_LOG, CONFIG, LAZYFS, LAZYFS_LOG,
# FIRED_LOG). FAULT is one of
#
#   kill      crash: nothing (loadline SIGKILLs the writers);
#             after: `lazyfs::clear-cache` (unsynced data is lost, as in a
#             power cut), waiting for LazyFS to confirm it.
#   torn-seq  crash: arm `lazyfs::torn-seq` on the store's active log file
#             (and on the WAL's next segment, in case it rolls first)
#             (persist=2: of the next group of writes with no fsync between,
#             the second reaches the disk and the first does not, then LazyFS
#             crashes itself) and wait for LazyFS to die;
#             after: remount LazyFS over the same root.
#   torn-op   as torn-seq with `lazyfs::torn-op` (the next write to the file
#             is cut in three; parts 1 and 3 reach the disk, then LazyFS
#             crashes).
#
# A torn fault that has not fired within FIRE_WAIT seconds (the writers
# rolled to a new file, or fsync'd after every write) is replaced by a plain
# LazyFS crash (unsynced data lost, nothing torn); FIRED_LOG gets one line per
# cycle: "<target> <cycle> <fault> fired|crashed".
set -euo pipefail
point=$1
FIRE_WAIT=${FIRE_WAIT:-5}

lazyfs_alive() { mountpoint -q "$MNT" 2>/dev/null; }

# Sends one command to LazyFS. Opening a FIFO for writing blocks while no
# process reads it (LazyFS has crashed): bounded by `timeout`.
# LazyFS reads at most 100 bytes per command (newline included): a longer
# one is cut and misread, so it is refused here (campaign.sh keeps ROOT short).
send() {
    if [ ${#1} -gt 99 ]; then
        echo "LazyFS command over 99 bytes (shorten ROOT): $1" >&2
        exit 1
    fi
    timeout 2 bash -c 'echo "$1" >"$2"' send "$1" "$FIFO"
}

log_files() { # the target's newest log files, as LazyFS names them (under ROOT)
    local pat='*.wal'
    case $LOADLINE_TARGET in rocksdb*) pat='*.log' ;; esac
    local newest
    newest=$(find "$LOADLINE_DATA_DIR" -maxdepth 1 -name "$pat" | sort | tail -n 1)
    [ -n "$newest" ] || { echo "no $pat file in $LOADLINE_DATA_DIR" >&2; exit 1; }
    echo "$ROOT${newest#"$MNT"}"
    # The WAL may roll to its next segment before the fault fires: arm it too.
    case $newest in *.wal)
        local n
        n=$(basename "$newest" .wal)
        echo "$ROOT$(dirname "${newest#"$MNT"}")/$(printf '%020d' $((10#$n + 1))).wal"
        ;;
    esac
}

mount_lazyfs() {
    fusermount3 -uz "$MNT" 2>/dev/null || true
    "$LAZYFS" "$MNT" --config-path "$CONFIG" -o allow_other -o modules=subdir \
        -o subdir="$ROOT" -f >>"$LAZYFS_LOG" 2>&1 &
    # campaign.sh stops the last daemon on exit (a lazy unmount alone
    # leaves it running).
    echo $! >"$WORK_DIR/lazyfs.pid"
    for _ in $(seq 1 300); do
        lazyfs_alive && return 0
        sleep 0.1
    done
    echo "LazyFS did not come up on $MNT (see $LAZYFS_LOG)" >&2
    exit 1
}

case "$point:$FAULT" in
crash:kill) ;;
crash:torn-seq | crash:torn-op)
    for f in $(log_files); do
        lazyfs_alive || break
        # (A send that times out means LazyFS has just crashed: it fired.)
        if [ "$FAULT" = torn-seq ]; then
            send "lazyfs::torn-seq::op=write::file=$f::persist=2" || break
        else
            send "lazyfs::torn-op::file=$f::parts=3::persist=1,3" || break
        fi
        # LazyFS reads its FIFO in chunks: two commands in one read are lost.
        sleep 0.2
    done
    outcome=fired
    for _ in $(seq 1 $((FIRE_WAIT * 20))); do
        lazyfs_alive || break
        sleep 0.05
    done
    if lazyfs_alive; then
        outcome=crashed
        send "lazyfs::crash::timing=before::op=write::from_rgx=.*" || true
        for _ in $(seq 1 100); do
            lazyfs_alive || break
            sleep 0.05
        done
        if lazyfs_alive; then
            echo "LazyFS did not crash (no write reached it)" >&2
            exit 1
        fi
    fi
    echo "$LOADLINE_TARGET $LOADLINE_CYCLE $FAULT $outcome" >>"$FIRED_LOG"
    ;;
after:kill)
    # LazyFS confirms on a second FIFO, which campaign.sh copies to DONE_LOG.
    before=$(wc -l <"$DONE_LOG")
    send "lazyfs::clear-cache"
    for _ in $(seq 1 600); do
        [ "$(wc -l <"$DONE_LOG")" -gt "$before" ] && exit 0
        sleep 0.05
    done
    echo "LazyFS did not confirm clear-cache within 30 s" >&2
    exit 1
    ;;
after:torn-seq | after:torn-op)
    mount_lazyfs
    ;;
mount:*)
    mount_lazyfs
    ;;
*)
    echo "usage: hook.sh crash|after|mount (FAULT=kill|torn-seq|torn-op), not $point:$FAULT" >&2
    exit 2
    ;;
esac
