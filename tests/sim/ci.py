#!/usr/bin/env python3
"""ci.py -- runcue-sim as a regression checker in someone else's CI:

  * every kind of expectation (stall and its cause, bounds on duration,
    throughput and percentiles overall and per service, counts, ordering and
    timing of labels, peak in flight), held and broken: exit 0 or 4, one
    stderr line per broken expectation with the expected and actual values;
  * names that do not exist (label, service, metric) and bad syntax: exit 2,
    one line, with a did-you-mean, before anything runs;
  * --golden: silent on a match; exit 5 and a readable first difference
    (expected and found event, the lines around it, the virtual time, the
    divergence by event kind); an endless recording is refused at the byte
    limit; --update-golden writes the run's log;
  * --junit: well-formed XML of the JUnit schema (checked by a small
    validator here), one test case per expectation, hostile names escaped;
  * --check: one line per file, deterministic whatever the order of the
    files, the example set in examples/ci (one file fails on purpose), and
    the README's example output exactly as shown.

    ci.py [--tool PATH]
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
import simtool  # noqa: E402

DIAMOND = os.path.join(simtool.SRC_ROOT, "scenarios", "examples", "diamond.json")
CYCLE = os.path.join(simtool.SRC_ROOT, "fixtures", "deadlock", "cycle.json")
MISSING = os.path.join(simtool.SRC_ROOT, "fixtures", "deadlock", "missing_producer.json")
EXAMPLES = os.path.join(simtool.SRC_ROOT, "examples", "ci")
README = os.path.join(simtool.SRC_ROOT, "README.md")

BROKEN_RE = re.compile(r"^runcue-sim: expectation broken: (.+): expected (.+), got (.+)$")


def run(tool, args, **kw):
    return simtool.run(tool, args, timeout=60, **kw)


def expect_args(exprs):
    out = []
    for e in exprs:
        out += ["--expect", e]
    return out


def broken_lines(r):
    return [line for line in r.stderr.splitlines() if line.startswith("runcue-sim: expectation broken:")]


# (scenario args, expectation, holds?)  Figures from the runs themselves:
# diamond --seed 1 takes 1.239 s, completes 4, api peak 1, queue wait p50
# 1.0 s / p95 1.219 s, run time p95 0.230 s.
DIAMOND_ARGS = ["--scenario-file", DIAMOND, "--seed", "1"]
PIPE_ERR = ["--scenario", "pipeline", "-n", "10", "-e", "0.1", "--seed", "1"]
CASES = [
    # stalls
    (DIAMOND_ARGS, "no stall", True),
    (DIAMOND_ARGS, "stall", False),
    (["--scenario-file", CYCLE, "--seed", "1"], "stall", True),
    (["--scenario-file", CYCLE, "--seed", "1"], "no stall", False),
    (["--scenario-file", CYCLE, "--seed", "1"], "stall cycle A B", True),
    (["--scenario-file", CYCLE, "--seed", "1"], "stall cycle B, A", True),
    (["--scenario-file", CYCLE, "--seed", "1"], "stall cycle A healthy_0", False),
    (["--scenario-file", MISSING, "--seed", "1"], "stall missing stats/summary", True),
    (["--scenario-file", MISSING, "--seed", "1"], "stall missing stats/other", False),
    (["--scenario-file", MISSING, "--seed", "1"], "stall cycle healthy_0 report", False),
    (PIPE_ERR, "stall failed item_0004", True),
    (PIPE_ERR, "stall failed item_0001", False),
    # bounds, overall
    (DIAMOND_ARGS, "duration <= 1.3s", True),
    (DIAMOND_ARGS, "duration < 1200ms", False),
    (DIAMOND_ARGS, "throughput >= 3/s", True),
    (DIAMOND_ARGS, "throughput > 4", False),
    (DIAMOND_ARGS, "queue_wait.p50 <= 1.0", True),
    (DIAMOND_ARGS, "queue_wait.p95 < 1s", False),
    (DIAMOND_ARGS, "queue_wait.p99 <= 1.22", True),
    (DIAMOND_ARGS, "run_time.p50 < 0.1", True),
    (DIAMOND_ARGS, "run_time.p95 <= 0.2", False),
    (DIAMOND_ARGS, "run_time.p99 <= 0.25", True),
    # per service
    (DIAMOND_ARGS, "service api queue_wait.p95 >= 1", True),
    (DIAMOND_ARGS, "service local queue_wait.p95 < 1", False),
    (DIAMOND_ARGS, "service api run_time.p50 >= 0.1", True),
    (DIAMOND_ARGS, "service local run_time.p99 < 0.03", False),
    (DIAMOND_ARGS, "service api throughput >= 1.5", True),
    (DIAMOND_ARGS, "service api completed == 2", True),
    (DIAMOND_ARGS, "service local failed != 0", False),
    (DIAMOND_ARGS, "service api peak_in_flight <= 1", True),
    (DIAMOND_ARGS, "service api peak_in_flight == 2", False),
    (DIAMOND_ARGS, "service api violations == 0", True),
    # counts
    (DIAMOND_ARGS, "completed == 4", True),
    (DIAMOND_ARGS, "completed = 5", False),
    (DIAMOND_ARGS, "failed == 0", True),
    (PIPE_ERR, "failed == 0", False),
    (DIAMOND_ARGS, "retries == 0", True),
    (DIAMOND_ARGS, "violations == 0", True),
    (DIAMOND_ARGS, "submitted > 4", False),
    # ordering and timing
    (DIAMOND_ARGS, "label fetch_b completes before t=1.2", True),
    (DIAMOND_ARGS, "label fetch_b completes before 1s", False),
    (DIAMOND_ARGS, "label fetch_a starts before t = 0.001", True),
    (DIAMOND_ARGS, "label fetch_b starts after 0.5", True),
    (DIAMOND_ARGS, "label fetch_b starts after fetch_a completes", True),
    (DIAMOND_ARGS, "label fetch_a completes after label fetch_b starts", False),
    (DIAMOND_ARGS, "label fetch_a completes before fetch_b completes", True),
    (["--scenario-file", CYCLE, "--seed", "1"], "label A completes before 100", False),
    (["--scenario", "single_queue", "-n", "10", "-j", "0", "--seed", "1"],
     "label item_0005 starts after item_0000 completes", True),
    (["--scenario", "single_queue", "-n", "10", "-j", "0", "--seed", "1"],
     "label item_0004 starts after item_0000 completes", False),
    (["--scenario", "fanout", "-n", "3", "--seed", "1"],
     "label batch_0002 starts after batch_0001/4 starts", False),
]

# (args, what the one stderr line must contain)
ERRORS = [
    (DIAMOND_ARGS + ["--expect", "completd == 4"], "unknown metric 'completd' (did you mean 'completed'?)"),
    (DIAMOND_ARGS + ["--expect", "service apii completed == 2"], "unknown service 'apii' (did you mean 'api'?)"),
    (DIAMOND_ARGS + ["--expect", "label fetch_c completes before 2"], "unknown label 'fetch_c' (did you mean 'fetch_"),
    (DIAMOND_ARGS + ["--expect", "stall cycle fetch_a combin"], "unknown label 'combin'"),
    (["--scenario", "pipeline", "-n", "5", "--seed", "1", "--expect", "label item_0005 completes before 3"],
     "unknown label 'item_0005' (did you mean 'item_0004'?)"),
    (DIAMOND_ARGS + ["--expect", "peak_in_flight <= 2"], "is a figure of a service"),
    (DIAMOND_ARGS + ["--expect", "service api duration < 2"], "is a figure of the whole run"),
    (DIAMOND_ARGS + ["--expect", "completed == 4.5"], "must be a whole number"),
    (DIAMOND_ARGS + ["--expect", "completed == 4s"], "unknown unit"),
    (DIAMOND_ARGS + ["--expect", "duration <= 2 weeks"], "unexpected 'weeks'"),
    (DIAMOND_ARGS + ["--expect", "duration <= -1"], "no sign"),
    (DIAMOND_ARGS + ["--expect", "duration"], "expected a comparison"),
    (DIAMOND_ARGS + ["--expect", "label 'fetch_a completes before 2"], "not closed"),
    (DIAMOND_ARGS + ["--expect", "label fetch_a ends before 2"], "expected 'starts' or 'completes'"),
    (DIAMOND_ARGS + ["--expect", "no stalls"], "'no' must be followed by 'stall'"),
    (DIAMOND_ARGS + ["--expect", ""], "empty"),
    (DIAMOND_ARGS + ["--expect", "x" * 2000], "at most 1024"),
]

# Scenario files with a bad "expect" section: (section, message part)
FILE_ERRORS = [
    (["completed == 4", "completd == 4"], "expect[1]: 'completd == 4': unknown metric"),
    ({"checks": ["no stall"], "seed": [1]}, "expect: unknown key 'seed' (did you mean 'seeds'?)"),
    ({"seeds": [1.5]}, "expect.seeds: [0]: must be a whole number"),
    ({"checks": [3]}, "expect.checks[0]: must be a non-empty string"),
    ("no stall", "expect: must be an array of expectations"),
    (["label fetch_z completes before 5"], "expect[0]: 'label fetch_z completes before 5': unknown label"),
]


def diamond_with(expect):
    with open(DIAMOND, encoding="utf-8") as f:
        doc = json.load(f)
    doc["expect"] = expect
    return doc


# ---- JUnit: a validator of the schema CI readers accept (Ant/Jenkins) ----

def validate_junit(data):
    """Problems with a JUnit document: not UTF-8, not XML, or not the
    schema: testsuites > testsuite > testcase (> failure | error |
    system-out), required attributes, counts that add up, times numbers."""
    problems = []
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return [f"not UTF-8: {e}"]
    if not data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'):
        problems.append("no XML declaration with encoding UTF-8")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        return problems + [f"not well-formed XML: {e}"]
    if root.tag != "testsuites":
        return problems + [f"root element is <{root.tag}>, not <testsuites>"]

    def number(el, attr, integer):
        v = el.get(attr)
        if v is None:
            problems.append(f"<{el.tag}> lacks {attr}")
            return 0
        if not re.fullmatch(r"\d+" if integer else r"\d+(\.\d+)?", v):
            problems.append(f"<{el.tag} {attr}={v!r}> is not a {'count' if integer else 'time'}")
            return 0
        return int(v) if integer else float(v)

    totals = [0, 0, 0]
    for suite in root:
        if suite.tag != "testsuite":
            problems.append(f"<{suite.tag}> inside <testsuites>")
            continue
        if not suite.get("name"):
            problems.append("a <testsuite> without a name")
        counts = [0, 0, 0]
        for case in suite:
            if case.tag not in ("testcase", "properties", "system-out", "system-err"):
                problems.append(f"<{case.tag}> inside <testsuite>")
                continue
            if case.tag != "testcase":
                continue
            counts[0] += 1
            if case.get("name") is None or case.get("classname") is None:
                problems.append("a <testcase> without name or classname")
            number(case, "time", False)
            kinds = [c.tag for c in case]
            for k in kinds:
                if k not in ("failure", "error", "skipped", "system-out", "system-err"):
                    problems.append(f"<{k}> inside <testcase>")
            if len([k for k in kinds if k in ("failure", "error", "skipped")]) > 1:
                problems.append("a <testcase> with more than one result")
            counts[1] += kinds.count("failure")
            counts[2] += kinds.count("error")
            for c in case:
                if c.tag in ("failure", "error") and c.get("message") is None:
                    problems.append(f"<{c.tag}> without a message")
        for i, attr in enumerate(("tests", "failures", "errors")):
            got = number(suite, attr, True)
            if got != counts[i]:
                problems.append(f"suite {suite.get('name')!r}: {attr}={got}, counted {counts[i]}")
            totals[i] += counts[i]
        number(suite, "time", False)
    for i, attr in enumerate(("tests", "failures", "errors")):
        if root.get(attr) is not None and number(root, attr, True) != totals[i]:
            problems.append(f"<testsuites {attr}={root.get(attr)}>, counted {totals[i]}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool")
    opts = ap.parse_args()
    tool = simtool.find_tool(opts.tool)
    t = simtool.Tally("ci")
    tmp = tempfile.mkdtemp(prefix=f"runcue-ci-{os.getpid()}-")
    try:
        check_expectations(tool, t)
        check_errors(tool, t, tmp)
        check_golden(tool, t, tmp)
        check_junit(tool, t, tmp)
        check_batch(tool, t, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


def check_expectations(tool, t):
    for args, expr, holds in CASES:
        # A scenario that stalls: say so, or the default "no stall" breaks too.
        extra = []
        if (args[1] in (CYCLE, MISSING) or args == PIPE_ERR) and "stall" not in expr:
            extra = ["--expect", "stall"]
        r = run(tool, args + ["--expect", expr] + extra)
        lines = broken_lines(r)
        if holds:
            ok = r.status == 0 and not lines and re.search(r"runcue-sim: \d+ expectations held", r.stderr)
        else:
            m = BROKEN_RE.match(lines[0]) if len(lines) == 1 else None
            ok = r.status == 4 and m and m.group(1) == f"--expect: {expr}"
        t.check(bool(ok) and not r.sanitizer,
                f"'{expr}' {'holds' if holds else 'is broken (exit 4, one line)'}: {' '.join(args[:2])}",
                f"command: {r.command()}\nexit {r.status}\nstderr: {r.stderr[-800:]}")

    # Several broken: one line each, in order, with expected and actual.
    exprs = ["completed == 5", "no stall", "duration < 1", "service api peak_in_flight > 1"]
    r = run(tool, DIAMOND_ARGS + expect_args(exprs))
    lines = broken_lines(r)
    want = [e for e in exprs if e != "no stall"]
    t.check(r.status == 4 and [BROKEN_RE.match(x).group(1) for x in lines if BROKEN_RE.match(x)]
            == [f"--expect: {e}" for e in want]
            and "expected == 5, got 4" in lines[0] and "expected < 1s, got 1.23921s" in lines[1],
            "three broken of four: three lines, in order, expected and actual values",
            f"stderr: {r.stderr}")

    # Default: violations == 0 and no stall once any expectation is given.
    r = run(tool, ["--scenario-file", CYCLE, "--seed", "1", "--expect", "completed == 6"])
    t.check(r.status == 4 and any("default: no stall: expected no stall, got a stall at t=" in x
                                  and "(cycle A -> B)" in x for x in broken_lines(r)),
            "an unexpected stall breaks the default 'no stall' (exit 4, the cycle named)",
            f"exit {r.status}\nstderr: {r.stderr[-600:]}")
    r = run(tool, ["--scenario-file", CYCLE, "--seed", "1"])
    t.check(r.status == 3, "without expectations a stall still exits 3", f"exit {r.status}")

    # The file's section and --expect together; the file's first seed is
    # used when --seed is not given.
    doc = diamond_with({"seeds": [1, 2], "checks": ["completed == 4", "label combine starts after fetch_b completes"]})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
        path = f.name
    try:
        r = run(tool, ["--scenario-file", path, "--expect", "failed == 0"])
        t.check(r.status == 0 and "Summary (seed 1)" in r.stdout and "5 expectations held" in r.stderr
                and "replay with" not in r.stderr,
                "a file's expect section and --expect are checked together, with the file's first seed",
                f"exit {r.status}\nstdout: {r.stdout[:200]}\nstderr: {r.stderr}")
    finally:
        os.unlink(path)


def check_errors(tool, t, tmp):
    for args, part in ERRORS:
        r = run(tool, args, log=True)
        lines = r.stderr.splitlines()
        t.check(r.status == 2 and len(lines) == 1 and part in lines[0] and not r.stdout
                and not r.log,
                f"{args[-1][:40]!r}: exit 2 before running, one line with {part!r}",
                f"command: {r.command()}\nexit {r.status}\nstdout {r.stdout[:200]!r}\nstderr: {r.stderr!r}")
    for section, part in FILE_ERRORS:
        path = os.path.join(tmp, "bad.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(diamond_with(section), f)
        r = run(tool, ["--scenario-file", path, "--seed", "1"])
        lines = r.stderr.splitlines()
        t.check(r.status == 2 and len(lines) == 1 and part in lines[0] and path in lines[0],
                f"file section {json.dumps(section)[:50]}: exit 2 with {part!r}",
                f"exit {r.status}\nstderr: {r.stderr!r}")


def check_golden(tool, t, tmp):
    golden = os.path.join(tmp, "pipeline.jsonl")
    base = ["--scenario", "pipeline", "-n", "10", "--seed", "1"]
    r = run(tool, base + ["--golden", golden], report=True)
    t.check(r.status == 2 and "--update-golden" in r.stderr and len(r.stderr.splitlines()) == 1,
            "--golden with no recording: exit 2, says how to record one", f"exit {r.status}\n{r.stderr}")
    r = run(tool, base + ["--golden", golden, "--update-golden"], log=True)
    with open(golden, "rb") as f:
        recorded = f.read()
    t.check(r.status == 0 and recorded == r.log and recorded.count(b"\n") > 50,
            "--update-golden writes the run's JSON Lines log (the same bytes as --log)",
            f"exit {r.status}\n{r.stderr}")
    r = run(tool, base + ["--golden", golden], report=True)
    t.check(r.status == 0 and not r.stderr, "--golden on the same run: exit 0, silent",
            f"exit {r.status}\n{r.stderr}")
    r = run(tool, base + ["-e", "0.1", "--golden", golden], report=True)
    err = r.stderr
    ok = (r.status == 5 and "the run differs at line 78 (t=0.191638)" in err
          and re.search(r'  expected: \{"t":0\.191638,"event":"completed".*"work_id":"14"', err)
          and re.search(r'  found:    \{"t":0\.191638,"event":"failed".*"work_id":"14"', err)
          and re.search(r"^          77  \{", err, re.M) and re.search(r"^  -       78  \{", err, re.M)
          and re.search(r"^  \+       78  \{", err, re.M)
          and "from line 78 on: 13 events expected, 11 found; by kind (expected -> found): "
              "completed 9 -> 5, started 4 -> 2, failed 0 -> 2, stalled 0 -> 1, diagnosis 0 -> 1"
              in err)
    t.check(bool(ok), "--golden on a diverging run: exit 5, first difference with context, time "
            "and the divergence by kind", f"exit {r.status}\n{err[-2500:]}")
    # A recording that ends early, and one with hostile bytes.
    with open(golden, "wb") as f:
        f.write(recorded[:recorded.index(b"\n", 200) + 1] + b'{"t":9,"event":"\x01bad\xff","x":1}\n')
    r = run(tool, base + ["--golden", golden], report=True)
    t.check(r.status == 5 and "the run differs at line" in r.stderr and "\x01" not in r.stderr
            and "(other)" in r.stderr,
            "--golden against a cut, hostile recording: exit 5, control characters not echoed",
            f"exit {r.status}\n{r.stderr[-1500:]!r}")
    # An endless recording is read up to the limit, then refused in words.
    r = run(tool, base + ["--golden", "/dev/zero"], report=True)
    t.check(r.status == 1 and "the recording goes on past 268435456 bytes" in r.stderr
            and len(r.stderr.splitlines()) == 1,
            "--golden on an endless input (/dev/zero): exit 1, one line naming the limit",
            f"exit {r.status}\n{r.stderr[-1500:]!r}")
    r = run(tool, base + ["--update-golden"])
    t.check(r.status == 2 and "--update-golden" in r.stderr, "--update-golden without --golden: exit 2",
            f"exit {r.status}\n{r.stderr}")


HOSTILE = "<tag & \"quoted\" ]]> \u00e9\u4e2d"


def check_junit(tool, t, tmp):
    xml_path = os.path.join(tmp, "single.xml")
    # A label with markup characters and non-ASCII, named by expectations.
    doc = diamond_with([f"label '{HOSTILE}' completes before t=5", "completed == 9"])
    doc["work"][3]["label"] = HOSTILE
    path = os.path.join(tmp, "hostile.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    r = run(tool, ["--scenario-file", path, "--seed", "1", "--junit", xml_path,
                   "--golden", os.path.join(tmp, "pipeline.jsonl")])
    with open(xml_path, "rb") as f:
        data = f.read()
    problems = validate_junit(data)
    root = ET.fromstring(data) if not problems else None
    cases = root.findall("./testsuite/testcase") if root is not None else []
    names = [c.get("name") for c in cases]
    failures = {c.get("name"): c.find("failure") for c in cases}
    ok = (r.status == 4 and not problems
          and names == [f"label '{HOSTILE}' completes before t=5", "completed == 9", "no stall",
                        "violations == 0", "golden event log"]
          and failures["completed == 9"] is not None
          and "expected == 9, got 4" in failures["completed == 9"].get("message")
          and failures["golden event log"] is not None
          and "the run differs at line 1" in failures["golden event log"].text
          and failures[names[0]] is None)
    t.check(bool(ok), "--junit: valid JUnit, one case per expectation (defaults and --golden too), "
            "hostile label escaped", f"exit {r.status}\nproblems {problems}\nnames {names}\n"
            f"{data[:1500].decode('utf-8', 'replace')}")
    # --junit alone checks the defaults.
    r = run(tool, ["--scenario-file", CYCLE, "--seed", "1", "--junit", xml_path])
    with open(xml_path, "rb") as f:
        data = f.read()
    problems = validate_junit(data)
    t.check(r.status == 4 and not problems and b'failures="1"' in data and b"no stall" in data,
            "--junit without expectations: the defaults are the test cases",
            f"exit {r.status}\n{problems}\n{data[:800]!r}")
    # The validator itself catches a document that lies about its counts.
    bad = data.replace(b'failures="1"', b'failures="0"', 1)
    t.check(validate_junit(bad) != [] and validate_junit(b"<testsuites><x/></testsuites>") != [],
            "the JUnit validator rejects wrong counts and unknown elements")


def per_file(stdout):
    """--check's output: {file: [its line, the lines under it]}, in order."""
    out = {}
    current = None
    for line in stdout.splitlines():
        if re.match(r"^(PASS|FAIL|ERROR) ", line):
            current = line.split()[1]
            out[current] = [line]
        elif current and line.startswith(" "):
            out[current].append(line)
    return out


