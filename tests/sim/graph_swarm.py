#!/usr/bin/env python3
"""graph_swarm.py -- runcue-sim on random dependency graphs: a stall is
reported if and only if the graph has no way forward, and the diagnosis
names exactly what is wrong.

Each run writes a scenario file: items that each produce their own key and
need keys of other items (any direction, so cycles happen), now and then a
key nothing produces, an item whose task always fails (sometimes after
retries), and an item that is delayed and cancelled before it can start.  A
model of the graph (a fixpoint: an item finishes once everything it needs is
produced by items that finish) says which items can never run.  The run must:

  * exit 3 with "stalled":true exactly when some item can never run;
  * list exactly those items as blocked (n_blocked = pending);
  * name as missing exactly the keys they need that nothing produces;
  * name as roots exactly the failed or cancelled producers of keys they need;
  * report as cycles exactly the strongly connected components of the
    waiting items (members, as sets).

    graph_swarm.py [--tool PATH] [--runs N] [--master-seed S] [--only I]
"""
import argparse
import json
import os
import random
import sys
import tempfile

sys.dont_write_bytecode = True
import simtool  # noqa: E402


def make_graph(rng):
    """A random scenario: (document, items).  items[i] = dict(task, needs,
    key, fails, cancelled)."""
    n = rng.randint(2, 24)
    p_edge = rng.choice([0.02, 0.08, 0.15, 0.3])
    items = []
    for i in range(n):
        needs = [f"k{j}" for j in range(n) if j != i and rng.random() < p_edge]
        if rng.random() < 0.08:
            needs.append(f"nowhere/{rng.randint(0, 2)}")
        if rng.random() < 0.03:
            needs.append(f"k{i}")  # needs its own output: a cycle of one
        rng.shuffle(needs)
        r = rng.random()
        task = "bad" if r < 0.08 else "flaky" if r < 0.12 else "ok"
        items.append({"task": task, "needs": needs, "key": f"k{i}",
                      "fails": task != "ok", "cancelled": rng.random() < 0.06})
    work = []
    for i, it in enumerate(items):
        w = {"task": it["task"], "label": f"item{i}", "needs": it["needs"],
             "produces": [it["key"]]}
        if it["cancelled"]:
            w["delay_s"] = 5
        work.append(w)
    doc = {
        "name": "graph",
        "tasks": [
            {"name": "ok", "latency_ms": 10, "jitter": 0, "outliers": 0, "error_rate": 0},
            {"name": "bad", "latency_ms": 10, "jitter": 0, "outliers": 0, "error_rate": 1},
            {"name": "flaky", "latency_ms": 10, "jitter": 0, "outliers": 0, "error_rate": 1,
             "retry": {"attempts": 3, "backoff_s": 0.1}},
        ],
        "work": work,
    }
    cancels = [{"at": 1, "cancel": f"item{i}"} for i, it in enumerate(items) if it["cancelled"]]
    if cancels:
        doc["actions"] = cancels
    return doc, items


def model(items):
    """What the graph allows: (pending, missing, roots, cycles), ids from 1."""
    producer = {it["key"]: i for i, it in enumerate(items)}
    done, failed = set(), set()
    cancelled = {i for i, it in enumerate(items) if it["cancelled"]}
    changed = True
    while changed:
        changed = False
        for i, it in enumerate(items):
            if i in done or i in failed or i in cancelled:
                continue
            if all(k in producer and producer[k] in done for k in it["needs"]):
                (failed if it["fails"] else done).add(i)
                changed = True
    pending = {i for i in range(len(items))} - done - failed - cancelled
    missing, roots = set(), set()
    edges = {i: set() for i in pending}
    for i in pending:
        for k in items[i]["needs"]:
            if k not in producer:
                missing.add(k)
            elif producer[k] in failed or producer[k] in cancelled:
                roots.add(producer[k] + 1)
            elif producer[k] in pending:
                edges[i].add(producer[k])
    return ({i + 1 for i in pending}, missing, roots,
            {frozenset(m + 1 for m in c) for c in sccs(edges)})


