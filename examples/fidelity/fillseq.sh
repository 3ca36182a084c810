#!/usr/bin/env bash
# Fidelity check: does loadline distort what it measures?
#
# Runs `db_bench --benchmarks=fillseq` (Debian's `rocksdb-tools`) and the
# equivalent loadline scenario (scenarios/fidelity-rocksdb-fillseq.yaml) back
# to back on the same filesystem, with sync off and on, and prints the
# throughput of each and the ratio loadline / db_bench. Same shape on both
# sides: one writer, 16-byte keys, 100-byte values, compression none, WAL on.
# It also runs loadline's own `wal` target on the same appends (sync never /
# always) and prints the WAL / RocksDB ratio.
#
# The two sides link different RocksDB versions (db_bench: Debian's, e.g.
# 7.8.3; loadline: the crate's bundled 11.8.1), which the output states.
# Run it on an idle machine: an fsync-bound run is at the mercy of other I/O.
#
# Usage: examples/fidelity/fillseq.sh [WORK_DIR]   (default: ./fidelity-work)
#   NUM=1000000 SYNC_NUM=20000 LOADLINE=target/release/loadline
set -euo pipefail

work=${1:-./fidelity-work}
num=${NUM:-1000000}
sync_num=${SYNC_NUM:-20000}
loadline=${LOADLINE:-loadline}
here=$(cd "$(dirname "$0")/../.." && pwd)
scenario=$here/scenarios/fidelity-rocksdb-fillseq.yaml

command -v db_bench >/dev/null || { echo "db_bench not found: apt-get install rocksdb-tools" >&2; exit 2; }
mkdir -p "$work"

# db_bench <sync 0|1> <num>: prints ops/s.
db_bench_ops() {
  rm -rf "$work/db_bench"
  db_bench --benchmarks=fillseq --num="$2" --value_size=100 --key_size=16 \
    --compression_type=none --sync="$1" --disable_wal=0 --threads=1 \
    --statistics=1 --db="$work/db_bench" 2>&1 |
    awk '/^fillseq/ { for (i = 1; i <= NF; i++) if ($i == "ops/sec") print $(i - 1) }'
}

# loadline_ops <target> <records>: prints the fillseq phase's records/s.
loadline_ops() {
  rm -rf "$work/loadline-$1"
  "$loadline" run "$scenario" --target "$1" --set "phases.fillseq.records=$2" \
    --out "$work/loadline-$1" >/dev/null
  awk -F, -v t="$1" '$2 == t && $3 == "fillseq" && $5 == "records_per_s" { print $6 }' \
    "$work/loadline-$1/results.csv"
}

echo "db_bench: $(db_bench --version 2>&1 | head -1 || true)"
echo "loadline: $("$loadline" --version) (bundled RocksDB, see Cargo.lock librocksdb-sys)"
for row in "0 $num rocksdb-nosync wal-nosync" "1 $sync_num rocksdb-sync wal-sync"; do
  set -- $row
  d=$(db_bench_ops "$1" "$2")
  l=$(loadline_ops "$3" "$2")
  w=$(loadline_ops "$4" "$2")
  awk -v s="$1" -v n="$2" -v d="$d" -v l="$l" -v w="$w" 'BEGIN {
    printf "sync=%s records=%s  db_bench %.0f ops/s  loadline rocksdb %.0f records/s  ratio %.3f\n", s, n, d, l, l / d
    printf "sync=%s records=%s  loadline wal %.0f records/s  wal / rocksdb %.3f\n", s, n, w, w / l }'
done
