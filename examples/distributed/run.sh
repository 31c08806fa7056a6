#!/bin/sh
# run.sh -- the distributed file pipeline on one machine: a private
# redis-server on a unix socket, two runcue-agent processes (one per stage,
# each running that stage's worker) and the scheduler, over DIR.
#
#   examples/distributed/run.sh BUILD_DIR DIR
#
# Writes sample inputs into DIR if it has none, runs the pipeline, runs it
# again (everything skipped), prints runcue-dist status, and stops the
# agents and the server by their pids.
set -eu
[ $# -eq 2 ] || { echo "usage: run.sh BUILD_DIR DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
mkdir -p "$2"
dir=$(cd "$2" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/runcue-distributed.XXXXXX")
sock=$tmp/redis.sock
url=unix:$sock
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$tmp" \
    --save '' --appendonly yes --appendfsync always >"$tmp/redis.log" 2>&1 &
pids="$!"
i=0
until redis-cli -s "$sock" ping >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "redis-server did not start" >&2; exit 1; }
    sleep 0.1
done

# Agent 1: stage "upper" on service "cpu", the C worker, 2 slots.
"$build/tools/runcue-agent" --url "$url" --ns files --name agent-upper \
    --service cpu --task upper --slots 2 \
    -- "$build/examples/workers/runcue-example-upper-worker" 2>"$tmp/agent-upper.log" &
pids="$pids $!"
# Agent 2: stage "count" on service "counter", the Python worker, 2 slots.
"$build/tools/runcue-agent" --url "$url" --ns files --name agent-count \
    --service counter --task count --slots 2 \
    -- python3 -S "$src/examples/workers/wordcount_worker.py" 2>"$tmp/agent-count.log" &
pids="$pids $!"

ls "$dir"/*.txt >/dev/null 2>&1 || "$build/examples/distributed/runcue-example-distributed" --demo "$dir"
"$build/examples/distributed/runcue-example-distributed" --redis "$url" --ns files "$dir"
"$build/examples/distributed/runcue-example-distributed" --redis "$url" --ns files -q "$dir"
"$build/tools/runcue-dist" status --url "$url" --ns files
