#!/usr/bin/env bash
# Build runcue and run its main job: the simulator.  Arguments go to
# runcue-sim; without any, a fanout run of 50 splits (350 work items).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >build/ninja.out 2>&1 || { cat build/ninja.out; exit 1; }
if [ $# -eq 0 ]; then
  set -- --scenario fanout -n 50 --seed 1
fi
exec build/tools/runcue-sim "$@"
