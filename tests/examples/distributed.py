#!/usr/bin/env python3
"""distributed.py -- examples/distributed/run.sh as a user runs it: a private
redis-server, two runcue-agent processes and the scheduler over the file
pipeline. The first run makes every output, through the agents, and keeps
the counting stage's limit of 10 starts per second; the second
skips everything; runcue-dist shows both agents; nothing is left running.
Without the scheduler binary's --redis option a bad value exits 2.

Needs BUILD_DIR and RUN_SH (set by meson); skips (77) without redis-server.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))
import simtool  # noqa: E402  (Tally: the checks, counted like the C suites)

T = simtool.Tally("example_distributed")
check = T.check


def main():
    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        print("redis-server is not installed: skipped")
        return 77
    build, run_sh = os.environ["BUILD_DIR"], os.environ["RUN_SH"]
    exe = os.path.join(build, "examples", "distributed", "runcue-example-distributed")
    tmp = tempfile.mkdtemp(prefix="runcue-example-distributed-")
    try:
        r = subprocess.run([exe, "--redis"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "--redis" in r.stderr,
              "--redis without a URL: exit 2, one line", r.stderr)
        docs = os.path.join(tmp, "docs")
        r = subprocess.run([run_sh, build, docs], capture_output=True, text=True, timeout=120)
        out = r.stdout
        check(r.returncode == 0, "run.sh exits 0", f"exit {r.returncode}\n{out}\n{r.stderr}")
        runs = out.split("16 input files")
        check(len(runs) == 3 and "outputs are up to date" in runs[1]
              and "redis: 32 enqueued" in runs[1] and "32 results" in runs[1],
              "the first run makes every output through the agents", out)
        check(len(runs) == 3 and "nothing to do: all outputs fresh" in runs[2],
              "the second run skips everything", out)
        counts = [f for f in os.listdir(os.path.join(docs, "out")) if f.endswith(".count.json")]
        check(len(counts) == 16, "16 count files written", str(counts))
        first = runs[1] if len(runs) > 1 else ""

        def times(what):
            return [float(m.group(1)) for m in re.finditer(
                r"^\[\s*([\d.]+)s\] count\s+\S+\s+" + what, first, re.M)]
        # The 11th count cannot start on an agent before 1 s after the first
        # did, which is after the scheduler sent it: 16 counts at 10 per
        # second end at least 1 s after the first was sent.
        sent, done = times("started"), times("done")
        check(len(sent) == 16 and len(done) == 16 and max(done) - min(sent) >= 1.0,
              "the counting stage's 10 per second holds across the agents",
              f"sent {sent}\ndone {done}")
        check("agent agent-upper: alive" in out and "agent agent-count: alive" in out,
              "runcue-dist status shows both agents", out[-800:])
        left = subprocess.run(["pgrep", "-f", "runcue-distributed\\."], capture_output=True,
                              text=True).stdout.split()
        check(not left, "the server and the agents are stopped", str(left))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
