#!/usr/bin/env python3
"""files.py -- runcue-example-files as a user runs it: a bad option exits 2
with one line naming it; a first run makes every output and says they are up
to date, a second skips everything; when every job fails, the retry lines
count time from the start like every other line, and the last line says the
outputs are not up to date (exit 1).

Needs RUNCUE_EXAMPLE_FILES (set by meson).
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

T = simtool.Tally("example_files")
check = T.check
EXE = os.environ["RUNCUE_EXAMPLE_FILES"]

# Answers every task with a retryable error.
FAILING_WORKER = """#!/usr/bin/env python3
import json, sys
print(json.dumps({"status": "ready"}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    print(json.dumps({"task_id": req["task_id"], "error": "refused", "retry": True}), flush=True)
"""


def run(*args):
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60)


def main():
    tmp = tempfile.mkdtemp(prefix="runcue-example-files-")
    try:
        for args, names in ((["-r", "bad", tmp], "--rate"), (["--bogus", tmp], "--bogus"),
                            ([], "INPUT_DIR"), ([tmp, tmp], "one INPUT_DIR")):
            r = run(*args)
            lines = r.stderr.splitlines()
            check(r.returncode == 2 and len(lines) == 1 and names in lines[0] and not r.stdout,
                  f"{' '.join(args) or '(no arguments)'}: exit 2, one line naming {names}",
                  f"exit {r.returncode}\nstdout {r.stdout!r}\nstderr {r.stderr!r}")

        docs = os.path.join(tmp, "docs")
        run("--demo", docs)
        r = run("-q", docs)
        last = r.stdout.rstrip("\n").splitlines()[-1:]
        check(r.returncode == 0 and last and last[0].endswith("outputs are up to date"),
              "a first run makes every output and says so", r.stdout + r.stderr)
        r = run("-q", docs)
        last = r.stdout.rstrip("\n").splitlines()[-1:]
        check(r.returncode == 0 and last and last[0].endswith("nothing to do: all outputs fresh"),
              "a second run skips everything", r.stdout + r.stderr)

        worker = os.path.join(tmp, "failing_worker.py")
        with open(worker, "w") as f:
            f.write(FAILING_WORKER)
        os.chmod(worker, 0o755)
        fresh = os.path.join(tmp, "fresh")
        run("--demo", fresh)
        r = run("--upper-worker", worker, fresh)
        out = r.stdout.splitlines()
        retries = [x for x in out if "retrying" in x]
        stamps = [float(m.group(1)) for x in out for m in [re.match(r"^\[\s*([\d.]+)s\]", x)] if m]
        ok_times = True
        for x in retries:
            m = re.search(r"^\[\s*([\d.]+)s\].*attempt (\d) at \[([\d.]+)s\], in ([\d.]+)s$", x)
            ok_times = ok_times and m is not None and abs(
                float(m.group(3)) - float(m.group(1)) - float(m.group(4))) < 0.002
        check(retries and ok_times and "at t=" not in r.stdout and max(stamps) < 30,
              "retries: the next attempt on the program's own clock, like every other line",
              "\n".join(retries[:4]))
        check(r.returncode == 1 and out and "16 failed" in out[-1]
              and "up to date" not in out[-1] and "out of date" in out[-1],
              "every job failed: the last line says so, exit 1",
              f"exit {r.returncode}\n" + "\n".join(out[-3:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
