#!/usr/bin/env bash
# Build runcue's simulator and run the main job with it.  Arguments go to
# runcue-sim; without any, a fanout run of 50 splits (350 work items).
# The run ends with its summary, on a terminal too (plain output unless
# --tui or --sdl is asked for); then a line says how to watch it live.
# RUNCUE_BUILD_DIR picks the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${RUNCUE_BUILD_DIR:-build}
bash scripts/deps.sh
if [ ! -f "$dir/build.ninja" ]; then
  echo "main: configuring $dir/ (meson setup)"
  mkdir -p "$dir"
  meson setup "$dir" >"$dir.setup.out" 2>&1 || { cat "$dir.setup.out"; rm -f "$dir.setup.out"; exit 1; }
  rm -f "$dir.setup.out"
fi
echo "main: building runcue-sim (ninja -C $dir; the first build takes a minute or two)"
ninja -C "$dir" tools/runcue-sim
if [ $# -eq 0 ]; then
  set -- --scenario fanout -n 50 --seed 1
fi
view= hint=1
for a in "$@"; do
  case $a in
    --tui | --sdl | --no-tui) view=1 ;;
    # Options the dashboard cannot be combined with, or that run nothing.
    -v | --verbose | --report* | --realtime | -h | --help | -V | --version | --list-scenarios) hint= ;;
  esac
done
status=0
extra=()
[ -n "$view" ] || extra=(--no-tui)
"$dir/tools/runcue-sim" "$@" "${extra[@]}" || status=$?
if [ -z "$view" ] && [ -n "$hint" ] && { [ "$status" -eq 0 ] || [ "$status" -eq 3 ]; }; then
  echo "main: to watch it in the dashboard: $dir/tools/runcue-sim $(printf '%q ' "$@")--tui (q quits)" >&2
fi
exit "$status"
