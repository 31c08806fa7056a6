#!/usr/bin/env bash
# mutate.sh -- does the suite bite?  Applies each mutation of a list (small
# deliberate bugs, scripts/mutations.txt) alone to a scratch copy of the
# tree, rebuilds, runs the tests the line names, and prints "killed" (a test
# failed) or "survived" (every test passed: a gap in the suite), then a
# score.  The working tree is never touched.  A tool for the team, not a CI
# step: run it after adding a mechanism (and its line in the list).
#
#   scripts/mutate.sh [--list FILE] [--keep] [PATTERN]
#
# PATTERN (a grep -E expression) picks the lines whose text matches.
# --keep leaves the scratch copy and prints where it is.  MESON_OPTS adds
# options to the scratch build (default: -Dtui=enabled -Dsdl=disabled).
# Exit status: 0 if every mutation was killed, 1 if one survived, 2 if one
# no longer applies or does not build, or on a usage error.
set -u

die() {
    echo "mutate.sh: $*" >&2
    exit 2
}

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel) || die "not in a git checkout"
list="$root/scripts/mutations.txt"
keep=0
pattern=""
while [ $# -gt 0 ]; do
    case "$1" in
    --list) [ $# -ge 2 ] || die "--list needs a file"; list=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) pattern=$1; shift ;;
    esac
done
[ -r "$list" ] || die "cannot read the list '$list'"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/runcue-mutate.XXXXXX") || die "mktemp failed"
cleanup() {
    if [ "$keep" = 1 ]; then echo "scratch copy kept in $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The tree as it is in the working copy: tracked files and new ones that are
# not ignored (build directories are).
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$scratch" -xf - ||
    die "copying the tree failed"

log="$scratch/mutate.log"
echo "scratch copy: $scratch (build log: $log)"
# shellcheck disable=SC2086  # MESON_OPTS is a list of options
meson setup "$scratch/build" "$scratch" ${MESON_OPTS:--Dtui=enabled -Dsdl=disabled} \
    >"$log" 2>&1 || die "meson setup failed (see $log with --keep)"
ninja -C "$scratch/build" >>"$log" 2>&1 || die "the unmutated tree does not build"

# Segments a failed test left behind: new since `before`, writer gone.  The
# writer's pid is at byte 16 of the segment (segment.h).
before=$(ls /dev/shm 2>/dev/null | grep '^runcue\.' || true)
sweep_segments() {
    local f pid
    for f in /dev/shm/runcue.*; do
        [ -f "$f" ] || continue
        grep -qxF "${f#/dev/shm/}" <<<"$before" && continue
        pid=$(od -An -t d4 -j 16 -N 4 "$f" 2>/dev/null | tr -d ' ')
        [ -n "$pid" ] && [ "$pid" -gt 0 ] && kill -0 "$pid" 2>/dev/null && continue
        rm -f "$f"
    done
}

# Parse the list: file | expression | tests | what.
entries=()
while IFS= read -r line; do
    case "$line" in '' | '#'*) continue ;; esac
    if [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$line"; then continue; fi
    entries+=("$line")
done <"$list"
[ ${#entries[@]} -gt 0 ] || die "no mutation in '$list' matches '$pattern'"

# The tests named must pass before anything is mutated.
all_tests=$(for e in "${entries[@]}"; do awk -F' [|] ' '{print $3}' <<<"$e"; done | tr ' ' '\n' |
    sort -u | tr '\n' ' ')
# shellcheck disable=SC2086
meson test -C "$scratch/build" --no-rebuild --num-processes 2 $all_tests >>"$log" 2>&1 ||
    die "the unmutated tree fails: $all_tests"

killed=0 survived=0 broken=0 n=0
for e in "${entries[@]}"; do
    n=$((n + 1))
    file=$(awk -F' [|] ' '{print $1}' <<<"$e")
    expr=$(awk -F' [|] ' '{print $2}' <<<"$e")
    tests=$(awk -F' [|] ' '{print $3}' <<<"$e")
    what=$(awk -F' [|] ' '{print $4}' <<<"$e")
    target="$scratch/$file"
    if [ ! -f "$target" ] || [ -z "$expr" ] || [ -z "$tests" ]; then
        printf '%2d  BROKEN    %s (no such file, or a field is missing)\n' "$n" "$what"
        broken=$((broken + 1))
        continue
    fi
    cp -p "$target" "$scratch/.orig"
    if ! sed -i -e "$expr" "$target" 2>>"$log" || cmp -s "$target" "$scratch/.orig"; then
        printf '%2d  BROKEN    %s (the expression no longer changes %s)\n' "$n" "$what" "$file"
        broken=$((broken + 1))
        cp -p "$scratch/.orig" "$target"
        continue
    fi
    echo "=== $n: $file: $expr" >>"$log"
    if ! ninja -C "$scratch/build" >>"$log" 2>&1; then
        printf '%2d  BROKEN    %s (does not build)\n' "$n" "$what"
        broken=$((broken + 1))
    else
        # shellcheck disable=SC2086
        if meson test -C "$scratch/build" --no-rebuild --num-processes 2 $tests >>"$log" 2>&1; then
            printf '%2d  survived  %s  [%s]\n' "$n" "$what" "$tests"
            survived=$((survived + 1))
        else
            printf '%2d  killed    %s  [%s]\n' "$n" "$what" "$tests"
            killed=$((killed + 1))
        fi
    fi
    cp "$scratch/.orig" "$target" # a new mtime: the next build recompiles it
    touch "$target"
    sweep_segments
done
ninja -C "$scratch/build" >>"$log" 2>&1

total=$((killed + survived + broken))
echo "score: $killed of $total killed ($survived survived, $broken broken)"
[ "$broken" -eq 0 ] || exit 2
[ "$survived" -eq 0 ] || exit 1
exit 0
