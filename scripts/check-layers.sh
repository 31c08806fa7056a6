#!/usr/bin/env bash
# check-layers.sh -- hold the tree to its one-way layers (README, Architecture).
#
# Reads every #include "..." of the C sources and fails on an arrow that runs
# against the layers:
#   tools, examples, bench -> viz, scenarios, libsim, harness, transports, core (public)
#   (bench also -> the tests' helpers: a private redis-server)
#   viz        -> the harness reader (runcue_shm.h) and runcue.h only
#   scenarios  -> libsim -> harness (writer) -> core, each through public headers
#   transports (pool, workers/, redis/) -> runcue.h and their own public
#              headers (runcue_transport.h, runcue_redis.h) only;
#   harness -> runcue.h only
#   scheduler/ -> nothing above it; inside it, each module only below itself:
#       base (alloc, maps, run queue, rate ring, loop) < cue_types.h < observe
#       < results < work < dispatch, diagnose < timeouts < cue.c
#       < wait, canvas (these two on the public API, wait also setting the
#         cue's error message)
#   and the loop's insides (loop_internal.h) only in loop.c and the clocks.
# A folder's private headers are its own: no other folder may include them
# (tests/<layer>/ may include its layer's).
#
#   scripts/check-layers.sh            check the tree (exit 1 on a violation)
#   scripts/check-layers.sh --self-test  also show that a back edge is caught
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import os, re, shutil, subprocess, sys, tempfile

ROOT = os.getcwd()
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# Public headers and the layer that owns them.
PUBLIC = {"runcue.h": "core", "runcue_canvas.h": "core", "runcue_transport.h": "transports",
          "runcue_redis.h": "transports", "runcue_shm.h": "harness"}

# Which layers' public headers (and, for the upper layers, which folders'
# headers) each folder may include.  A folder may always include its own.
ALLOWED = {
    "scheduler":  {"public": {"core"}, "folders": set()},
    "transports": {"public": {"core", "transports"}, "folders": set()},
    "harness":    {"public": {"core", "harness"}, "folders": set()},
    "libsim":     {"public": {"core", "harness"}, "folders": set()},
    "scenarios":  {"public": {"core", "harness"}, "folders": {"libsim"}},
    "viz":        {"public": {"core", "harness"}, "folders": set()},
    "tools":      {"public": {"core", "harness", "transports"},
                   "folders": {"viz", "scenarios", "libsim"}},
    "examples":   {"public": {"core", "harness", "transports"}, "folders": {"tools"}},
    # bench_redis starts its server with the tests' private redis-server helper
    "bench":      {"public": {"core", "harness", "transports"},
                   "folders": {"scenarios", "libsim", "tests"}},
}
# tests/<layer> sees its layer's folder; every test sees tests/support.
TEST_LAYER = {"core": "scheduler", "transports": "transports", "harness": "harness",
              "sim": "libsim", "viz": "viz", "install": None, "support": None, "fuzz": None,
              "tsan": None}
# (tests/fuzz also compiles a tool's own source, to reach its static parser.)
TEST_EXTRA = {"sim": {"scenarios"},
              "fuzz": {"scenarios", "libsim", "transports", "harness", "viz", "tools"}}

# Inside scheduler/: the rank of each module; an include must not go up.
CORE_RANK = {
    "runcue.h": 0, "alloc": 0, "dlist": 0, "small": 0, "keytab": 0, "idmap": 0, "idtable": 0, "strmap": 0, "runq": 0,
    "ratelimit": 0, "error": 0, "explain": 0, "loop": 0, "loop_internal": 0,
    "clock_virtual": 0, "clock_mono": 0,
    "cue_types": 1, "observe": 2, "work": 3, "dispatch": 4, "diagnose": 4,
    "timeouts": 5, "cue": 6, "results": 2,
    # Built on the public API only, above the cue: waiting and workflows.
    "wait": 7, "canvas": 7, "runcue_canvas": 7,
}
LOOP_INSIDE = {"loop.c", "clock_virtual.c", "clock_mono.c"}


def sources(root):
    for top in list(ALLOWED) + ["tests"]:
        base = os.path.join(root, top)
        for d, _, files in os.walk(base):
            for f in sorted(files):
                if f.endswith((".c", ".h", ".cpp")):
                    yield os.path.relpath(os.path.join(d, f), root)


