#!/usr/bin/env python3
"""differential.py -- the engine emulation against a real redis-server.

Every engine call a simulated cluster run makes is recorded (runcue-sim
--record-engine FILE) and replayed by engine_replay against a redis-server it
starts (unix socket, temp dir, killed by pid), which compares every reply.
The recordings:

  * the golden cluster cases (fixtures/golden/cases.txt);
  * --random N cluster runs with random shapes, limits, faults and seeds
    (drawn as cluster_swarm.py draws them, from another master seed);
  * hand-written calls with bad arguments and edge cases, and N random call
    sequences (bad values, unknown ids, stale tokens), run on the emulation
    by engine_calls.

runcue_snapshot is left out of the random calls: it reads TIME directly, so
on a replayed clock its "now" differs by design.

Skips (exit 77) when redis-server is not on PATH.  On a difference the
command that recorded the run and the first differing reply are printed.

    differential.py [--tool PATH] [--random N] [--master-seed S]
"""
import argparse
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
import simtool  # noqa: E402
import cluster_swarm  # noqa: E402

LIB = os.path.join(simtool.SRC_ROOT, "transports", "redis", "runcue.lua")
NS = "rc:{sim}"

EDGE_CALLS = f"""
# the functions' argument checks and error replies
@1000
FCALL runcue_version 0
FCALL runcue_register 1 {NS} api 10 1000000 3 2000000 5
FCALL runcue_register 1 {NS} api 10 1000000 3 2000000 5
FCALL runcue_register 1 {NS} api 11 1000000 3 2000000 5
FCALL runcue_register 1 {NS} bad -1 1000000 3 2000000 5
FCALL runcue_register 1 {NS} bad 5 0 3 2000000 5
FCALL runcue_register 1 {NS} bad x 0 3 2000000 5
FCALL runcue_register 1 rc:nobraces api 10 1000000 3 2000000 5
FCALL runcue_enqueue 1 {NS} nosuch owner "" 0.5 work p
FCALL runcue_enqueue 1 {NS} api "" "" 0.5 work p
FCALL runcue_enqueue 1 {NS} api owner d1 7 work p
FCALL runcue_enqueue 1 {NS} api owner d1 0.5 work p1 a1
FCALL runcue_enqueue 1 {NS} api owner d1 0.5 work p1
FCALL runcue_enqueue 1 {NS} api owner2 d2 0 work p2
FCALL runcue_enqueue 1 {NS} api owner3 "" 1 work p3
FCALL runcue_enqueue_many 1 {NS} 0
FCALL runcue_enqueue_many 1 {NS} 2 api owner d5 0.5 work p5 ""
FCALL runcue_enqueue_many 1 {NS} 3 api owner d1 0.5 work p1 "" nosuch owner "" 0.5 work p "" api owner4 d6 0.5 work p6 k6
@2000
FCALL runcue_claim 1 {NS} ag1 0 api
FCALL runcue_claim 1 {NS} ag1 2
FCALL runcue_claim 1 {NS} ag1 2 nosuch
FCALL runcue_claim 1 {NS} ag1 2 api
FCALL runcue_claim 1 {NS} ag2 5 api
FCALL runcue_claim_for 1 {NS} ag2 5 nosuchtask api
FCALL runcue_claim_for 1 {NS} ag2 5 work api
FCALL runcue_claim_for 1 {NS} ag2 1 "" api
FCALL runcue_claim_for 1 {NS} ag2 1 work
FCALL runcue_extend 1 {NS} ag1 1 1
FCALL runcue_extend 1 {NS} ag1 1 999
FCALL runcue_extend 1 {NS} ag1 3 2 progress
FCALL runcue_extend 1 {NS} ag1 3 2 "half way" 0.5
FCALL runcue_extend 1 {NS} ag1 3 2 "too far" 1.5
FCALL runcue_extend 1 {NS} ag1 3 2 "" x
FCALL runcue_finish 1 {NS} ag1 1 1 1 maybe r "" 0
FCALL runcue_finish 1 {NS} ag1 1 1 999 ok r "" 0
FCALL runcue_finish 1 {NS} ag1 2 1 1 ok r1 "" 1 k1 3 2 ok r3 "" 0
FCALL runcue_finish 1 {NS} ag1 1 1 1 ok again "" 0
FCALL runcue_enqueue 1 {NS} api owner d1 0.5 work p1
@5000000
FCALL runcue_claim 1 {NS} ag2 5 api
FCALL runcue_reclaim 1 {NS} api 10
FCALL runcue_reclaim 1 {NS} api 0
FCALL runcue_reclaim 1 {NS} nosuch 1
FCALL runcue_cancel 1 {NS} 2
FCALL runcue_cancel 1 {NS} 2
FCALL runcue_cancel 1 {NS} 99
FCALL runcue_nosuch 1 {NS}
FCALL runcue_claim x {NS}
FCALL runcue_claim 5 {NS}
XRANGE {NS}:res:owner - +
XRANGE {NS}:res:owner - + COUNT 1
XRANGE {NS}:res:nobody - + COUNT 5
HGETALL {NS}:stats
ZRANGE {NS}:ready:api 0 -1 WITHSCORES
LRANGE {NS}:ring:api 0 -1
HGETALL {NS}:job:1
FCALL runcue_job 1 {NS} 1
FCALL runcue_job 1 {NS} 2
FCALL runcue_job 1 {NS} 999
FCALL runcue_job 1 {NS} ""
GET {NS}:seq
ZRANGE {NS}:agents 0 -1 WITHSCORES
# an hour and more later: ag1 and ag2 are forgotten at ag3's claim
@3606000000
FCALL runcue_claim 1 {NS} ag3 1 api
ZRANGE {NS}:agents 0 -1 WITHSCORES
"""


