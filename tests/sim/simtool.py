"""simtool.py -- what the runcue-sim tests share: finding the tool, running
it in a fixed environment, reading its JSON Lines log, and a closing tally.

The tool is found, in this order, from --tool PATH on the command line, the
RUNCUE_SIM environment variable (meson.build sets it, so the same tests run
against the plain and the sanitizer build), or build/tools/runcue-sim under
the source root (for running a test script by hand).

Python 3 standard library only.
"""
import difflib
import json
import os
import shlex
import subprocess
import sys
import tempfile

SRC_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# Keys of every JSON Lines record, in this order (libsim/eventlog.h); the
# "diagnosis" record after a stall has one more, an object.
LOG_KEYS = ["t", "event", "task", "service", "work_id", "detail"]
DIAGNOSIS_KEYS = LOG_KEYS + ["diagnosis"]


def find_tool(cli_value=None):
    tool = cli_value or os.environ.get("RUNCUE_SIM") or os.path.join(
        SRC_ROOT, "build", "tools", "runcue-sim")
    if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
        sys.exit(f"runcue-sim not found at '{tool}' (build it, or set RUNCUE_SIM / --tool)")
    return os.path.abspath(tool)


def tool_env(lang="C"):
    """The environment every run gets: a fixed locale (the stall report's
    symbol depends on it), nothing else changed.  Sanitizer options from the
    caller's environment pass through."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("LC_") or k == "LANG" or k == "LANGUAGE":
            del env[k]
    env["LC_ALL"] = lang
    return env


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ERROR: UndefinedBehaviorSanitizer")


def sanitizer_report(stderr, lines=14):
    """The head of a sanitizer report in stderr, or None."""
    text = stderr.splitlines()
    for i, line in enumerate(text):
        if any(m in line for m in SANITIZER_MARKS):
            head = text[i:i + lines]
            return "\n".join(head) + ("\n..." if len(text) > i + lines else "")
    return None


class Run:
    """One finished run: exit status, stdout, stderr (text) and the log
    (bytes, None without --log)."""

    def __init__(self, argv, status, stdout, stderr, log):
        self.argv = argv
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.log = log
        self.sanitizer = sanitizer_report(stderr)

    def command(self):
        return shlex.join(self.argv)


def run(tool, args, log=False, report=False, lang="C", timeout=120, cwd=None):
    """Run the tool with args; log=True adds --log TMP --format jsonl (the log
    bytes come back in Run.log), report=True adds --report json; cwd: where it
    runs (None: here).  The temporary
    log path is left out of Run.argv's replay line (it is replaced by LOG)."""
    args = list(args)
    with tempfile.TemporaryDirectory(prefix="runcue-sim-test-") as tmp:
        path = os.path.join(tmp, "log.jsonl")
        extra = []
        if log:
            extra += ["--log", path, "--format", "jsonl"]
        if report:
            extra += ["--report", "json"]
        argv = [tool] + args + extra
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=tool_env(lang), timeout=timeout,
                               cwd=cwd)
        except subprocess.TimeoutExpired:
            raise SystemExit(f"TIMEOUT after {timeout}s: {shlex.join(argv)}")
        data = None
        if log and os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
        shown = [a if a != path else "LOG.jsonl" for a in argv]
        return Run(shown, p.returncode,
                   p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"),
                   data)


def parse_log(data):
    """Parse a JSON Lines log.  Returns (records, problems): records as lists
    of (key, value) pairs in file order; problems as strings."""
    problems = []
    records = []
    if data and not data.endswith(b"\n"):
        problems.append("the log does not end in a newline")
    for n, line in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        try:
            pairs = json.loads(line.decode("utf-8"), object_pairs_hook=lambda p: p)
        except (UnicodeDecodeError, ValueError) as e:
            problems.append(f"line {n}: not JSON ({e}): {line[:200]!r}")
            continue
        if not isinstance(pairs, list):
            problems.append(f"line {n}: not an object: {line[:200]!r}")
            continue
        records.append(pairs)
    return records, problems


