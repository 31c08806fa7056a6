#!/usr/bin/env bash
# Fuzz one target under libFuzzer with AddressSanitizer and UBSan, built with
# clang straight from the sources (no meson).
#
#   scripts/fuzz.sh TARGET [SECONDS]     e.g. scripts/fuzz.sh runqy_line 60
#   scripts/fuzz.sh --list
#   scripts/fuzz.sh --available          exit 0 if clang -fsanitize=fuzzer works
#
# Seeds come from tests/fuzz/corpus/TARGET (read only) and the dictionary
# from tests/fuzz/dict/TARGET.dict; inputs the fuzzer finds go to
# build-fuzz/TARGET.corpus, crashes to build-fuzz/TARGET-crash-*.  The last
# line says how many inputs ran ("fuzz TARGET: N executions in S s, no
# finding"); a finding exits non-zero.
# Replay a crash with the plain test binary:
#   build/tests/fuzz/fuzz_TARGET build-fuzz/TARGET-crash-...
# To have cJSON itself instrumented (coverage and sanitizers reach into the
# parser), point CJSON_SRC at the cJSON.c of the installed version; otherwise
# the system libcjson is linked and only our own code guides the fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."

# One target per line: name | fuzz target | sources under test | include
# dirs | pkg-config packages [| compiler flags].  Add new targets here.
TARGETS=(
  "runqy_line | tests/fuzz/fuzz_runqy_line.c | transports/workers/protocol.c | scheduler/include transports/workers tests/fuzz | libcjson"
  "prefix | tests/fuzz/fuzz_prefix.c | transports/prefix.c scheduler/*.c | scheduler/include transports/include scheduler tests/fuzz | libcjson"
  "scenario_file | tests/fuzz/fuzz_scenario_file.c | scenarios/*.c libsim/*.c harness/*.c scheduler/*.c | scheduler/include scheduler harness/include harness libsim scenarios tests/fuzz | libcjson lua5.1"
  "cluster | tests/fuzz/fuzz_cluster.c | scenarios/*.c libsim/*.c harness/*.c scheduler/*.c | scheduler/include scheduler harness/include harness libsim scenarios tests/fuzz | libcjson lua5.1 | -DRC_HAVE_CLUSTER=1 -DRUNCUE_LUA_SOURCE=\"transports/redis/runcue.lua\" -DRUNCUE_LUA_INSTALLED=\"/usr/share/runcue/runcue.lua\""
  "expect | tests/fuzz/fuzz_expect.c | scenarios/*.c libsim/*.c harness/*.c scheduler/*.c | scheduler/include scheduler harness/include harness libsim scenarios tests/fuzz | libcjson lua5.1"
  "segment | tests/fuzz/fuzz_segment.c | harness/*.c scheduler/*.c viz/viewmodel.c viz/plain.c | scheduler/include scheduler harness/include harness viz tests/fuzz | libcjson"
  "rate | tests/fuzz/fuzz_rate.c | scheduler/*.c | scheduler/include scheduler tests/fuzz | libcjson"
  "golden | tests/fuzz/fuzz_golden.c | libsim/golden.c libsim/utf8.c | scheduler/include libsim tests/fuzz | "
  "view_options | tests/fuzz/fuzz_view_options.c | harness/*.c scheduler/*.c tools/cli_opts.c viz/live.c viz/viewmodel.c viz/plain.c viz/tui_none.c viz/sdl_none.c | scheduler/include scheduler harness/include harness viz tools tests/fuzz | libcjson"
  "sim_options | tests/fuzz/fuzz_sim_options.c | scenarios/*.c libsim/*.c harness/*.c scheduler/*.c viz/live.c viz/live_load.c viz/viewmodel.c viz/plain.c tools/sim_check.c tools/sim_command.c tools/sim_progress.c tools/sim_cluster.c tools/sim_live.c tools/shm_cleanup.c | scheduler/include scheduler harness/include harness libsim scenarios viz tools tests/fuzz | libcjson lua5.1"
  "redis_replies | tests/fuzz/fuzz_redis_replies.c | transports/redis/replies.c | scheduler/include transports/redis tests/fuzz | libcjson hiredis"
  "redis_url | tests/fuzz/fuzz_redis_url.c | transports/redis/rconn_cfg.c transports/redis/replies.c | scheduler/include transports/include transports/redis tests/fuzz | libcjson hiredis"
)

field() { # line, index (1-based): the field, trimmed
  echo "$1" | cut -d'|' -f"$2" | xargs
}

if [ "${1:-}" = "--available" ]; then
  probe=$(mktemp -d)
  trap 'rm -rf "$probe"' EXIT
  printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/t.c"
  clang -fsanitize=fuzzer,address,undefined "$probe/t.c" -o "$probe/t" >/dev/null 2>&1 &&
    "$probe/t" -runs=1 >/dev/null 2>&1
  exit
fi
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
defines=$(echo "$entry" | cut -d'|' -f6)
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
  $incs $deps_cflags $defines "$target" $sources $deps_libs -lm -lpthread -lrt -ldl -o "$bin"

echo "== fuzzing $name for ${seconds}s"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
dict=tests/fuzz/dict/$name.dict
log="$out/$name.log"
status=0
# FUZZ_RUNS and FUZZ_SEED make a run repeatable (CI): that many inputs from
# that seed, with SECONDS only as a cap.
limits=(-max_total_time="$seconds")
[ -n "${FUZZ_RUNS:-}" ] && limits+=(-runs="$FUZZ_RUNS")
[ -n "${FUZZ_SEED:-}" ] && limits+=(-seed="$FUZZ_SEED")
"$bin" "${limits[@]}" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
  -dict="$dict" -artifact_prefix="$out/$name-" -print_final_stats=1 \
  "$out/$name.corpus" "tests/fuzz/corpus/$name" >"$log" 2>&1 || status=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [ "$status" -ne 0 ]; then
  tail -n 60 "$log"
  echo "fuzz $name: a finding after ${execs:-?} executions (see $log and $out/$name-*)" >&2
  exit "$status"
fi
echo "fuzz $name: ${execs:-?} executions (at most ${seconds} s), no finding"
