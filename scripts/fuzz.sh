#!/usr/bin/env bash
# Fuzz one target under libFuzzer with AddressSanitizer and UBSan, built with
# clang straight from the sources (no meson).
#
#   scripts/fuzz.sh TARGET [SECONDS]     e.g. scripts/fuzz.sh runqy_line 60
#   scripts/fuzz.sh --list
#
# Seeds come from tests/fuzz/corpus/TARGET (read only); inputs the fuzzer
# finds go to build-fuzz/TARGET.corpus, crashes to build-fuzz/TARGET-crash-*.
# Replay a crash with the plain test binary:
#   build/tests/fuzz/fuzz_TARGET build-fuzz/TARGET-crash-...
# To have cJSON itself instrumented (coverage and sanitizers reach into the
# parser), point CJSON_SRC at the cJSON.c of the installed version; otherwise
# the system libcjson is linked and only our own code guides the fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."

# One target per line: name | fuzz target | sources under test | include
# dirs | pkg-config packages.  Add new targets here.
TARGETS=(
  "runqy_line | tests/fuzz/fuzz_runqy_line.c | transports/workers/protocol.c | scheduler/include transports/workers tests/fuzz | libcjson"
  "scenario_file | tests/fuzz/fuzz_scenario_file.c | scenarios/*.c libsim/*.c harness/*.c scheduler/*.c | scheduler/include scheduler harness/include harness libsim scenarios tests/fuzz | libcjson"
  "expect | tests/fuzz/fuzz_expect.c | scenarios/*.c libsim/*.c harness/*.c scheduler/*.c | scheduler/include scheduler harness/include harness libsim scenarios tests/fuzz | libcjson"
)

field() { # line, index (1-based): the field, trimmed
  echo "$1" | cut -d'|' -f"$2" | xargs
}

if [ "${1:-}" = "--list" ]; then
  for t in "${TARGETS[@]}"; do field "$t" 1; done
  exit 0
fi
name=${1:?usage: scripts/fuzz.sh TARGET [SECONDS] (or --list)}
seconds=${2:-60}

entry=""
for t in "${TARGETS[@]}"; do
  [ "$(field "$t" 1)" = "$name" ] && entry=$t
done
[ -n "$entry" ] || { echo "unknown target '$name'; known: $("$0" --list | xargs)" >&2; exit 2; }

target=$(field "$entry" 2)
sources=$(field "$entry" 3)
incs=""
for d in $(field "$entry" 4); do incs="$incs -I$d"; done
pkgs=$(field "$entry" 5)
deps_cflags=""
deps_libs=""
if [ -n "$pkgs" ]; then
  deps_cflags=$(pkg-config --cflags $pkgs)
  deps_libs=$(pkg-config --libs $pkgs)
fi
if [ -n "${CJSON_SRC:-}" ]; then
  sources="$sources $CJSON_SRC"
  deps_libs=$(echo "$deps_libs" | sed 's/-lcjson//')
fi

out=build-fuzz
mkdir -p "$out/$name.corpus"
bin="$out/fuzz_$name"
echo "== building $bin"
# shellcheck disable=SC2086
clang -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  $incs $deps_cflags "$target" $sources $deps_libs -lm -lpthread -o "$bin"

echo "== fuzzing $name for ${seconds}s"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
"$bin" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$out/$name-" -print_final_stats=1 \
  "$out/$name.corpus" "tests/fuzz/corpus/$name"