def sccs(edges):
    """Strongly connected components with a cycle (size > 1 or a self-loop)."""
    def reach(v):
        seen, todo = set(), [v]
        while todo:
            for w in edges[todo.pop()]:
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen
    r = {v: reach(v) for v in edges}
    out = set()
    for v in edges:
        if v in r[v]:
            out.add(frozenset(w for w in r[v] if v in r[w]))
    return out


def check(tool, index, master):
    rng = random.Random(master * 1000003 + index)
    doc, items = make_graph(rng)
    pending, missing, roots, cycles = model(items)
    problems = []
    with tempfile.TemporaryDirectory(prefix="runcue-graph-") as tmp:
        path = os.path.join(tmp, "graph.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        r = simtool.run(tool, ["--scenario-file", path, "--seed", "1"], report=True)
        saved = json.dumps(doc)
    try:
        rep = json.loads(r.stdout)
    except ValueError:
        return [f"no JSON report (exit {r.status}): {r.stderr[:400]}"], saved, []
    stalled = bool(pending)
    if (r.status == 3) != stalled or rep.get("stalled") is not stalled:
        problems.append(f"exit {r.status}, stalled {rep.get('stalled')}, but the graph "
                        f"{'has no way forward' if stalled else 'can finish'} "
                        f"(pending forever: {sorted(pending)})")
    d = rep.get("diagnosis")
    if stalled and isinstance(d, dict):
        blocked = {b["id"] for b in d["blocked"]}
        if blocked != pending or d["n_blocked"] != rep.get("pending"):
            problems.append(f"blocked {sorted(blocked)}, expected {sorted(pending)}")
        got_missing = {m["key"] for m in d["missing"]}
        if got_missing != missing:
            problems.append(f"missing {sorted(got_missing)}, expected {sorted(missing)}")
        got_roots = {x["id"] for x in d["roots"]}
        if got_roots != roots:
            problems.append(f"roots {sorted(got_roots)}, expected {sorted(roots)}")
        for x in d["roots"]:
            want = "cancelled" if items[x["id"] - 1]["cancelled"] else "failed"
            if x["state"] != want or x["task"] != items[x["id"] - 1]["task"]:
                problems.append(f"root {x} should be a {want} {items[x['id'] - 1]['task']}")
        got_cycles = {frozenset(c["members"]) for c in d["cycles"]}
        if got_cycles != cycles:
            problems.append(f"cycles {sorted(map(sorted, got_cycles))}, "
                            f"expected {sorted(map(sorted, cycles))}")
        if not (got_missing or got_roots or got_cycles or d["held"]):
            problems.append("stalled, yet no cause is named")
    elif stalled:
        problems.append(f"stalled, but the diagnosis is {d!r}")
    elif d is not None:
        problems.append(f"not stalled, but a diagnosis: {json.dumps(d)[:200]}")
    kinds = [k for k, there in (("missing", missing), ("roots", roots), ("cycles", cycles)) if there]
    return problems, saved, kinds if stalled else ["finishes"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--master-seed", type=int, default=20240612)
    ap.add_argument("--only", type=int)
    opts = ap.parse_args()
    tool = simtool.find_tool(opts.tool)
    t = simtool.Tally("graph_swarm")
    runs = [opts.only] if opts.only is not None else range(opts.runs)
    seen = {}
    for i in runs:
        problems, doc, kinds = check(tool, i, opts.master_seed)
        for k in kinds:
            seen[k] = seen.get(k, 0) + 1
        replay = (f"replay: {sys.executable} {os.path.abspath(__file__)} --tool {tool} "
                  f"--master-seed {opts.master_seed} --only {i}")
        if problems:
            t.fail(f"graph {i}", "\n".join(problems + [f"scenario: {doc[:3000]}", replay]))
        else:
            t.ok(f"graph {i}")
    print(f"{len(runs)} random graphs (master seed {opts.master_seed}): " +
          ", ".join(f"{k} {v}" for k, v in sorted(seen.items())))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
