#!/usr/bin/env bash
# Build everything with warnings as errors and run the whole suite, then build
# again with AddressSanitizer + UndefinedBehaviorSanitizer and run it again;
# then a small ThreadSanitizer build of the pool and the cross-thread
# completion paths (tests/tsan), and a short libFuzzer run of every fuzz
# target (FUZZ_SECONDS each, 20 by default; 0 skips them) when clang can
# build with -fsanitize=fuzzer.
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

echo "== ThreadSanitizer: the pool and the cross-thread completion paths"
tsan_args=(-Dwerror=true -Dsim=disabled -Dtui=disabled -Dsdl=disabled -Db_sanitize=thread
  -Db_lundef=false -Dbuildtype=debug -Dc_args=-Wno-tsan)
if [ ! -f build-tsan/build.ninja ]; then
  meson setup build-tsan "${tsan_args[@]}" >build-tsan.setup.out 2>&1 ||
    { cat build-tsan.setup.out; rm -f build-tsan.setup.out; exit 1; }
  rm -f build-tsan.setup.out
else
  meson configure build-tsan "${tsan_args[@]}" >/dev/null
fi
# Only what the suite needs: the rest of the tree is checked above.
if ! ninja -C build-tsan tests/tsan/tsan_pool tests/tsan/tsan_realclock >build-tsan/ninja.out 2>&1; then
  cat build-tsan/ninja.out
  echo "build failed in build-tsan" >&2
  exit 1
fi
meson test -C build-tsan --suite tsan --no-rebuild --print-errorlogs --num-processes 2

# A repeatable campaign: the same inputs from the same seed on every run, so
# CI's verdict does not depend on luck; longer and random runs are
# scripts/fuzz.sh's (FUZZ_SECONDS=0 skips this).
fuzz_seconds=${FUZZ_SECONDS:-60}
export FUZZ_RUNS=${FUZZ_RUNS:-20000} FUZZ_SEED=${FUZZ_SEED:-1}
if [ "$fuzz_seconds" = 0 ]; then
  echo "== libFuzzer: skipped (FUZZ_SECONDS=0)"
elif bash scripts/fuzz.sh --available; then
  echo "== libFuzzer: each target, ${FUZZ_RUNS} inputs from seed ${FUZZ_SEED} (at most ${fuzz_seconds} s)"
  for t in $(bash scripts/fuzz.sh --list); do
    bash scripts/fuzz.sh "$t" "$fuzz_seconds"
  done
else
  echo "== libFuzzer: skipped (clang cannot build with -fsanitize=fuzzer here)"
fi

# One closing line for the three runs, counted from the test summaries.
python3 - build-ci build-asan build-tsan <<'PY'
import re, sys
passed = failed = 0
for d in sys.argv[1:]:
    text = open(f"{d}/meson-logs/testlog.txt", errors="replace").read()
    for t, p, f in re.findall(r"Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+)", text):
        passed += int(p); failed += int(f)
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
PY
