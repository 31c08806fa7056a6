#!/usr/bin/env bash
# compare_builds.sh -- two runcue-sim builds on the same runs, interleaved
# (A, B, A, B ...), in one script so that both see the same machine: the
# median wall time and peak RSS of each, and B's time over A's.
#
#   bench/compare_builds.sh OLD/runcue-sim NEW/runcue-sim [RUNS] -- ARGS...
#   bench/compare_builds.sh old/tools/runcue-sim build-rel/tools/runcue-sim 5 -- \
#       --scenario pipeline -n 1000000 -l 0 --seed 42
#
# Every run's stdout must be the same for both builds (the report of a run is
# deterministic): a difference is reported and the script exits 1.
set -euo pipefail
if [ $# -lt 4 ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
A=$1 B=$2
shift 2
RUNS=5
if [ "$1" != "--" ]; then RUNS=$1; shift; fi
[ "${1:-}" = "--" ] || { echo "compare_builds: '--' before the runcue-sim arguments" >&2; exit 2; }
shift
case $RUNS in ''|*[!0-9]*) echo "compare_builds: RUNS must be a number" >&2; exit 2;; esac
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 101 ] || { echo "compare_builds: RUNS 1..101" >&2; exit 2; }
for t in "$A" "$B"; do [ -x "$t" ] || { echo "compare_builds: $t: not executable" >&2; exit 2; }; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < RUNS; i++)); do
  for side in A B; do
    tool=$A; [ $side = B ] && tool=$B
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$tool" --no-tui "$@" > "$tmp/out.$side" 2>/dev/null || true
    # The last line is ours (time puts a note of a non-zero exit before it).
    read -r secs kb < <(tail -n 1 "$tmp/t")
    echo "$secs $kb" >> "$tmp/$side"
  done
  if ! cmp -s "$tmp/out.A" "$tmp/out.B"; then
    echo "compare_builds: the two builds report differently:" >&2
    diff "$tmp/out.A" "$tmp/out.B" | head -20 >&2
    exit 1
  fi
done
python3 - "$tmp/A" "$tmp/B" <<'PY'
import statistics, sys
def load(p):
    rows = [l.split() for l in open(p)]
    return statistics.median(float(r[0]) for r in rows), statistics.median(int(r[1]) for r in rows) / 1024
ta, ma = load(sys.argv[1]); tb, mb = load(sys.argv[2])
ratio = lambda b, a: f"{b / a:.2f}" if a > 0 else "n/a (too fast to time)"
print(f"A {ta:.3f} s {ma:.0f} MiB   B {tb:.3f} s {mb:.0f} MiB   B/A time {ratio(tb, ta)}  memory {ratio(mb, ma)}")
PY
