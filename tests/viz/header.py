#!/usr/bin/env python3
"""header.py -- the live views' header is the command that reproduces the
run: for runs with many options, a scenario file (under a path that needs
quoting) and a drawn seed, the title runcue-top --once reads from the
segment is run as a command, and its report must equal the watched run's,
byte for byte.

Needs RUNCUE_SIM and RUNCUE_TOP (set by meson).
"""
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))
import simtool  # noqa: E402

T = simtool.Tally("header")
SIM = os.path.abspath(os.environ["RUNCUE_SIM"])
TOP = os.path.abspath(os.environ["RUNCUE_TOP"])
FIXTURES = os.environ["RUNCUE_FIXTURES"]
SRC = os.path.dirname(FIXTURES)


LAST_TOP = []


def read_title(name, writer):
    """The title line of runcue-top --once NAME, read while the writer runs
    (the whole output is kept in LAST_TOP)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and writer.poll() is None:
        r = subprocess.run([TOP, "--once", "--wait", "2", name], capture_output=True, text=True,
                           timeout=30)
        lines = r.stdout.splitlines()
        if r.returncode == 0 and len(lines) > 1:
            LAST_TOP[:] = lines
            return lines[1]
        time.sleep(0.05)
    return None


def cluster_available():
    r = subprocess.run([SIM, "--list"], capture_output=True, text=True, timeout=30)
    return any(line.split()[:1] == ["cluster"] for line in r.stdout.splitlines())


def cluster_cases():
    """A cluster run under runcue-top: a row per service, scheduler and
    agent (its slots as the limit), and a header that replays it."""
    title = case("cluster with faults",
                 ["--cluster", "2:3", "-n", "120", "-c", "4", "-l", "200", "--slots", "2",
                  "--faults", "crash:agent2@1s,partition:sched1@2s+1s", "--seed", "4"], 4)
    T.check(title == "runcue-sim --scenario cluster -n 120 -l 200 -c 4 --cluster 2:3 "
            "--faults crash:agent2@1s,partition:sched1@2s+1s --slots 2 --seed 4",
            "cluster: the header names the shape, the faults and the slots", repr(title))
    rows = {line.split()[1]: line for line in LAST_TOP if line.startswith("service ")}
    T.check(set(rows) == {"api", "sched1", "sched2", "agent1", "agent2", "agent3"},
            "cluster: runcue-top shows the service, the schedulers and the agents",
            "\n".join(LAST_TOP))
    T.check(all(f"/2 " in rows.get(a, "") for a in ("agent1", "agent2", "agent3"))
            and "/4 " in rows.get("api", ""),
            "cluster: an agent's limit is its slots, the service's its own",
            "\n".join(LAST_TOP))


def case(what, args, speed, report_json=False, cwd=None):
    name = f"header-{os.getpid()}-{len(T.__dict__)}-{T.passed + T.failed}"
    extra = ["--report", "json"] if report_json else []
    env = simtool.tool_env()
    watched = subprocess.Popen([SIM, *args, *extra, "--realtime", "--speed", str(speed),
                                "--shm", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=cwd)
    try:
        title = read_title(name, watched)
        out, err = watched.communicate(timeout=120)
    finally:
        if watched.poll() is None:
            watched.kill()
            watched.wait()
    if not T.check(title and title.startswith("runcue-sim "), f"{what}: the header is a command",
                   f"title {title!r}\nstderr {err[:300]!r}"):
        return
    argv = shlex.split(title)
    again = subprocess.run([SIM, *argv[1:], *extra], capture_output=True, text=True, env=env,
                           cwd=cwd, timeout=120)
    T.check(again.returncode == watched.returncode and again.stdout == out and out,
            f"{what}: '{title}' gives the same report, byte for byte",
            f"watched: {shlex.join(args)} -> exit {watched.returncode}\n"
            f"header:  {title} -> exit {again.returncode}\n"
            + simtool.diff_head(out, again.stdout, "watched", "header") + again.stderr[:300])
    return title


def main():
    title = case("fanout with errors", ["--scenario", "fanout", "-n", "40", "-e", "0.05",
                                        "--seed", "1"], 4)
    T.check(title == "runcue-sim --scenario fanout -n 40 -e 0.05 --seed 1",
            "options at their defaults are left out, the rest in canonical order", repr(title))
    case("every option, drawn seed",
         ["--scenario", "pipeline", "-n", "30", "--latency", "150.5",
          "-j", "0.35", "--outliers", "0.1", "--outlier-mult", "7", "--error-rate", "0.1",
          "-c", "3", "-r", "60/min", "-s", "200", "-d", "50", "--timeout", "2"], 10)
    case("JSON report", ["--scenario", "dynamic", "-n", "12", "--seed", "3", "-r", "20/0.5"],
         4, report_json=True)
    if cluster_available():
        cluster_cases()
    tmp = tempfile.mkdtemp(prefix="runcue-header-")
    try:
        # A scenario file under a path with a space and a quote, run from
        # another directory: the header quotes it for the shell.
        sub = os.path.join(tmp, "it's a dir")
        os.mkdir(sub)
        shutil.copy(os.path.join(FIXTURES, "deadlock", "cycle.json"), sub)
        title = case("scenario file (stalls)",
                     ["--scenario-file", "it's a dir/cycle.json", "--timeout", "3",
                      "--seed", "2"], 3, cwd=tmp)
        T.check(title and "--scenario " not in title and " -n " not in title,
                "a scenario file's header has no --scenario and no -n", repr(title))
        case("built-in diamond file", ["--scenario-file",
                                       os.path.join(SRC, "scenarios", "examples", "diamond.json"),
                                       "-l", "80", "--seed", "5"], 2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
