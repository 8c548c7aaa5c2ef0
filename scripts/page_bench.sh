#!/usr/bin/env bash
# Pages beside the REST calls behind them, measured in the same run: serves the release build on
# fresh demo data, signs in as the demo owner, and runs `wrk -t2 -c32` on each page and then its
# REST call, round after round. Prints requests/s, the server's CPU time per request (user +
# system, all its threads, read from /proc around each run) and the page's rate ÷ REST's.
#
# usage: scripts/page_bench.sh [SECONDS per run, 5] [ROUNDS, 2]
# needs: wrk, curl, python3, and a release build (`cargo leptos build --release --split --precompress`).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-5}
ROUNDS=${2:-2}
BIN=${CHRONICLE_BIN:-target/release/server}
PORT=${PAGE_BENCH_PORT:-3390}
command -v wrk >/dev/null || { echo "page_bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "page_bench: no $BIN; build first: cargo leptos build --release --split --precompress" >&2; exit 1; }

. scripts/demo_server.sh
TICKS=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }

# One wrk run: prints "requests/s µs-of-server-CPU-per-request".
measure() {
    local before after out requests
    before=$(cpu_ticks)
    out=$(wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" -H "Cookie: $COOKIE" "$BASE$1")
    after=$(cpu_ticks)
    if grep -q "Non-2xx" <<<"$out"; then echo "page_bench: $1 answered errors:" >&2; echo "$out" >&2; exit 1; fi
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    awk -v rate="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" -v ticks=$((after - before)) -v n="$requests" -v hz="$TICKS" \
        'BEGIN {printf "%.0f %.0f\n", rate, ticks * 1e6 / hz / n}'
}

PAIRS=("workflows" "audit" "executions")
printf "%-12s %-6s %14s %14s %12s %12s %8s\n" "page" "round" "page req/s" "REST req/s" "page µs CPU" "REST µs CPU" "page÷REST"
for round in $(seq "$ROUNDS"); do
    for name in "${PAIRS[@]}"; do
        read -r page_rate page_cpu < <(measure "/orgs/$ORG/$name")
        read -r rest_rate rest_cpu < <(measure "/api/v1/orgs/$ORG/$name")
        printf "%-12s %-6s %14s %14s %12s %12s %7s%%\n" "$name" "$round" "$page_rate" "$rest_rate" "$page_cpu" "$rest_cpu" \
            "$(awk -v a="$page_rate" -v b="$rest_rate" 'BEGIN {printf "%.0f", 100 * a / b}')"
    done
done