def random_calls(rnd, n=300):
    """A random sequence: mostly plausible calls, some with bad values."""
    lines = ["@1000"]
    t = 1000
    svcs = ["a", "b", "c"]
    num = lambda: rnd.choice(["0", "1", "2", "3", "10", "-1", "x", "1e3", "0.5", "65"])
    for _ in range(n):
        t += rnd.choice([0, 1, 500, 200000, 1000000, 3000000])
        lines.append(f"@{t}")
        s = rnd.choice(svcs)
        op = rnd.randrange(10)
        if op == 0:
            rn = rnd.choice(["0", "2", "5", num()])
            lines.append(f"FCALL runcue_register 1 {NS} {s} {rn} {rnd.choice(['1000000', '500000', num()])} "
                         f"{rnd.choice(['-1', '1', '3', num()])} {rnd.choice(['2000000', '1000', num()])} "
                         f"{rnd.choice(['1', '3', num()])}")
        elif op <= 2:
            dd = rnd.choice(['""', f"d{rnd.randrange(8)}"])
            lines.append(f"FCALL runcue_enqueue 1 {NS} {s} o{rnd.randrange(2)} {dd} "
                         f"{rnd.choice(['0', '0.5', '1', num()])} "
                         f"{rnd.choice(['work', 'work', 'other'])} p{rnd.randrange(100)}")
        elif op == 3:
            items = []
            for _ in range(rnd.randint(1, 3)):
                dd = rnd.choice(['""', f"d{rnd.randrange(8)}"])
                items.append(f"{rnd.choice(svcs)} o{rnd.randrange(2)} {dd} "
                             f"{rnd.choice(['0', '0.5', num()])} work p{rnd.randrange(100)} \"\"")
            lines.append(f"FCALL runcue_enqueue_many 1 {NS} {len(items)} " + " ".join(items))
        elif op <= 5:
            k = rnd.choice(["1", "2", "4", num()])
            names = " ".join(rnd.sample(svcs, rnd.randint(1, 3)))
            if rnd.random() < 0.5:
                lines.append(f"FCALL runcue_claim 1 {NS} ag{rnd.randrange(3)} {k} {names}")
            else:
                tasks = rnd.choice(["work", "other", '""'])
                lines.append(f"FCALL runcue_claim_for 1 {NS} ag{rnd.randrange(3)} {k} {tasks} "
                             f"{names}")
        elif op == 6:
            lines.append(f"FCALL runcue_extend 1 {NS} ag{rnd.randrange(3)} {rnd.randint(1, 12)} "
                         f"{rnd.randint(1, 12)}")
        elif op == 7:
            st = rnd.choice(["ok", "ok", "fail", "retry", "bogus"])
            lines.append(f"FCALL runcue_finish 1 {NS} ag{rnd.randrange(3)} 1 {rnd.randint(1, 12)} "
                         f"{rnd.randint(1, 12)} {st} r \"\" {rnd.choice(['0', '1 k'])}")
        elif op == 8:
            lines.append(rnd.choice([f"FCALL runcue_reclaim 1 {NS} {s} {num()}",
                                     f"FCALL runcue_cancel 1 {NS} {rnd.randint(1, 12)}"]))
        else:
            lines.append(rnd.choice([f"XRANGE {NS}:res:o{rnd.randrange(2)} - + COUNT 3",
                                     f"HGETALL {NS}:job:{rnd.randint(1, 12)}",
                                     f"ZRANGE {NS}:leased:{s} 0 -1 WITHSCORES",
                                     f"LRANGE {NS}:ring:{s} 0 -1",
                                     f"HGETALL {NS}:stats"]))
    return "\n".join(lines) + "\n"


