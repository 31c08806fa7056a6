#!/usr/bin/env python3
"""golden.py -- rerun every case of fixtures/golden/cases.txt and compare the
event log and the report with the golden files, byte for byte.

A case is one line of the manifest:

    name | runcue-sim arguments (shell words; include --seed)

and owns these files next to the manifest:

    name.jsonl         the event log, compared by runcue-sim itself
                       (--golden FILE: exit 5 and a report of the first
                       difference; --update-golden rewrites it)
    name.report.json   stdout          (--report json)
    name.stall.txt     stderr, when the run stalled (the stall report); no
                       file means stderr must be empty

The exit status must be 3 if the report says "stalled":true, else 0.  The
same runs compare the log with --log too, so a broken --golden cannot hide
a difference.

    golden.py [--tool PATH] [--fixtures DIR] [--regen] [CASE...]

--regen writes the golden files instead of comparing (scripts/regen-fixtures.sh
is the documented way to do that) and removes golden files no case owns.
"""
import argparse
import json
import os
import re
import shlex
import sys

sys.dont_write_bytecode = True
import simtool  # noqa: E402

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
SUFFIXES = (".jsonl", ".report.json", ".stall.txt")


def read_manifest(path):
    cases = []
    seen = set()
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if "|" not in line:
                sys.exit(f"{path}:{n}: expected 'name | args...'")
            name, args = (part.strip() for part in line.split("|", 1))
            if not NAME_RE.match(name):
                sys.exit(f"{path}:{n}: bad case name '{name}' (letters, digits, _ . -)")
            if name in seen:
                sys.exit(f"{path}:{n}: case '{name}' listed twice")
            seen.add(name)
            argv = shlex.split(args)
            for banned in ("--log", "--format", "--report", "-v", "--verbose", "--realtime",
                           "--golden", "--update-golden", "--expect", "--junit"):
                if banned in argv:
                    sys.exit(f"{path}:{n}: '{banned}' is added by the runner; leave it out")
            if "--seed" not in argv:
                sys.exit(f"{path}:{n}: a golden case needs --seed")
            cases.append((name, argv))
    return cases


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def run_case(tool, name, argv, golden, update=False):
    """Run a case with --golden (and --update-golden); the log also comes
    back through --log."""
    extra = ["--golden", golden] + (["--update-golden"] if update else [])
    r = simtool.run(tool, argv + extra, log=True, report=True, cwd=simtool.SRC_ROOT)
    r.argv = [a if a != golden else os.path.relpath(golden, simtool.SRC_ROOT) for a in r.argv]
    out = {
        ".jsonl": r.log if r.log is not None else b"",
        ".report.json": r.stdout.encode("utf-8"),
        ".stall.txt": r.stderr.encode("utf-8") if r.stderr else None,
    }
    return r, out