def tmp_path(tmp, name):
    return os.path.join(tmp, os.path.basename(name))


def check_batch(tool, t, tmp):
    xml1 = os.path.join(tmp, "batch1.xml")
    xml2 = os.path.join(tmp, "batch2.xml")
    r1 = run(tool, ["--check", EXAMPLES, "--junit", xml1])
    lines = r1.stdout.splitlines()
    files = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".json"))
    heads = [x for x in lines if re.match(r"^(PASS|FAIL|ERROR) ", x)]
    t.check(r1.status == 4 and len(heads) == len(files) and len(files) >= 3
            and [h.split()[1] for h in heads] == [os.path.join(EXAMPLES, f) for f in files]
            and sum(h.startswith("FAIL") for h in heads) == 1
            and lines[-1] == f"{len(files)} files: {len(files) - 1} passed, 1 failed, 0 could not run",
            "--check examples/ci: one line per file in name order, one fails on purpose, exit 4",
            f"exit {r1.status}\n{r1.stdout}\n{r1.stderr}")
    with open(xml1, "rb") as f:
        data1 = f.read()
    problems = validate_junit(data1)
    root = ET.fromstring(data1) if not problems else None
    t.check(not problems and root is not None and len(root.findall("testsuite")) == len(files),
            "--check --junit: one valid document, one suite per file", f"{problems}")

    # The same results whatever the order: files given in reverse, again.
    paths = [os.path.join(EXAMPLES, f) for f in files]
    r2 = run(tool, ["--check"] + paths[::-1] + ["--junit", xml2])
    per_file1, per_file2 = per_file(r1.stdout), per_file(r2.stdout)
    r3 = run(tool, ["--check", EXAMPLES, "--junit", xml2])
    with open(xml2, "rb") as f:
        data3 = f.read()
    t.check(per_file1 == per_file2 and list(per_file2) == paths[::-1] and r2.status == r1.status
            and r3.stdout == r1.stdout and data3 == data1,
            "--check: the same results per file in any order, and the same bytes twice",
            simtool.diff_head(r1.stdout, r2.stdout, "sorted", "reversed"))

    # A file that cannot load is an error line, exit 2, and a JUnit error.
    bad_dir = os.path.join(tmp, "bad")
    os.mkdir(bad_dir)
    shutil.copy(DIAMOND, os.path.join(bad_dir, "a_good.json"))
    with open(os.path.join(bad_dir, "b_bad.json"), "w", encoding="utf-8") as f:
        json.dump(diamond_with(["service nope completed == 1"]), f)
    r = run(tool, ["--check", bad_dir, "--seed", "4", "--junit", xml2])
    with open(xml2, "rb") as f:
        data = f.read()
    t.check(r.status == 2 and re.search(r"^PASS  .*a_good\.json \(seed 4\): 2 expectations held$", r.stdout, re.M)
            and re.search(r"^ERROR .*b_bad\.json: expect\[0\]: 'service nope completed == 1': unknown service 'nope'",
                          r.stdout, re.M)
            and not validate_junit(data) and b'errors="1"' in data,
            "--check with a broken file: ERROR line, exit 2, a JUnit error; --seed applies to all",
            f"exit {r.status}\n{r.stdout}\n{r.stderr}")
    r = run(tool, ["--check"])
    t.check(r.status == 2 and "--check" in r.stderr, "--check without paths: exit 2")
    r = run(tool, ["--check", EXAMPLES, "--expect", "no stall"])
    t.check(r.status == 2 and "--check" in r.stderr, "--check with --expect: exit 2")
    # An option --check would ignore is refused, as in a single run.
    for extra, named in [(["-n", "5"], "--count"), (["--scenario", "pipeline"], "--scenario"),
                         (["--update-golden"], "--update-golden"), (["--format", "jsonl"], "--format"),
                         (["--speed", "3"], "--speed"), (["--slots", "3"], "--slots"),
                         (["--faults", "crash:agent1@1s"], "--faults")]:
        r = run(tool, ["--check", EXAMPLES] + extra)
        t.check(r.status == 2 and not r.stdout and len(r.stderr.splitlines()) == 1
                and f"--check: cannot be combined with {named}" in r.stderr,
                f"--check with {' '.join(extra)}: exit 2 before running, naming {named}",
                f"exit {r.status}\nstdout: {r.stdout[:200]}\nstderr: {r.stderr}")

    # The README example runs as shown.
    with open(README, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- ci-example: (.+?) -->\n```\n\$ (.+?)\n(.*?)```", text, re.S)
    if t.check(m is not None, "README has the CI example with its output"):
        cmd = m.group(2).split()
        # build/tools/runcue-sim in the README is the tool under test; its
        # --junit FILE goes to the scratch directory.
        cmd = [tmp_path(tmp, a) if i and cmd[i - 1] == "--junit" else a
               for i, a in enumerate(cmd)]
        cwd = os.getcwd()
        os.chdir(simtool.SRC_ROOT)
        try:
            r = run(tool, cmd[1:])
        finally:
            os.chdir(cwd)
        shown = m.group(3)
        status = int(m.group(1).split("exit ")[1])
        t.check(r.stdout == shown and r.status == status,
                f"README example: '{m.group(2)}' prints what the README shows, exit {status}",
                f"exit {r.status}\n" + simtool.diff_head(shown, r.stdout, "README", "run"))


if __name__ == "__main__":
    sys.exit(main())
