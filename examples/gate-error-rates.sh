#!/usr/bin/env bash
# Measures the comparison gate on this machine: how often two runs of
# identical code fail it (false alarms), how often a slowdown of known size
# passes it (misses), and what the interleaved A/B adds to a job.
#
#   examples/gate-error-rates.sh [N] [OUT]
#
# N (default 20) repetitions of each of three experiments on SCENARIO
# (default scenarios/quickstart.yaml), with the shipped defaults:
#   compare-aa  two `run --repeat ROUNDS` of the same scenario back to back,
#               then `compare`: exit 1 is a false alarm;
#   ab-aa       `ab --rounds PAIRS` with identical sides: exit 1 is a false alarm;
#   ab-slow     `ab --rounds PAIRS` whose new side adds DELAY to every
#               operation of the memory target (`memory: { delay }`, the
#               testing aid): exit 1 with a regression on `mem` is a detection.
# Each experiment's exit codes and wall time go to OUT/results.csv, and a
# summary to stdout. Environment: LOADLINE (binary, default
# target/release/loadline), SCENARIO, ROUNDS (5), PAIRS (`auto`, as
# examples/ci/ab.yml: pairs are added while the verdict is inconclusive,
# up to MAX_PAIRS, 12; a number runs that many), DELAY
# (the slowdown, default 1us), SETS (extra --set options for every run,
# e.g. to shorten the scenario), EXPERIMENTS (which of the three, default
# "compare-aa ab-aa ab-slow").
#
# Resumable: a repetition already in OUT/results.csv is not run again, so
# the N repetitions (hours of machine time) can be gathered over several
# sittings into the same OUT; the summary covers every row there.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-20}"
OUT="${2:-reports/gate-error-rates}"
LOADLINE="${LOADLINE:-target/release/loadline}"
SCENARIO="${SCENARIO:-scenarios/quickstart.yaml}"
ROUNDS="${ROUNDS:-5}"
PAIRS="${PAIRS:-auto}"
MAX_PAIRS="${MAX_PAIRS:-12}"
pairs=(--rounds "$PAIRS")
[ "$PAIRS" = auto ] && pairs+=(--max-rounds "$MAX_PAIRS")
DELAY="${DELAY:-1us}"
read -r -a SETS <<< "${SETS:-}"

EXPERIMENTS="${EXPERIMENTS:-compare-aa ab-aa ab-slow}"

mkdir -p "$OUT"
csv="$OUT/results.csv"
[ -f "$csv" ] || echo "experiment,repetition,exit,seconds,regressions_on_mem,pairs" > "$csv"
echo "$(date -u +%FT%TZ) $LOADLINE SCENARIO=$SCENARIO ROUNDS=$ROUNDS PAIRS=$PAIRS MAX_PAIRS=$MAX_PAIRS DELAY=$DELAY SETS=${SETS[*]}" >> "$OUT/config.txt"

# True when experiment $1's repetition $2 is to run: asked for, not yet in
# results.csv.
todo() {
    [[ " $EXPERIMENTS " == *" $1 "* ]] && ! grep -q "^$1,$2," "$csv"
}

# Runs "$@", appends a row for it; $1 experiment, $2 repetition, $3 dir.
record() {
    local experiment="$1" i="$2" dir="$3"
    shift 3
    local start end code=0
    start=$(date +%s.%N)
    "$@" > "$dir.log" 2>&1 || code=$?
    end=$(date +%s.%N)
    local mem=0
    if [ -f "$dir/compare/compare.csv" ] || [ -f "$dir/compare.csv" ]; then
        local f="$dir/compare/compare.csv"
        [ -f "$f" ] || f="$dir/compare.csv"
        mem=$(grep -c '^[^,]*,mem,.*,regression,' "$f" || true)
    fi
    local pairs_run=""
    if [ -d "$dir/rounds" ]; then
        pairs_run=$(( $(find "$dir/rounds" -mindepth 1 -maxdepth 1 -type d | wc -l) / 2 ))
    fi
    echo "$experiment,$i,$code,$(echo "$end - $start" | bc),$mem,$pairs_run" >> "$csv"
    echo "$experiment $i: exit $code ($(echo "$end - $start" | bc | cut -d. -f1) s)"
}

for i in $(seq 1 "$N"); do
    d="$OUT/compare-aa-$i"
    if todo compare-aa "$i"; then
        rm -rf "$d"
        mkdir -p "$d"
        "$LOADLINE" run "$SCENARIO" "${SETS[@]}" --quiet --repeat "$ROUNDS" --out "$d/base" > /dev/null || true
        "$LOADLINE" run "$SCENARIO" "${SETS[@]}" --quiet --repeat "$ROUNDS" --out "$d/new" > /dev/null || true
        record compare-aa "$i" "$d" "$LOADLINE" compare "$d/base" "$d/new" --out "$d"
    fi

    d="$OUT/ab-aa-$i"
    if todo ab-aa "$i"; then
        rm -rf "$d"
        record ab-aa "$i" "$d" "$LOADLINE" ab "$SCENARIO" "${SETS[@]}" --quiet "${pairs[@]}" --out "$d"
    fi

    d="$OUT/ab-slow-$i"
    if todo ab-slow "$i"; then
        rm -rf "$d"
        record ab-slow "$i" "$d" "$LOADLINE" ab "$SCENARIO" "${SETS[@]}" --quiet "${pairs[@]}" --out "$d" \
            --new-set "targets.mem.memory.delay=$DELAY"
    fi
done

echo
echo "results.csv: every repetition gathered in $OUT; scenario $SCENARIO; compare of --repeat $ROUNDS runs; ab of ${pairs[*]} pairs; slowdown $DELAY per memory-store operation"
awk -F, 'NR > 1 {
    n[$1]++; t[$1] += $4
    if ($3 == 1) fail[$1]++
    if ($1 == "ab-slow" && $3 == 1 && $5 > 0) found++
} END {
    printf "compare A/A: %d of %d failed (exit 1)\n", fail["compare-aa"], n["compare-aa"]
    printf "ab A/A:      %d of %d failed (exit 1), %.0f s per ab on average\n", fail["ab-aa"], n["ab-aa"], (n["ab-aa"] ? t["ab-aa"] / n["ab-aa"] : 0)
    printf "ab slowdown: %d of %d detected (exit 1, a regression on mem)\n", found, n["ab-slow"]
}' "$csv"
