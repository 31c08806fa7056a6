#!/usr/bin/env python3
"""swarm.py -- many runcue-sim runs with option sets drawn from a fixed
master seed, each checked against the simulator's invariants:

  * no limit violations, in total and per service;
  * submitted == completed + failed + skipped + cancelled + pending + running;
  * per service: peak_in_flight <= concurrent (when there is a limit), and
    the services' completions add up to the report's;
  * exit status 0 or 3, and 3 exactly when the report says "stalled":true;
    "cut" (--duration reached) only with -d, and not with a stall (unless
    --timeout let the run go on after one); no sanitizer report on stderr;
  * the same arguments twice give byte-identical log, report and stderr;
  * every JSON Lines record parses, has the keys t, event, task, service,
    work_id, detail in that order, and t never goes down;
  * the log agrees with the report: one "queued" per submitted work, one
    "completed" per completed work;
  * the report names the scenario and the seed that were asked for;
  * a run with -d D that ends before D gives the same log and report as
    without -d;
  * throughput: in runs where a rate limit is the only bottleneck (enough
    work, short fixed latency, concurrency no lower than the rate's count),
    the run takes as long as the limit demands and no longer -- N starts at
    K per W seconds end at floor((N-1)/K)*W plus one latency, within
    THROUGHPUT_TOLERANCE.  A limiter stricter than declared fails here.

Checks that hit a bug listed in KNOWN_ISSUES are printed as known issues and
do not fail the test.

Run i draws its options from random.Random("<master>:<i>"), so a run does not
depend on how many others there are.  On a failure the run's number and the
runcue-sim command line are printed:

    swarm.py [--tool PATH] [--runs N] [--throughput-runs N] [--master-seed S]
             [--only I[,I...]]
"""
import argparse
import json
import random
import shlex
import sys
import time

sys.dont_write_bytecode = True
import simtool  # noqa: E402

MASTER_SEED = 20240611
SCENARIOS = ["single_queue", "pipeline", "fanout", "dynamic"]


def fmt(x):
    return f"{x:.4g}"


def draw_options(master, i):
    """The runcue-sim arguments of run i."""
    rnd = random.Random(f"{master}:{i}")
    scenario = SCENARIOS[rnd.randrange(len(SCENARIOS))]
    args = ["--scenario", scenario, "-n", str(rnd.randint(1, 40))]
    args += ["-l", fmt(rnd.choice([0, 1, 5, 20, 100, 100, 250, rnd.uniform(0.5, 500)]))]
    args += ["-j", fmt(rnd.choice([0, 0.2, 1, rnd.random()]))]
    if rnd.random() < 0.5:
        args += ["--outliers", fmt(rnd.choice([0.05, 0.3, rnd.random() * 0.5]))]
        if rnd.random() < 0.5:
            args += ["--outlier-mult", fmt(rnd.uniform(1, 20))]
    if rnd.random() < 0.6:
        args += ["-e", fmt(rnd.choice([0.05, 0.1, rnd.random() * 0.4, 1]))]
    args += ["-c", str(rnd.randint(1, 8))]
    if rnd.random() < 0.35:
        n = rnd.randint(1, 20)
        window = rnd.choice(["1", "0.5", "2", "10", "min"])
        args += ["-r", f"{n}/{window}"]
    if rnd.random() < 0.25:
        args += ["-s", fmt(rnd.choice([1, 10, 100, rnd.uniform(0.5, 500)]))]
    if rnd.random() < 0.15:
        args += ["-d", fmt(rnd.choice([rnd.uniform(0.05, 5), rnd.uniform(5, 100)]))]
    if rnd.random() < 0.1:
        args += ["--timeout", fmt(rnd.choice([0.5, 2, 30]))]
    seed = rnd.choice([rnd.randrange(1000), rnd.randrange(2**32), rnd.randrange(2**64)])
    args += ["--seed", str(seed)]
    return args


THROUGHPUT_TOLERANCE = 0.02  # relative; virtual time is exact, this is slack


