#!/usr/bin/env python3
"""cli.py -- runcue-sim's command line: bad values exit 2 with one line on
stderr naming the option; --help, --version and --list-scenarios; a run
without --seed prints its seed and replays identically with it.

    cli.py [--tool PATH] [--version X.Y.Z]
"""
import argparse
import json
import os
import re
import stat
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
import simtool  # noqa: E402

# (arguments, what the one stderr line must name)
BAD = [
    (["--count", "-5"], "--count"),
    (["-n", "-5"], "--count"),
    (["--count", "abc"], "--count"),
    (["--count", "1e3"], "--count"),
    (["--count", "100000001"], "--count"),
    (["--error-rate", "1.5"], "--error-rate"),
    (["-e", "-0.1"], "--error-rate"),
    (["--error-rate", "nan"], "--error-rate"),
    (["--latency", "x"], "--latency"),
    (["--jitter", "2"], "--jitter"),
    (["--outliers", "1.01"], "--outliers"),
    (["--outlier-mult", "-1"], "--outlier-mult"),
    (["--latency", "1e9", "--outlier-mult", "1e6", "-n", "1"], "--latency"),
    (["-l", "1e7", "--outlier-mult", "1e6", "-n", "1"], "--latency"),
    (["-c", "0"], "--concurrent"),
    (["--concurrent", "-3"], "--concurrent"),
    (["-r", "20/0"], "--rate-limit"),
    (["--rate-limit", "0/1"], "--rate-limit"),
    (["--rate-limit", "abc"], "--rate-limit"),
    (["-s", "0"], "--submit-rate"),
    (["-d", "0"], "--duration"),
    (["--timeout", "0"], "--timeout"),
    (["--seed", "-1"], "--seed"),
    (["--seed", "18446744073709551616"], "--seed"),
    (["--scenario", "nope"], "--scenario"),
    (["--format", "xml", "--log", "LOG"], "--format"),
    (["--format", "jsonl"], "--format"),
    (["--report", "xml"], "--report"),
    (["--speed", "0"], "--speed"),
    (["--tui", "--no-tui"], "--tui"),
    (["--tui", "--sdl"], "--tui"),
    (["--tui", "-v"], "--tui"),
    (["--sdl", "--report", "json"], "--sdl"),
    (["--screenshot", "x.png"], "--screenshot"),
    (["--exit-at-end"], "--exit-at-end"),
    (["--shm"], "--shm"),
    (["--shm", "no/slash", "--seed", "1", "-n", "1"], "--shm"),
    (["--shm", "", "--seed", "1", "-n", "1"], "--shm"),
    (["--bogus"], "--bogus"),
    (["-x"], "-x"),
    (["--count"], "--count"),
    (["-n"], "-n"),
    (["--scenario"], "--scenario"),
    (["--seed"], "--seed"),
    (["stray"], "stray"),
    (["--log", "/nonexistent-dir/x/log.txt", "--seed", "1", "-n", "1"], "--log"),
    (["--scenario-file", "/nonexistent-dir/scenario.json", "--seed", "1"], "--scenario-file"),
    # Without --seed the drawn seed is said only once nothing can fail, so
    # an error is still one line.
    (["--scenario-file", "/nonexistent-dir/scenario.json"], "--scenario-file"),
    (["--log", "/nonexistent-dir/x/log.txt", "-n", "1"], "--log"),
    (["--shm", "no/slash", "-n", "1"], "--shm"),
    # Too large is out of range, not "not a whole number".
    (["-n", "99999999999999999999"], "out of range"),
    (["--seed", "99999999999999999999999"], "out of range"),
    # Options that would be ignored, or contradict each other.
    (["--speed", "3"], "--speed"),
    (["--scenario", "fanout", "--scenario-file", "x.json"], "--scenario"),
    (["-n", "5", "--scenario-file", "x.json"], "--count"),
    (["--outlier-mult", "0.5"], "--outlier-mult"),
    (["-v", "--report", "json"], "-v"),
    (["--report", "json", "-v"], "--report"),
    (["--format", "text"], "--format"),
    (["--format", "jsonl", "--report", "json"], "--format"),
]

