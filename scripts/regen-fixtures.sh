#!/usr/bin/env bash
# regen-fixtures.sh -- regenerate the golden simulator output in fixtures/golden/
# on purpose, after a change that is meant to alter it (a new event, a
# different latency draw, a new report field, ...).
#
#   scripts/regen-fixtures.sh            every case of fixtures/golden/cases.txt
#   scripts/regen-fixtures.sh NAME...    only these cases (e.g. a new one)
#
# Builds first (BUILD=dir to use another plain build directory than ./build;
# never a sanitizer build), reruns every case with --golden NAME.jsonl
# --update-golden (runcue-sim writes the log) and --report json, writes
# NAME.report.json and NAME.stall.txt, and removes golden files no case owns.  Review `git diff fixtures/golden` before
# committing: every changed line is a change in simulator behaviour.
# `meson test -C build --suite sim` (test 'golden') compares against them.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD"
fi
ninja -C "$BUILD"
python3 tests/sim/golden.py --tool "$BUILD/tools/runcue-sim" --fixtures fixtures/golden --regen "$@"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git status --short -- fixtures/golden
fi