def golden_cluster_cases():
    path = os.path.join(simtool.SRC_ROOT, "fixtures", "golden", "cases.txt")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "|" not in line:
                continue
            name, args = (p.strip() for p in line.split("|", 1))
            argv = shlex.split(args)
            if "--cluster" in argv or ("--scenario" in argv and
                                       argv[argv.index("--scenario") + 1] == "cluster"):
                out.append((name, argv))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool")
    ap.add_argument("--random", type=int, default=20)
    ap.add_argument("--master-seed", type=int, default=7)
    opts = ap.parse_args()
    replay, calls = os.environ.get("ENGINE_REPLAY"), os.environ.get("ENGINE_CALLS")
    if not replay or not calls:
        sys.exit("differential.py: set ENGINE_REPLAY and ENGINE_CALLS (meson test does)")
    if not shutil.which("redis-server"):
        print("differential: no redis-server on PATH: skipped")
        return 77
    tool = simtool.find_tool(opts.tool)
    tally = simtool.Tally("differential")
    with tempfile.TemporaryDirectory(prefix="runcue-differential-") as tmp:
        records = []
        runs = golden_cluster_cases()
        runs += [(f"random{i}", cluster_swarm.draw_options(opts.master_seed, i))
                 for i in range(opts.random)]
        for name, argv in runs:
            path = os.path.join(tmp, f"{name}.jsonl")
            r = simtool.run(tool, argv + ["--record-engine", path])
            if r.status not in (0, 3) or r.sanitizer:
                tally.fail(f"{name}: runcue-sim exit {r.status}", r.stderr[:800])
                continue
            records.append((name, path, shlex.join([tool] + argv + ["--record-engine", "F"])))
        seqs = [("edge_calls", EDGE_CALLS)]
        rnd = random.Random(opts.master_seed)
        seqs += [(f"calls{i}", random_calls(rnd)) for i in range(max(1, opts.random // 2))]
        for name, text in seqs:
            path = os.path.join(tmp, f"{name}.jsonl")
            with open(path, "wb") as out:
                p = subprocess.run([calls, LIB], input=text.encode(), stdout=out,
                                   stderr=subprocess.PIPE)
            if p.returncode != 0:
                tally.fail(f"{name}: engine_calls exit {p.returncode}", p.stderr.decode()[:800])
                continue
            records.append((name, path, f"{calls} {LIB} < ({name})"))
        for name, path, how in records:
            p = subprocess.run([replay, LIB, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode == 77:
                print("differential: engine_replay skipped")
                return 77
            out = (p.stdout + p.stderr).decode("utf-8", "replace").strip()
            tally.check(p.returncode == 0, f"{name}: {out.splitlines()[-1] if out else ''}",
                        f"{out[-1500:]}\nrecorded by: {how}")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
