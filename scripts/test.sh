#!/usr/bin/env bash
# Build everything with warnings as errors and run the whole suite, then build
# again with AddressSanitizer + UndefinedBehaviorSanitizer and run it again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

run_suite() { # build-dir, meson setup args...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.out" 2>&1 || { cat "$dir.setup.out"; rm -f "$dir.setup.out"; exit 1; }
    rm -f "$dir.setup.out"
  else
    meson configure "$dir" "$@" >/dev/null
  fi
  if ! ninja -C "$dir" >"$dir/ninja.out" 2>&1; then
    cat "$dir/ninja.out"
    echo "build failed in $dir" >&2
    exit 1
  fi
  meson test -C "$dir" --print-errorlogs --num-processes 2
}

echo "== build (warnings are errors) and test"
run_suite build-ci -Dwerror=true -Dtui=enabled -Dsdl=enabled -Dredis=enabled -Dcluster=enabled

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suite build-asan -Dwerror=true -Dtui=enabled -Dsdl=enabled -Dredis=enabled -Dcluster=enabled -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=debug -Dc_args=-fno-sanitize-recover=all

# One closing line for both runs, counted from Criterion's own summaries.
python3 - build-ci build-asan <<'PY'
import re, sys
passed = failed = 0
for d in sys.argv[1:]:
    text = open(f"{d}/meson-logs/testlog.txt", errors="replace").read()
    for t, p, f in re.findall(r"Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+)", text):
        passed += int(p); failed += int(f)
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
PY