# An unknown scenario name gets a suggestion.
SUGGEST = [
    (["--scenario", "fanot"], "did you mean 'fanout'?"),
    (["--scenario", "single-queue"], "did you mean 'single_queue'?"),
    (["--scenario", "zzz"], "--list-scenarios"),
]

# A flag given a value ("--list-scenarios=x") is named, with "does not take a
# value", never as getopt's internal code.
FLAGS_WITH_VALUES = [
    (["--list-scenarios=x"], "--list-scenarios"),
    (["--tui=1"], "--tui"),
    (["--realtime=1"], "--realtime"),
    (["--help=3"], "--help"),
]

SCENARIOS = ["single_queue", "pipeline", "fanout", "dynamic"]

# The cluster options (builds with the cluster simulation; listed as the
# scenario "cluster").
CLUSTER_BAD = [
    (["--cluster", "0:1"], "--cluster"),
    (["--cluster", "2"], "--cluster"),
    (["--cluster", "2:99"], "--cluster"),
    (["--cluster", "2:4", "--faults", "crash:agent9@1s"], "--faults"),
    (["--cluster", "2:4", "--faults", "pause:sched1@1s+1s"], "--faults"),
    (["--cluster", "2:4", "--faults", "pause:agent1@1s"], "--faults"),
    (["--cluster", "2:4", "--faults", "melt:agent1@1s"], "--faults"),
    (["--cluster", "2:4", "--faults", "crash:agent1@x"], "--faults"),
    (["--cluster", "2:4", "--faults", "engine-restart@5s:loss=x"], "--faults"),
    (["--cluster", "2:4", "--faults", "crash:agent1@1s,"], "--faults"),
    (["--faults", "crash:agent1@1s"], "--faults"),
    (["--slots", "2"], "--slots"),
    (["--cluster", "2:4", "--slots", "0"], "--slots"),
    (["--cluster", "2:4", "--junit", "cluster-junit.xml"], "--cluster"),
    (["--scenario", "pipeline", "--cluster", "2:4"], "--cluster"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool")
    ap.add_argument("--version", dest="expect_version",
                    default=os.environ.get("RUNCUE_VERSION"))
    opts = ap.parse_args()
    tool = simtool.find_tool(opts.tool)
    t = simtool.Tally("cli")

    for args, names in BAD:
        args = [a if a != "LOG" else os.devnull for a in args]
        r = simtool.run(tool, args, timeout=30)
        lines = [x.replace("(see --help)", "") for x in r.stderr.splitlines()]
        detail = (f"command: {r.command()}\nexit {r.status}\nstdout: {r.stdout[:300]!r}\n"
                  f"stderr: {r.stderr[:500]!r}")
        t.check(r.status == 2 and len(lines) == 1 and names in lines[0] and not r.stdout,
                f"{' '.join(args)}: exit 2, one stderr line naming {names}", detail)

    for args, words in SUGGEST:
        r = simtool.run(tool, args, timeout=30)
        lines = r.stderr.splitlines()
        t.check(r.status == 2 and len(lines) == 1 and words in lines[0],
                f"{' '.join(args)}: exit 2, one line saying {words}", r.stderr[:300])

    for args, names in FLAGS_WITH_VALUES:
        r = simtool.run(tool, args, timeout=30)
        lines = [x.replace("(see --help)", "") for x in r.stderr.splitlines()]
        t.check(r.status == 2 and len(lines) == 1 and names in lines[0] and lines[0].isprintable()
                and "does not take a value" in lines[0],
                f"{' '.join(args)}: exit 2, one stderr line naming {names}",
                f"command: {r.command()}\nexit {r.status}\nstderr: {r.stderr[:300]!r}")

    # --help / -h: usage on stdout, exit 0, every option documented.
    for flag in ("--help", "-h"):
        r = simtool.run(tool, [flag])
        missing = [o for o in ("--count", "--latency", "--jitter", "--outliers", "--outlier-mult",
                               "--error-rate", "--concurrent", "--rate-limit", "--submit-rate",
                               "--duration", "--timeout", "--seed", "--scenario",
                               "--scenario-file", "--list-scenarios", "--verbose", "--log",
                               "--format", "--report", "--help", "--version", "--tui",
                               "--no-tui", "--sdl", "--screenshot", "--shm", "--exit-at-end",
                               "--expect", "--golden", "--update-golden", "--junit", "--check")
                   if o not in r.stdout]
        t.check(r.status == 0 and r.stdout.startswith("usage: runcue-sim") and not missing
                and not r.stderr,
                f"{flag}: usage on stdout, exit 0",
                f"exit {r.status}; missing {missing}; stderr {r.stderr[:200]!r}")

    # --version / -V.
    for flag in ("--version", "-V"):
        r = simtool.run(tool, [flag])
        want = f"runcue-sim {opts.expect_version}\n" if opts.expect_version else None
        ok = r.status == 0 and re.fullmatch(r"runcue-sim \d+\.\d+\.\d+\S*\n", r.stdout)
        t.check(ok and (want is None or r.stdout == want) and not r.stderr,
                f"{flag}: prints the version, exit 0",
                f"exit {r.status}; stdout {r.stdout!r}; expected {want!r}")

    # --list-scenarios: the four, each with a description, in listing order.
    r = simtool.run(tool, ["--list-scenarios"])
    rows = [re.match(r"^(\S+)\s+(\S.*)$", line) for line in r.stdout.splitlines()]
    names = [m.group(1) for m in rows if m]
    have_cluster = names == SCENARIOS + ["cluster"]
    t.check(r.status == 0 and all(rows) and (names == SCENARIOS or have_cluster) and not r.stderr,
            "--list-scenarios: the four scenarios with descriptions",
            f"exit {r.status}; stdout:\n{r.stdout}")
    # ... and every one of them runs.
    for name in names:
        r = simtool.run(tool, ["--scenario", name, "-n", "3", "--seed", "5"], report=True)
        try:
            rep = json.loads(r.stdout)
        except ValueError:
            rep = {}
        t.check(r.status == 0 and rep.get("scenario") == name and rep.get("completed", 0) > 0,
                f"--scenario {name} runs", f"command: {r.command()}\nexit {r.status}\n"
                f"{r.stdout[:300]}{r.stderr[:300]}")

    for args, name in CLUSTER_BAD if have_cluster else []:
        r = simtool.run(tool, args, timeout=30)
        lines = [x.replace("(see --help)", "") for x in r.stderr.splitlines()]
        t.check(r.status == 2 and len(lines) == 1 and name in lines[0] and not r.stdout,
                f"{' '.join(args)}: exit 2, one stderr line naming {name}",
                f"command: {r.command()}\nexit {r.status}\nstderr: {r.stderr[:500]!r}")

    # A scenario file with a "cluster" section runs on the cluster.
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scenarios",
                           "examples", "cluster.json")
    if have_cluster:
        r = simtool.run(tool, ["--scenario-file", example, "--seed", "2", "--report", "json"],
                        timeout=60)
        try:
            rep = json.loads(r.stdout)
        except ValueError:
            rep = {}
        t.check(r.status == 0 and rep.get("applied") == 240 and rep.get("agents") == 4
                and rep.get("scenario") == example,
                "--scenario-file examples/cluster.json runs on the cluster",
                f"command: {r.command()}\nexit {r.status}\n{r.stdout[:300]}{r.stderr[:300]}")
        r = simtool.run(tool, ["--scenario-file", example, "--faults", "crash:agent1@1s"],
                        timeout=30)
        t.check(r.status == 2 and "--faults" in r.stderr and len(r.stderr.splitlines()) == 1,
                "a cluster file takes its faults from the file, not --faults",
                f"exit {r.status}\nstderr: {r.stderr[:300]!r}")

    # Without --seed: the seed is printed on stderr, and the run replays
    # identically with it (summary, text log and JSON log).
    base = ["--scenario", "pipeline", "-n", "8", "-e", "0.2"]
    r = simtool.run(tool, base, log=True)
    m = re.search(r"seed (\d+) \(replay with --seed (\d+)\)", r.stderr)
    if t.check(r.status in (0, 3) and m and m.group(1) == m.group(2),
               "without --seed: the seed is printed on stderr",
               f"command: {r.command()}\nexit {r.status}\nstderr: {r.stderr!r}"):
        seed = m.group(1)
        again = simtool.run(tool, base + ["--seed", seed], log=True)
        t.check(again.status == r.status and again.stdout == r.stdout and again.log == r.log
                and f"seed {seed}" in r.stdout and not again.stderr.startswith("runcue-sim: seed"),
                f"--seed {seed} replays the unseeded run",
                f"command: {again.command()}\n" +
                simtool.diff_head(r.stdout, again.stdout, "unseeded", "--seed") +
                (simtool.diff_head(r.log or b"", again.log or b"", "unseeded log", "--seed log")
                 if again.log != r.log else ""))
    # With --report json the seed is in the report instead.
    r = simtool.run(tool, base, log=True, report=True)
    try:
        seed = str(json.loads(r.stdout)["seed"])
    except (ValueError, KeyError):
        seed = None
    if t.check(seed is not None and r.status in (0, 3),
               "without --seed, --report json: the seed is in the report",
               f"command: {r.command()}\nexit {r.status}\n{r.stdout[:300]}"):
        again = simtool.run(tool, base + ["--seed", seed], log=True, report=True)
        t.check(again.stdout == r.stdout and again.log == r.log and again.status == r.status,
                f"--seed {seed} replays the unseeded --report json run",
                f"command: {again.command()}")

    # A run that writes no log reports what one that writes a log does: its
    # duration (the last event's time), stall and cut included.
    fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures")
    for extra in (["--scenario", "dynamic", "-n", "30", "-e", "0.2"],
                  ["--scenario", "pipeline", "-n", "40", "-d", "2"],
                  ["--scenario-file", os.path.join(fixtures, "deadlock", "cycle.json")],
                  ["--scenario-file", os.path.join(fixtures, "deadlock", "cancelled_producer.json"),
                   "--timeout", "2"]):
        args = extra + ["--seed", "5"]
        plain = simtool.run(tool, args, report=True)
        logged = simtool.run(tool, args, log=True, report=True)
        t.check(plain.stdout == logged.stdout and plain.status == logged.status
                and '"duration_s"' in plain.stdout,
                f"{extra[0]} {os.path.basename(extra[1])}: the same report without a log as "
                "with one",
                f"command: {plain.command()}\n" +
                simtool.diff_head(plain.stdout, logged.stdout, "no log", "with a log"))

    # The text log and -v: the same records as the JSON log, one line each.
    args = ["--scenario", "fanout", "-n", "3", "--seed", "3"]
    j = simtool.run(tool, args, log=True)
    v = simtool.run(tool, args + ["-v"])
    records, problems = simtool.check_log_shape(j.log or b"")
    vlines = v.stdout.splitlines()
    # header, rule, the records, rule, summary
    t.check(v.status == 0 and not problems and vlines[:1] and vlines[0].startswith("TIME")
            and len([x for x in vlines[2:] if re.match(r"^ +\d+\.\d{3}s  ", x)]) == len(records),
            "-v: one text line per JSON record",
            f"command: {v.command()}\n{len(records)} records; {problems[:3]}")

    # --realtime paces the same run: its summary is the plain run's.
    base = ["--scenario", "fanout", "-n", "20", "--seed", "1"]
    plain = simtool.run(tool, base)
    paced = simtool.run(tool, base + ["--realtime", "--speed", "50"], timeout=60)
    t.check(paced.status == 0 and plain.status == 0 and paced.stdout == plain.stdout
            and "completed 140" in paced.stdout,
            "--realtime --speed 50: the same summary as the plain run",
            f"plain {plain.stdout!r}\npaced {paced.stdout!r}\nstderr {paced.stderr[:300]!r}")

    # A log that cannot be written (a full disk) is an error, not a success:
    # exit 1 and one line naming --log, in plain and cluster runs.
    if os.path.exists("/dev/full"):
        runs = [["-n", "1"], ["-n", "3000"]] + ([["--cluster", "1:1", "-n", "3"]]
                                              if have_cluster else [])
        for args in runs:
            r = simtool.run(tool, [*args, "--seed", "1", "--log", "/dev/full"], timeout=60)
            lines = r.stderr.splitlines()
            t.check(r.status == 1 and len(lines) == 1 and "--log" in lines[0]
                    and "/dev/full" in lines[0],
                    f"{' '.join(args)} --log /dev/full: exit 1, one line naming --log",
                    f"command: {r.command()}\nexit {r.status}\nstderr {r.stderr[:300]!r}")

    # Output that cannot reach stdout (a full disk, a closed descriptor) is
    # an error: exit 1 and one line saying so, for a run and for --help.
    if os.path.exists("/dev/full"):
        for args in (["-n", "1", "--seed", "1"], ["-n", "1", "--seed", "1", "--report", "json"],
                     ["--help"]):
            with open("/dev/full", "wb") as full:
                p = subprocess.run([tool, *args], stdin=subprocess.DEVNULL, stdout=full,
                                   stderr=subprocess.PIPE, env=simtool.tool_env(), timeout=60)
            lines = p.stderr.decode("utf-8", "replace").splitlines()
            t.check(p.returncode == 1 and len(lines) == 1 and "stdout" in lines[0],
                    f"{' '.join(args)} > /dev/full: exit 1, one line naming stdout",
                    f"exit {p.returncode}\nstderr {p.stderr[:300]!r}")
    p = subprocess.run([tool, "-n", "1", "--seed", "1"], stdin=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=simtool.tool_env(), timeout=60,
                       preexec_fn=lambda: os.close(1))
    t.check(p.returncode == 1 and b"stdout" in p.stderr, "stdout closed: exit 1 naming stdout",
            f"exit {p.returncode}\nstderr {p.stderr[:300]!r}")

    # Started with stdout closed, the summary does not land in the --log
    # file (which would otherwise take descriptor 1): the log stays JSON Lines.
    with tempfile.TemporaryDirectory(prefix="runcue-sim-test-") as tmp:
        path = os.path.join(tmp, "log.jsonl")
        argv = [tool, "-n", "2", "--seed", "1", "--log", path, "--format", "jsonl"]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=simtool.tool_env(), timeout=60, preexec_fn=lambda: os.close(1))
        with open(path, "rb") as f:
            data = f.read()
        t.check(b"Summary" not in data and not simtool.check_log_shape(data)[1],
                "stdout closed: the --log file holds the log only",
                f"exit {p.returncode}\nlog {data[-300:]!r}\nstderr {p.stderr[:300]!r}")

    # --update-golden replaces a regular file only: a FIFO (or a device, as
    # root /dev/null itself) named by --golden is refused before the run and
    # is still there, as it was.
    with tempfile.TemporaryDirectory(prefix="runcue-sim-test-") as tmp:
        fifo = os.path.join(tmp, "golden.jsonl")
        os.mkfifo(fifo)
        r = simtool.run(tool, ["-n", "3", "--seed", "1", "--golden", fifo, "--update-golden"],
                        timeout=30)
        lines = r.stderr.splitlines()
        t.check(r.status == 2 and len(lines) == 1 and "not a regular file" in lines[0]
                and "Summary" not in r.stdout and stat.S_ISFIFO(os.stat(fifo).st_mode)
                and os.listdir(tmp) == ["golden.jsonl"],
                "--update-golden onto a FIFO: refused before the run, the FIFO left alone",
                f"exit {r.status}\nstderr {r.stderr[:300]!r}\n{os.listdir(tmp)}")

    # Allowed together: --format with -v (the log on stdout in that format),
    # --speed with --realtime.
    for args in (["--format", "jsonl", "-v"], ["--speed", "100", "--realtime"]):
        r = simtool.run(tool, ["-n", "3", "--seed", "1", *args], timeout=60)
        t.check(r.status == 0 and not r.stderr, f"{' '.join(args)}: accepted",
                f"exit {r.status}\n{r.stderr[:300]}")

    # No progress display when stderr is not a terminal: a run long enough
    # to draw one leaves stderr empty (the terminal case is in tests/viz).
    r = simtool.run(tool, ["--scenario", "single_queue", "-n", "200000", "--seed", "1",
                           "-c", "50"], timeout=120)
    t.check(r.status == 0 and r.stderr == "" and "completed 200000" in r.stdout,
            "stderr not a terminal: no progress line", f"stderr {r.stderr[:300]!r}")

    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