def header_index(root):
    """basename -> folder (top-level) that holds it, for every header."""
    idx = {}
    for path in sources(root):
        if path.endswith(".h"):
            idx.setdefault(os.path.basename(path), set()).add(path.split(os.sep)[0])
    return idx


def module(name):
    return os.path.splitext(os.path.basename(name))[0]


def check(root):
    idx = header_index(root)
    errors = []
    for path in sources(root):
        parts = path.split(os.sep)
        top = parts[0]
        text = open(os.path.join(root, path), errors="replace").read()
        for inc in INCLUDE.findall(text):
            base = os.path.basename(inc)
            if base in PUBLIC:
                owner_pub = PUBLIC[base]
            else:
                owner_pub = None
            owners = idx.get(base, set())
            if "/" in inc:
                # A path: the file it names decides, wherever it is.
                target = os.path.normpath(os.path.join(os.path.dirname(path), inc))
                if os.path.exists(os.path.join(root, target)):
                    owners = {target.split(os.sep)[0]}
            if top == "tests":
                sub = parts[1] if len(parts) > 2 else ""
                own = {"tests", TEST_LAYER.get(sub)} | TEST_EXTRA.get(sub, set())
                ok = owner_pub is not None or (owners and owners <= own)
                if not ok:
                    errors.append(f"{path}: includes \"{inc}\" ({', '.join(sorted(owners)) or 'unknown'}), "
                                  f"which tests/{sub} may not see")
                continue
            rule = ALLOWED[top]
            if owner_pub is not None:
                if owner_pub not in rule["public"]:
                    errors.append(f"{path}: includes {base}, the {owner_pub} layer's header, "
                                  f"which {top}/ may not use")
                    continue
            elif not owners:
                errors.append(f"{path}: includes \"{inc}\", which is nowhere in the tree")
                continue
            elif not owners <= ({top} | rule["folders"]):
                errors.append(f"{path}: includes \"{inc}\" from {'/'.join(sorted(owners))}/, "
                              f"against the layers ({top}/ may use: "
                              f"{', '.join(sorted(rule['folders'])) or 'public headers only'})")
                continue
            if top == "scheduler":
                if base == "loop_internal.h" and parts[-1] not in LOOP_INSIDE \
                        and parts[-1] != "loop_internal.h":
                    errors.append(f"{path}: includes loop_internal.h; only the loop and its "
                                  f"clocks touch the loop's insides")
                mine = CORE_RANK.get(module(path))
                theirs = CORE_RANK.get(module(base), 0 if base in PUBLIC else None)
                if mine is None or theirs is None:
                    errors.append(f"{path}: {module(path) if mine is None else module(base)} "
                                  f"has no rank in scripts/check-layers.sh (CORE_RANK)")
                elif theirs > mine:
                    errors.append(f"{path}: includes {base} (rank {theirs}) from rank {mine}: "
                                  f"a core module may only call those below it")
    return errors


def self_test():
    """Copy the tree, add back edges, and show each is caught."""
    cases = [
        ("scheduler/work.c", '#include "dispatch.h"\n', "core: work.c calls up into dispatch"),
        ("scheduler/cue.c", '#include "runcue_shm.h"\n', "core names the segment"),
        ("viz/tui.c", '#include "sim.h"\n', "viz reaches into libsim"),
        ("transports/pool.c", '#include "cue_types.h"\n', "a transport sees the core's insides"),
        ("scheduler/dispatch.c", '#include "loop_internal.h"\n', "the cue touches the loop's insides"),
    ]
    tmp = tempfile.mkdtemp()
    try:
        for top in list(ALLOWED) + ["tests"]:
            if os.path.isdir(top):
                shutil.copytree(top, os.path.join(tmp, top))
        if check(tmp):
            print("self-test: the copy fails before any change"); return 1
        bad = 0
        for path, line, what in cases:
            p = os.path.join(tmp, path)
            orig = open(p).read()
            open(p, "w").write(line + orig)
            errs = check(tmp)
            open(p, "w").write(orig)
            print(f"{'caught' if errs else 'MISSED'}: {what}" + (f" -- {errs[0]}" if errs else ""))
            bad += not errs
        return 1 if bad else 0
    finally:
        shutil.rmtree(tmp)


errs = check(ROOT)
for e in errs:
    print("layers:", e)
rc = 1 if errs else 0
if "--self-test" in sys.argv[1:]:
    rc |= self_test()
print(f"layers: {'ok' if not errs else str(len(errs)) + ' violations'}")
sys.exit(rc)
PY