def draw_throughput_options(master, i):
    """The runcue-sim arguments of throughput run i: a rate limit of K per W
    seconds is the only thing holding the work back."""
    rnd = random.Random(f"{master}:throughput:{i}")
    k = rnd.randint(1, 12)
    window = rnd.choice(["1", "0.5", "2", "10"])
    n = k * rnd.randint(4, 20) + rnd.randint(1, k)
    latency = rnd.choice([0, 1, 5, 20])  # ms, well inside any window
    return ["--scenario", "single_queue", "-n", str(n), "-l", str(latency), "-j", "0",
            "-c", str(k + rnd.randint(0, 3)), "-r", f"{k}/{window}",
            "--seed", str(rnd.randrange(2**32))]


def check_throughput(args, rep):
    """Problems with how fast a rate-limited run moved (list of strings)."""
    n = int(opt(args, "-n"))
    k, window = opt(args, "-r").split("/")
    k, window = int(k), float(window)
    latency = float(opt(args, "-l")) / 1000
    ideal = (n - 1) // k * window + latency
    took = rep.get("duration_s")
    if rep.get("completed") != n or not isinstance(took, (int, float)):
        return [f"completed {rep.get('completed')} of {n} (duration {took})"]
    if took > ideal * (1 + THROUGHPUT_TOLERANCE) + 1e-6:
        limit = k / window
        got = (n - 1) / max(took - latency, 1e-9)
        return [f"throughput: {n} starts at a limit of {k} per {window:g}s should end by "
                f"t={ideal:.3f}s, took {took:.3f}s ({got:.3f} starts/s against {limit:.3f})"]
    return []


def opt(args, name):
    return args[args.index(name) + 1] if name in args else None


def without(args, name):
    """args without the option name and its value."""
    i = args.index(name)
    return args[:i] + args[i + 2:]


# Engine bugs this test knows about (found by it).  A check that hits one prints it as "known" and does not
# fail the run; when the bug is fixed, delete its entry (then the check fails
# again if the bug comes back), and regenerate the golden files it touched.
# Bugs found by this swarm and not yet fixed: name -> description.  Empty:
# every finding fails the run.
KNOWN_ISSUES = {}


class Findings:
    def __init__(self):
        self.problems = []
        self.known = set()
        self.report = None  # the run's JSON report, once parsed

    def add(self, msg, known=None):
        if known is not None and known in KNOWN_ISSUES:
            self.known.add(known)
        else:
            self.problems.append(msg)