def check_log_shape(data):
    """Every line an object with LOG_KEYS in order, t a number that never
    goes down, event a non-empty string, the rest strings or null."""
    records, problems = parse_log(data)
    last_t = None
    for n, rec in enumerate(records, 1):
        keys = [k for k, _ in rec]
        d = dict(rec)
        want = DIAGNOSIS_KEYS if d.get("event") == "diagnosis" else LOG_KEYS
        if keys != want:
            problems.append(f"line {n}: keys {keys}, expected {want}")
            continue
        if want is DIAGNOSIS_KEYS and not isinstance(d["diagnosis"], list):
            problems.append(f"line {n}: diagnosis is {d['diagnosis']!r}, not an object")
        t = d["t"]
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            problems.append(f"line {n}: t is {t!r}, not a number")
            continue
        if last_t is not None and t < last_t:
            problems.append(f"line {n}: t went down from {last_t} to {t}")
        last_t = t
        if not isinstance(d["event"], str) or not d["event"]:
            problems.append(f"line {n}: event is {d['event']!r}")
        for k in LOG_KEYS[2:]:
            if d[k] is not None and not isinstance(d[k], str):
                problems.append(f"line {n}: {k} is {d[k]!r}, not a string or null")
        if len(problems) > 20:
            problems.append("... (more)")
            break
    return [dict(r) for r in records], problems


def diff_head(expected, got, name_expected, name_got, lines=40):
    """The first lines of a unified diff of two byte strings (or strs)."""
    if isinstance(expected, bytes):
        expected = expected.decode("utf-8", "replace")
    if isinstance(got, bytes):
        got = got.decode("utf-8", "replace")
    out = list(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                    name_expected, name_got, n=2))
    text = "".join(out[:lines])
    if len(out) > lines:
        text += f"... ({len(out) - lines} more diff lines)\n"
    if not text.endswith("\n"):
        text += "\n"
    return text


class Tally:
    """Counts checks and prints a closing line in Criterion's format (so
    scripts/test.sh counts these tests with the C suites)."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def ok(self, what=None):
        self.passed += 1
        if what:
            print(f"ok    {what}")

    def fail(self, what, detail=""):
        self.failed += 1
        print(f"FAIL  {what}")
        if detail:
            for line in detail.rstrip("\n").split("\n"):
                print(f"      {line}")
        sys.stdout.flush()

    def check(self, cond, what, detail=""):
        if cond:
            self.ok(what)
        else:
            self.fail(what, detail)
        return cond

    def known(self, cond, what, issue, detail=""):
        """A check that fails because of a known, reported bug: reported, but
        not failing the test.  When it starts passing, say so (the marker can
        go, turning it into an ordinary check)."""
        self.passed += 1
        if cond:
            print(f"ok    {what} (known issue fixed? make this an ordinary check)")
        else:
            print(f"known {what}: {issue}")
            if detail:
                for line in detail.rstrip("\n").split("\n"):
                    print(f"      {line}")
        return cond

    def finish(self):
        total = self.passed + self.failed
        print(f"[====] Synthesis: Tested: {total} | Passing: {self.passed} | "
              f"Failing: {self.failed} | Crashing: 0")
        sys.stdout.flush()
        return 1 if self.failed or total == 0 else 0


def swarm_fail(tally, script, tool, master, i, args, problems):
    """Report a failed swarm run: its problems, the runcue-sim command line,
    and the line that replays just this run."""
    cmd = shlex.join([tool] + args + ["--log", "LOG.jsonl", "--format", "jsonl",
                                      "--report", "json"])
    tally.fail(f"run {i} (master seed {master})",
               "\n".join(problems) + f"\ncommand: {cmd}\nreplay:  " +
               shlex.join([sys.executable, script, "--tool", tool,
                           "--master-seed", str(master), "--only", str(i)]))
