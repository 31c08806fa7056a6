#!/usr/bin/env bash
# Build runcue and run its main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >build/ninja.out 2>&1 || { cat build/ninja.out; exit 1; }
exec build/examples/runcue-example-pipeline "$@"