def check_run(tool, args):
    """Check one set of arguments.  Returns (Findings, outcome)."""
    f = Findings()
    a = simtool.run(tool, args, log=True, report=True)
    b = simtool.run(tool, args, log=True, report=True)
    if a.sanitizer:
        f.add(f"sanitizer report (exit {a.status}):\n{a.sanitizer}")
        return f, "error"
    if a.log is None:
        f.add(f"no log written (exit {a.status}); stderr:\n{a.stderr[:800]}")
        return f, "error"
    for what, x, y in (("log", a.log, b.log), ("report", a.stdout, b.stdout),
                       ("stderr", a.stderr, b.stderr)):
        if x != y:
            f.add(f"the second run's {what} differs from the first's:\n" +
                  simtool.diff_head(x, y or b"", "first run", "second run").rstrip("\n"))
    if a.status != b.status:
        f.add(f"exit status {a.status}, then {b.status}")
    try:
        rep = json.loads(a.stdout)
    except ValueError:
        f.add(f"stdout is not a JSON report (exit {a.status}):\n"
              f"{a.stdout[:500]}\nstderr:\n{a.stderr[:800]}")
        return f, "error"
    f.report = rep

    # Exit status and outcome.
    stalled, cut = rep.get("stalled"), rep.get("cut")
    if a.status not in (0, 3):
        f.add(f"exit status {a.status}; stderr:\n{a.stderr[:800]}")
    if (a.status == 3) != (stalled is True):
        f.add(f"exit status {a.status} but \"stalled\":{json.dumps(stalled)}")
    if stalled and not a.stderr.strip():
        f.add("stalled, but no stall report on stderr")
    if not stalled and a.stderr:
        f.add(f"not stalled, yet stderr says:\n{a.stderr[:500]}")
    if cut and "-d" not in args:
        f.add("\"cut\":true without -d")
    if cut and stalled and "--timeout" not in args:
        # With --timeout a stall fails the pending work and the run goes on,
        # so it may still reach --duration; without, a stall ends the run.
        f.add("both cut and stalled")
    if cut and not (rep.get("pending") or rep.get("running")) and "-s" not in args:
        f.add("cut, but nothing was pending or running",
              "timeout-cut-nothing-left" if "--timeout" in args else None)
    if rep.get("scenario") != opt(args, "--scenario"):
        f.add(f"scenario {rep.get('scenario')!r}, asked for {opt(args, '--scenario')!r}")
    if str(rep.get("seed")) != opt(args, "--seed"):
        f.add(f"seed {rep.get('seed')!r}, asked for {opt(args, '--seed')}")

    # Limits and counts.
    if rep.get("violations") != 0:
        f.add(f"violations {rep.get('violations')}")
    parts = ["completed", "failed", "skipped", "cancelled", "pending", "running"]
    if any(not isinstance(rep.get(k), int) for k in ["submitted"] + parts):
        f.add("a count is missing from the report")
    elif rep["submitted"] != sum(rep[k] for k in parts):
        f.add("submitted {} != {} ({})".format(
            rep["submitted"], sum(rep[k] for k in parts),
            " + ".join(f"{k} {rep[k]}" for k in parts)))
    services = rep.get("services") or []
    if not services:
        f.add("no services in the report")
    for svc in services:
        name = svc.get("name")
        if svc.get("violations") != 0:
            f.add(f"service {name}: violations {svc.get('violations')}")
        conc = svc.get("concurrent")
        if conc is not None and svc.get("peak_in_flight", 0) > conc:
            f.add(f"service {name}: peak_in_flight {svc.get('peak_in_flight')} > "
                  f"concurrent {conc}")
    if services and sum(s.get("completed", 0) for s in services) != rep.get("completed"):
        f.add(f"services completed {sum(s.get('completed', 0) for s in services)}, "
              f"report completed {rep.get('completed')}")
    if services and sum(s.get("failed", 0) for s in services) != rep.get("failed"):
        f.add(f"services failed {sum(s.get('failed', 0) for s in services)}, "
              f"report failed {rep.get('failed')}")

    # The diagnosis: there exactly when stalled; its items add up.
    diag = rep.get("diagnosis")
    if bool(stalled) != isinstance(diag, dict):
        f.add(f"\"stalled\":{json.dumps(stalled)} but \"diagnosis\" is {json.dumps(diag)[:80]}")
    elif diag:
        timed = diag.get("stall_timeout_at") is not None
        if timed != ("--timeout" in args):
            f.add(f"stall_timeout_at {diag.get('stall_timeout_at')} with args {args}")
        if not timed and diag.get("n_blocked") != rep.get("pending"):
            f.add(f"diagnosis n_blocked {diag.get('n_blocked')}, pending {rep.get('pending')}")
        if timed and (diag.get("n_blocked") != 0 or
                      diag.get("n_failed_by_stall_timeout", 0) > rep.get("failed", 0)):
            f.add("with --timeout, items listed as blocked or more timed out than failed")
        # An exact stall has a cause; the stall timeout may also fire on work
        # that is merely slow (queued behind a long run), which has none.
        if not timed and not (diag.get("n_cycles") or diag.get("n_missing") or
                              diag.get("n_roots") or diag.get("n_held")):
            f.add("stalled, yet the diagnosis names no cause")

    # The log: its shape, and that it agrees with the report.
    records, shape = simtool.check_log_shape(a.log)
    for p in shape:
        f.add(p)
    if not shape:
        n_queued = sum(1 for r in records if r["event"] == "queued")
        n_completed = sum(1 for r in records if r["event"] == "completed")
        if n_queued != rep.get("submitted"):
            f.add(f"{n_queued} queued events, {rep.get('submitted')} submitted")
        if n_completed != rep.get("completed"):
            f.add(f"{n_completed} completed events, {rep.get('completed')} completed")
        if records and isinstance(rep.get("duration_s"), (int, float)) and not cut:
            if abs(records[-1]["t"] - rep["duration_s"]) > 1e-6:
                f.add(f"last event at t={records[-1]['t']}, duration_s {rep['duration_s']}")
        for n, r in enumerate(records, 1):
            if r["work_id"] is None and r["task"] is not None:
                f.add(f"line {n}: a cue-wide {r['event']!r} record has task {r['task']!r}",
                      "cue-wide-task-dash")
                break
        # The stall timeout fails everything pending, so a second stall needs
        # new work in between (a submit rate keeps it coming): a 'queued'
        # record after the previous 'stalled' one.
        stalls, late, queued_since = 0, [], True
        for r in records:
            if r["event"] == "queued":
                queued_since = True
            elif r["event"] == "stalled":
                if stalls and not queued_since:
                    late.append(r)
                stalls, queued_since = stalls + 1, False
        if "--timeout" in args and late:
            f.add(f"{stalls} 'stalled' events, with no new work before: " +
                  "; ".join(f"t={r['t']} {r['detail']}" for r in late),
                  "timeout-late-stalled-event")

    # A run that ends before -d D must not notice D: the same log and report
    # as without -d.
    if "-d" in args and not cut:
        c = simtool.run(tool, without(args, "-d"), log=True, report=True)
        if c.log != a.log or c.stdout != a.stdout:
            what = "log" if c.log != a.log else "report"
            f.add(f"finished before -d {opt(args, '-d')}, yet its {what} differs from the "
                  f"run without -d:\n" +
                  simtool.diff_head(c.log if what == "log" else c.stdout,
                                    a.log if what == "log" else a.stdout,
                                    "without -d", "with -d").rstrip("\n"),
                  "duration-moves-stall" if stalled else None)
    return f, "stalled" if stalled else "cut" if cut else "done"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool")
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--throughput-runs", type=int, default=20)
    ap.add_argument("--master-seed", type=int, default=MASTER_SEED)
    ap.add_argument("--only", help="comma-separated run numbers")
    opts = ap.parse_args()
    tool = simtool.find_tool(opts.tool)
    runs = range(opts.runs)
    if opts.only:
        runs = [int(x) for x in opts.only.split(",")]

    tally = simtool.Tally("swarm")
    t0 = time.monotonic()
    outcomes = {}
    known = {}
    for i in runs:
        args = draw_options(opts.master_seed, i)
        found, outcome = check_run(tool, args)
        problems = found.problems
        for k in found.known:
            known[k] = known.get(k, []) + [i]
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        cmd = shlex.join([tool] + args + ["--log", "LOG.jsonl", "--format", "jsonl",
                                          "--report", "json"])
        if problems:
            tally.fail(f"run {i} (master seed {opts.master_seed})",
                       "\n".join(problems) + f"\ncommand: {cmd}\nreplay:  " +
                       shlex.join([sys.executable, __file__, "--tool", tool,
                                   "--master-seed", str(opts.master_seed), "--only", str(i)]))
        else:
            tally.ok(f"run {i}: {shlex.join(args)}")
    for i in range(0 if opts.only else opts.throughput_runs):
        args = draw_throughput_options(opts.master_seed, i)
        found, outcome = check_run(tool, args)
        problems = found.problems
        if not problems:
            problems = check_throughput(args, found.report)
        if problems:
            tally.fail(f"throughput run {i} (master seed {opts.master_seed})",
                       "\n".join(problems) + f"\ncommand: {shlex.join([tool] + args)}")
        else:
            tally.ok(f"throughput run {i}: {shlex.join(args)}")
    print(f"{len(runs)} runs (each twice) in {time.monotonic() - t0:.1f}s, "
          f"master seed {opts.master_seed}; outcomes: " +
          ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    for k, where in sorted(known.items()):
        print(f"known issue '{k}' (not failing): {KNOWN_ISSUES[k]}; runs "
              f"{', '.join(map(str, where[:10]))}{' ...' if len(where) > 10 else ''}")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
