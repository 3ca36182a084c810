#!/usr/bin/env bash
# loadline's `resp` target against redis-benchmark (Debian's redis-tools),
# interleaved on one redis-server: SET, then GET, of random keys, the same
# connections and the same requests in flight per connection (PIPELINE:
# redis-benchmark -P N, loadline `in_flight: N`; default 1), ROUNDS
# rounds alternating which client goes first. Prints each round's
# throughputs and the ratio loadline / redis-benchmark per command, then
# the median and range of the ratios. With two or more CPUs the server is
# pinned to one (SERVER_CPUS, default 0) and both clients to another
# (CLIENT_CPUS, default 1), so each client gets the same CPU budget:
# redis-benchmark is one thread, loadline one per connection.
#
#   examples/resp-bench/compare.sh [ROUNDS] [RECORDS] [CONNECTIONS] [VALUE_BYTES] [PIPELINE]
#
# Needs redis-server and redis-benchmark (apt-get install redis-server
# redis-tools) and a built loadline (LOADLINE, default
# $CARGO_TARGET_DIR/release/loadline or target/release/loadline).
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds=${1:-5}
records=${2:-100000}
conns=${3:-4}
size=${4:-64}
pipeline=${5:-1}
port=${PORT:-6391}
target_dir=${CARGO_TARGET_DIR:-target}
loadline=${LOADLINE:-$target_dir/release/loadline}
[ -x "$loadline" ] || { echo "no loadline at $loadline: cargo build --release first" >&2; exit 2; }
for bin in redis-server redis-benchmark redis-cli; do
    command -v "$bin" >/dev/null || { echo "$bin missing: apt-get install redis-server redis-tools" >&2; exit 2; }
done

pin_server=() pin_client=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    pin_server=(taskset -c "${SERVER_CPUS:-0}")
    pin_client=(taskset -c "${CLIENT_CPUS:-1}")
fi

work=$(mktemp -d)
"${pin_server[@]}" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
done

# redis-benchmark: requests per second of one command.
bench() {
    "${pin_client[@]}" redis-benchmark -h 127.0.0.1 -p "$port" -t "$1" -n "$records" -c "$conns" \
        -P "$pipeline" -d "$size" -r "$records" --csv -q |
        awk -F'","' 'NR > 1 { gsub(/"/, "", $2); print $2; exit }'
}

# loadline: records per second of the set and get phases, "SET GET".
ours() {
    local out="$work/ll-$1"
    "${pin_client[@]}" "$loadline" run examples/resp-bench/scenario.yaml --quiet --out "$out" \
        --set "targets.redis.resp.address=127.0.0.1:$port" \
        --set "phases.set.records=$records" --set "phases.get.records=$records" \
        --set "phases.set.actors.0.workers=$conns" --set "phases.get.actors.0.workers=$conns" \
        --set "phases.set.actors.0.keys.space=$records" --set "phases.get.actors.0.keys.space=$records" \
        --set "phases.set.actors.0.in_flight=$pipeline" --set "phases.get.actors.0.in_flight=$pipeline" \
        --set "payloads.value.size=${size}B" >/dev/null
    awk -F, '$6 == "records_per_s" && $5 == "put" { s = $7 } $6 == "records_per_s" && $5 == "get" { g = $7 } END { print s, g }' "$out/results.csv"
}

echo "redis-server $(redis-server --version | grep -o 'v=[^ ]*'), $records requests per command, $conns connections, -P $pipeline (in_flight: $pipeline), ${size} B values, $rounds rounds${pin_client:+, server on CPU ${SERVER_CPUS:-0}, clients on CPU ${CLIENT_CPUS:-1}}"
printf '%-6s %-8s %14s %14s %8s\n' round command redis-benchmark loadline ratio
ratios_set=() ratios_get=()
for r in $(seq "$rounds"); do
    redis-cli -p "$port" flushall >/dev/null
    if (( r % 2 )); then
        b_set=$(bench set); b_get=$(bench get)
        redis-cli -p "$port" flushall >/dev/null
        read -r l_set l_get < <(ours "$r")
    else
        read -r l_set l_get < <(ours "$r")
        redis-cli -p "$port" flushall >/dev/null
        b_set=$(bench set); b_get=$(bench get)
    fi
    rs=$(awk -v a="$l_set" -v b="$b_set" 'BEGIN { printf "%.3f", a / b }')
    rg=$(awk -v a="$l_get" -v b="$b_get" 'BEGIN { printf "%.3f", a / b }')
    ratios_set+=("$rs") ratios_get+=("$rg")
    printf '%-6s %-8s %14.0f %14.0f %8s\n' "$r" SET "$b_set" "$l_set" "$rs"
    printf '%-6s %-8s %14.0f %14.0f %8s\n' "$r" GET "$b_get" "$l_get" "$rg"
done

summary() {
    printf '%s\n' "${@:2}" | sort -g | awk -v c="$1" '
        { v[NR] = $1 }
        END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%s: loadline / redis-benchmark median %.3f, range %.3f-%.3f over %d rounds\n", c, m, v[1], v[NR], NR }'
}
summary SET "${ratios_set[@]}"
summary GET "${ratios_get[@]}"
