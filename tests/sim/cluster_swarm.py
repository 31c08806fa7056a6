#!/usr/bin/env python3
"""cluster_swarm.py -- many cluster runs (runcue-sim --cluster) with shapes,
limits, fault schedules and seeds drawn from a fixed master seed, each
checked against the invariants that must hold whatever the faults:

  * every item applied exactly once: applied + failed == items, nothing
    lost, nothing applied twice (runcue-sim also checks these itself and
    exits 1 with "invariant:" lines);
  * no limit violations (rate and concurrency, counted by the fake services
    across every scheduler and agent at the engine's clock), unless an
    engine restart lost writes;
  * exit status 0, no sanitizer report;
  * the same arguments twice give byte-identical log and report;
  * the JSON Lines log has the keys t, event, task, service, work_id, detail
    in order and t never goes down;
  * the log agrees with the report: one "applied" per applied item, one
    "stale_finish" per refused stale finish.

Run i draws its options from random.Random("<master>:<i>").  On a failure
the runcue-sim command and the line that replays the run are printed.

    cluster_swarm.py [--tool PATH] [--runs N] [--master-seed S] [--only I,...]

A long run: cluster_swarm.py --runs 5000 --master-seed $RANDOM
"""
import argparse
import json
import random
import shlex
import sys
import time

sys.dont_write_bytecode = True
import simtool  # noqa: E402

MASTER_SEED = 20261126


def fmt(x):
    return f"{x:.3g}"


def draw_faults(rnd, k, m, horizon):
    faults = []
    last_engine = -1.0
    for _ in range(rnd.choice([0, 1, 2, 3, 4, 6])):
        kind = rnd.choice(["crash", "crash", "pause", "partition", "partition", "engine-restart"])
        t = round(rnd.uniform(0.05, horizon), 2)
        d = round(rnd.choice([0.3, 1, 2.5, 4, rnd.uniform(0.1, 6)]), 2)
        if kind == "engine-restart":
            loss = round(rnd.choice([0, 0.5, 1, 2]), 2)
            if t - loss <= last_engine:
                continue
            last_engine = t + d
            faults.append(f"engine-restart@{t}s+{d}s:loss={loss}s")
            continue
        sched = kind != "pause" and rnd.random() < 0.35
        target = f"sched{rnd.randint(1, k)}" if sched else f"agent{rnd.randint(1, m)}"
        if kind == "crash" and not sched and target != "agent1" and rnd.random() < 0.4:
            faults.append(f"crash:{target}@{t}s")  # for good (agent1 always comes back)
        else:
            faults.append(f"{kind}:{target}@{t}s+{d}s")
    return faults


def draw_options(master, i):
    rnd = random.Random(f"{master}:{i}")
    k, m = rnd.randint(1, 3), rnd.randint(1, 6)
    args = ["--cluster", f"{k}:{m}", "-n", str(rnd.randint(1, 80))]
    args += ["--slots", str(rnd.randint(1, 4))]
    args += ["-c", str(rnd.randint(1, 8))]
    if rnd.random() < 0.5:
        args += ["-r", f"{rnd.randint(1, 20)}/{rnd.choice(['1', '0.5', '2'])}"]
    args += ["-l", fmt(rnd.choice([1, 20, 100, 300, rnd.uniform(1, 1500)]))]
    args += ["-j", fmt(rnd.choice([0, 0.2, 0.5]))]
    if rnd.random() < 0.3:
        args += ["-e", fmt(rnd.choice([0.05, 0.2]))]
    args += ["--lease", fmt(rnd.choice([0.5, 1, 2, 3]))]
    if rnd.random() < 0.3:
        args += ["--link-latency", fmt(rnd.choice([0, 0.2, 5, 30]))]
    faults = draw_faults(rnd, k, m, rnd.choice([2, 5, 10]))
    if faults:
        args += ["--faults", ",".join(faults)]
    args += ["--seed", str(rnd.choice([rnd.randrange(1000), rnd.randrange(2**64)]))]
    return args


def check_run(tool, args):
    problems = []
    a = simtool.run(tool, args, log=True, report=True)
    b = simtool.run(tool, args, log=True, report=True)
    if a.sanitizer:
        return [f"sanitizer report (exit {a.status}):\n{a.sanitizer}"]
    if a.status != 0:
        problems.append(f"exit {a.status}; stderr:\n{a.stderr[:1200]}")
    for what, x, y in (("log", a.log, b.log), ("report", a.stdout, b.stdout),
                       ("stderr", a.stderr, b.stderr)):
        if x != y:
            problems.append(f"the {what} differs between two runs with the same arguments")
    try:
        rep = json.loads(a.stdout)
    except ValueError:
        return problems + [f"the report is not JSON: {a.stdout[:300]!r}"]
    if rep["applied"] + rep["failed"] != rep["items"]:
        problems.append(f"applied {rep['applied']} + failed {rep['failed']} != items {rep['items']}")
    for key in ("lost", "applied_twice"):
        if rep[key]:
            problems.append(f"{key} = {rep[key]}")
    v = rep["violations"]
    if (v["rate"] or v["concurrency"]) and not rep["engine"]["lost_writes"]:
        problems.append(f"limit violations {v} without lost engine writes")
    for s in rep["services"]:
        if s["concurrent"] >= 0 and s["peak_leased"] > s["concurrent"] and not rep["engine"]["lost_writes"]:
            problems.append(f"service {s['name']}: peak {s['peak_leased']} > {s['concurrent']}")
    records, shape = simtool.check_log_shape(a.log)
    problems += shape
    events = [dict(r)["event"] for r in records]
    if events.count("applied") != rep["applied"]:
        problems.append(f"{events.count('applied')} 'applied' records, report says {rep['applied']}")
    if events.count("stale_finish") != rep["stale_finishes"]:
        problems.append(f"{events.count('stale_finish')} 'stale_finish' records, "
                        f"report says {rep['stale_finishes']}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--master-seed", type=int, default=MASTER_SEED)
    ap.add_argument("--only", help="comma-separated run numbers")
    opts = ap.parse_args()
    tool = simtool.find_tool(opts.tool)
    probe = simtool.run(tool, ["--cluster", "1:1", "-n", "1", "--seed", "1"])
    if "no cluster simulation" in probe.stderr:
        print("cluster_swarm: this runcue-sim has no cluster simulation: skipped")
        return 77
    runs = [int(x) for x in opts.only.split(",")] if opts.only else range(opts.runs)
    tally = simtool.Tally("cluster_swarm")
    t0 = time.monotonic()
    for i in runs:
        args = draw_options(opts.master_seed, i)
        problems = check_run(tool, args)
        if problems:
            simtool.swarm_fail(tally, __file__, tool, opts.master_seed, i, args, problems)
        else:
            tally.ok(f"run {i}: {shlex.join(args)}")
    print(f"{len(runs)} cluster runs (each twice) in {time.monotonic() - t0:.1f}s, "
          f"master seed {opts.master_seed}")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