def status_problem(r):
    """The exit status must be 0, or 3 with "stalled":true in the report."""
    if r.sanitizer:
        return f"sanitizer report (exit {r.status}):\n{r.sanitizer}"
    try:
        rep = json.loads(r.stdout)
    except ValueError:
        return f"stdout is not one JSON report (exit {r.status}):\n{r.stdout[:500]}{r.stderr[:500]}"
    want = 3 if rep.get("stalled") is True else 0
    if r.status != want:
        return (f"exit status {r.status}, expected {want} (stalled: {rep.get('stalled')})\n"
                f"stderr: {r.stderr[:500]}")
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool")
    ap.add_argument("--fixtures", default=os.path.join(simtool.SRC_ROOT, "fixtures", "golden"))
    ap.add_argument("--regen", action="store_true")
    ap.add_argument("cases", nargs="*", help="only these cases")
    opts = ap.parse_args()
    tool = os.path.abspath(simtool.find_tool(opts.tool))
    manifest = os.path.abspath(os.path.join(opts.fixtures, "cases.txt"))
    opts.fixtures = os.path.dirname(manifest)
    # Cases name scenario files relative to the source tree, and the report
    # repeats the name as given: run from there.
    os.chdir(simtool.SRC_ROOT)
    cases = read_manifest(manifest)
    if opts.cases:
        unknown = set(opts.cases) - {n for n, _ in cases}
        if unknown:
            sys.exit(f"no such case: {', '.join(sorted(unknown))}")
        cases = [c for c in cases if c[0] in opts.cases]

    tally = simtool.Tally("golden")
    if opts.regen:
        for name, argv in cases:
            r, out = run_case(tool, name, argv, os.path.join(opts.fixtures, name + ".jsonl"),
                              update=True)
            problem = status_problem(r)
            if problem:
                tally.fail(f"{name}: not regenerated", f"{problem}\nreplay: {r.command()}")
                continue
            for suffix, data in out.items():
                path = os.path.join(opts.fixtures, name + suffix)
                if suffix == ".jsonl":
                    if read_bytes(path) != data:
                        tally.fail(f"{name}: --update-golden wrote another log than --log")
                    continue
                if data is None:
                    if os.path.exists(path):
                        os.remove(path)
                    continue
                with open(path, "wb") as f:
                    f.write(data)
            size = sum(len(d) for d in out.values() if d)
            tally.ok(f"{name}: wrote {size} bytes")
        if not opts.cases:
            owned = {name + s for name, _ in cases for s in SUFFIXES}
            for fn in sorted(os.listdir(opts.fixtures)):
                if fn.endswith(SUFFIXES) and fn not in owned:
                    os.remove(os.path.join(opts.fixtures, fn))
                    print(f"removed {fn} (no case owns it)")
        return tally.finish()

    # A build configured without the cluster simulation (-Dcluster=disabled)
    # has no --cluster to check: its cases are skipped, and said to be.
    if os.environ.get("RUNCUE_HAVE_CLUSTER") == "0":
        def needs_cluster(argv):
            return "--cluster" in argv or any(
                a == "--scenario" and b == "cluster" for a, b in zip(argv, argv[1:]))
        skipped = [n for n, argv in cases if needs_cluster(argv)]
        if skipped:
            print(f"skipped (built without the cluster simulation): {', '.join(skipped)}")
        cases = [c for c in cases if not needs_cluster(c[1])]

    for name, argv in cases:
        replay = (f"replay: {shlex.join([tool] + argv)} --log LOG.jsonl --format jsonl "
                  f"--report json\nrecheck: {shlex.join([sys.executable, os.path.abspath(__file__), '--tool', tool, name])}")
        golden = os.path.join(opts.fixtures, name + ".jsonl")
        r, out = run_case(tool, name, argv, golden)
        problems = []
        if r.status == 5 and not r.sanitizer:
            # runcue-sim's own report of the first difference.
            problems.append(r.stderr.rstrip("\n"))
        else:
            problem = status_problem(r)
            if problem:
                problems.append(problem)
        for suffix, got in out.items() if not r.sanitizer and r.status != 5 else ():
            path = os.path.join(opts.fixtures, name + suffix)
            want = read_bytes(path)
            rel = os.path.relpath(path, simtool.SRC_ROOT)
            if want is None and got is None:
                continue
            if want is None:
                problems.append(f"{rel} is missing (run scripts/regen-fixtures.sh if the "
                                f"change is intended); the run wrote:\n{got[:600].decode('utf-8', 'replace')}")
            elif got is None:
                problems.append(f"{rel} exists but the run wrote nothing on stderr")
            elif want != got:
                problems.append(f"{rel} differs ({len(want)} bytes expected, {len(got)} got):\n" +
                                simtool.diff_head(want, got, rel, "this run").rstrip("\n"))
        if problems:
            tally.fail(f"{name}: {shlex.join(argv)}", "\n".join(problems + [replay]))
        else:
            tally.ok(f"{name}")

    # The JSON log and report must not depend on the locale: rerun the first
    # case under a UTF-8 locale and compare (stderr may differ: its symbol).
    if cases and not opts.cases:
        name, argv = cases[0]
        lang = "C.UTF-8"
        r = simtool.run(tool, argv, log=True, report=True, lang=lang, cwd=simtool.SRC_ROOT)
        want_log = read_bytes(os.path.join(opts.fixtures, name + ".jsonl"))
        want_rep = read_bytes(os.path.join(opts.fixtures, name + ".report.json"))
        tally.check(r.log == want_log and r.stdout.encode() == want_rep,
                    f"{name} under LC_ALL={lang}: same log and report as under LC_ALL=C",
                    f"replay: LC_ALL={lang} {r.command()}")
    print(f"{len(cases)} golden cases from {os.path.relpath(manifest, simtool.SRC_ROOT)}")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
