#!/usr/bin/env python3
"""tui.py -- the ncurses dashboard, driven through tmux (send-keys,
capture-pane): runcue-sim --tui shows the right counts for a known seed, the
blocked list and wait-for chain of a deadlock, survives a resize, and q or
SIGINT leave a sane terminal; runcue-top NAME watches another process.

Needs RUNCUE_SIM and RUNCUE_TOP (set by meson) and tmux on PATH.

Nothing sleeps for a fixed time before reading the screen: every look polls
until what is expected appears, with a deadline.  One tmux server (on a
socket named after this process, without any user configuration) lives for
the whole run, kept up by a session of its own, so closing a test's session
never shuts the server down under the next test's new-session.
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))
import simtool  # noqa: E402  (Tally: the checks, counted like the C suites)

T = simtool.Tally("tui")
check = T.check
SIM = os.environ["RUNCUE_SIM"]
TOP = os.environ["RUNCUE_TOP"]
FIXTURES = os.environ["RUNCUE_FIXTURES"]
SOCK = f"runcue-tui-{os.getpid()}"


def tmux(*args, check=True):
    return subprocess.run(["tmux", "-f", "/dev/null", "-L", SOCK, *args], capture_output=True,
                          text=True, check=check)


def screen(session):
    return tmux("capture-pane", "-p", "-t", session).stdout


def wait_until(session, holds, what, timeout=20.0):
    """Poll the screen until holds(text); return the text, or raise with the
    last screen after the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        text = screen(session)
        if holds(text):
            return text
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}; screen:\n{text}")
        time.sleep(0.05)


def wait_for(session, pattern, timeout=20.0):
    return wait_until(session, lambda text: re.search(pattern, text), repr(pattern), timeout)


def look(session, holds, timeout=20.0):
    """The screen once holds(text), or the last one at the deadline, for a
    check() to judge: a screen read mid-draw is read again, not judged."""
    try:
        return wait_until(session, holds, "", timeout)
    except AssertionError:
        return screen(session)


def shell(session, width=120, height=40):
    """A plain shell in a fresh tmux session."""
    tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height),
         "env PS1='$ ' TERM=xterm-256color bash --norc --noprofile")
    wait_for(session, r"\$ $|\$\s*$")


def type_line(session, line):
    tmux("send-keys", "-t", session, "-l", line)
    tmux("send-keys", "-t", session, "Enter")


def sane_terminal(session, what):
    """After the view left: the shell echoes what is typed and the line
    discipline is cooked with echo on."""
    tmux("send-keys", "-t", session, "clear", "Enter")
    wait_until(session, lambda text: text.strip() == "$", "a cleared screen")
    type_line(session, "stty -a | tr ' ' '\\n' | grep -x -e icanon -e echo -e -icanon -e -echo;"
                       " echo SANE-$((40+2))")
    text = wait_for(session, r"SANE-42")
    lines = text.split("\n")
    check("stty -a" in text and "icanon" in lines and "echo" in lines
          and "-icanon" not in lines and "-echo" not in lines,
          f"{what}: the terminal is sane afterwards (typed text echoes, icanon and echo on)",
          text)


def own_segments():
    """The segments of runcue-sim processes of this build (other programs,
    other checkouts' tests, may create and remove theirs meanwhile)."""
    mine = os.path.realpath(SIM)
    found = []
    for n in os.listdir("/dev/shm"):
        m = re.fullmatch(r"runcue\.sim-(\d+)", n)
        try:
            if m and os.path.realpath(os.readlink(f"/proc/{m.group(1)}/exe")) == mine:
                found.append(n)
        except OSError:
            pass
    return sorted(found)


def gone(name, timeout=5.0):
    """Wait until /dev/shm/NAME is removed; True if it was."""
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/dev/shm/{name}"):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def test_counts_and_quit():
    s = "counts"
    shell(s)
    type_line(s, f"{SIM} --scenario fanout -n 20 --seed 1 --tui --speed 40; echo EXIT=$?")
    # The whole last frame: under load a capture can catch the screen while
    # it is being redrawn, its header already saying "finished".
    text = wait_until(s, lambda t: "finished" in t and "Recent events" in t
                      and re.search(r"^\s*aggregator\s.*processed \d+", t, re.M)
                      and re.search(r"completed\s+#\d+ aggregate", t), "the final frame")
    check(re.search(r"completed 140\b", text) and re.search(r"failed\s+0\b", text)
          and "100.0%" in text and "submitted 140" in text,
          "fanout -n 20 --seed 1: Queue shows 140 completed, 0 failed, 100%", text)
    rows = {m.group(1): m.group(2) for m in
            re.finditer(r"^\s*(splitter|processor|aggregator)\s.*processed (\d+)", text, re.M)}
    check(rows == {"splitter": "20", "processor": "100", "aggregator": "20"},
          "Services: processed per service for the seed", f"{rows}\n{text}")
    check(re.search(r"processor\s+\[\s*\]\s+0/5", text) is not None,
          "Services: a concurrency bar current/max", text)
    check("Recent events" in text and re.search(r"completed\s+#140 aggregate", text),
          "Recent events: the last completion is listed", text)
    check("t=2.136s" in text, "the clock stops at the last event (2.136 s for this seed)", text)
    check("runcue-sim --scenario fanout -n 20 --seed 1 " in text.split("\n")[0],
          "the header shows the command that reproduces the run", text.split("\n")[0])
    tmux("send-keys", "-t", s, "q")
    text = wait_for(s, r"EXIT=\d+")
    check("EXIT=0" in text and "Summary (seed 1)" in text and "completed 140" in text,
          "q: leaves, then the summary is printed, exit 0", text)
    sane_terminal(s, "q")
    tmux("kill-session", "-t", s)


def test_pause_and_step():
    s = "pause"
    shell(s)
    type_line(s, f"{SIM} --scenario single_queue -n 50 --seed 2 --tui --speed 0.5; echo EXIT=$?")
    wait_for(s, r"running")
    tmux("send-keys", "-t", s, "p")
    text = wait_for(s, r"paused")
    t1 = re.search(r"t=([\d.]+)s", text).group(1)
    time.sleep(0.6)  # a spell in which nothing may happen: not a wait for a condition
    t2 = re.search(r"t=([\d.]+)s", screen(s)).group(1)
    check(t1 == t2, "p: virtual time stands still while paused", f"{t1} then {t2}")
    tmux("send-keys", "-t", s, "Space")
    deadline = time.monotonic() + 5
    t3 = t2
    while time.monotonic() < deadline and t3 == t2:
        time.sleep(0.1)
        t3 = re.search(r"t=([\d.]+)s", screen(s)).group(1)
    check(float(t3) > float(t2), "space: one step moves to the next event", f"{t2} then {t3}")
    tmux("send-keys", "-t", s, "q")
    text = wait_for(s, r"EXIT=\d+")
    check("EXIT=0" in text, "q while paused: exit 0 with the summary so far", text)
    tmux("kill-session", "-t", s)


def test_deadlock_and_resize():
    s = "stall"
    shell(s)
    cycle = os.path.join(FIXTURES, "deadlock", "cycle.json")
    type_line(s, f"{SIM} --scenario-file {cycle} --seed 1 --tui --speed 50; echo EXIT=$?")
    wait_for(s, r"stalled")
    blocked = lambda t: ("Cycle: A #1 [A] -> B #2 [B] -> A #1 [A]" in t
                         and re.search(r"#1\s+A\s+waiting on 'x'", t) is not None
                         and "2 pending work cannot move" in t)
    text = look(s, blocked)
    check(blocked(text), "deadlock: Blocked lists the work, its reason and the wait-for cycle", text)
    tmux("resize-window", "-t", s, "-x", "80", "-y", "30")

    def redrawn(text):
        width = max(len(line.rstrip()) for line in text.split("\n"))
        return "Services" in text and "Blocked" in text and width <= 80

    try:
        text = wait_until(s, redrawn, "a redraw at 80 columns")
    except AssertionError as e:
        text = str(e)
    check(redrawn(text), "resize to 80x30: redrawn to fit", text)
    tmux("send-keys", "-t", s, "q")
    text = wait_for(s, r"EXIT=\d+")
    check("EXIT=3" in text, "a stalled run exits 3 after q", text)
    tmux("kill-session", "-t", s)


def test_sigint():
    s = "sigint"
    shell(s)
    before = own_segments()
    type_line(s, f"{SIM} --scenario fanout -n 500 --seed 1 --tui --speed 1; echo EXIT=$?")
    wait_for(s, r"running")
    during = [n for n in own_segments() if n not in before]
    tmux("send-keys", "-t", s, "C-c")
    text = wait_for(s, r"EXIT=\d+")
    check("EXIT=130" in text, "SIGINT: exit 130", text)
    check("Summary (seed 1)" in text, "SIGINT: the summary of the run so far is printed", text)
    check(len(during) == 1 and gone(during[0]),
          "SIGINT: the run's segment is removed", f"{before} {during} {own_segments()}")
    sane_terminal(s, "SIGINT")
    tmux("kill-session", "-t", s)


def test_hangup():
    s = "hangup"
    before = own_segments()
    tmux("new-session", "-d", "-s", s, "-x", "100", "-y", "30",
         f"{SIM} --scenario fanout -n 500 --seed 1 --tui --speed 1")
    wait_for(s, r"running")
    during = [n for n in own_segments() if n not in before]
    tmux("kill-session", "-t", s)  # the terminal goes away: SIGHUP
    check(len(during) == 1 and gone(during[0]),
          "SIGHUP (the terminal closed): the run's segment is removed",
          f"{before} {during} {own_segments()}")


def test_attached():
    s = "top"
    name = f"tui-test-{os.getpid()}"
    writer = subprocess.Popen([SIM, "--scenario", "fanout", "-n", "30", "--seed", "4",
                               "--realtime", "--speed", "3", "--shm", name],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        shell(s)
        type_line(s, f"{TOP} {name}; echo EXIT=$?")
        attached = lambda t: (f"runcue  {name}" in t and "writer   pid" in t
                              and "watching live" in t)
        text = look(s, attached)
        check(attached(text), "runcue-top NAME: attaches to another process", text)
        once = subprocess.run([TOP, "--once", name], capture_output=True, text=True, timeout=10)
        check(once.returncode == 0 and "service processor" in once.stdout
              and re.search(r"^submitted \d+  completed \d+", once.stdout, re.M)
              and f"{name}  pid {writer.pid}  virtual clock" in once.stdout,
              "runcue-top --once NAME: counters and services as text", once.stdout + once.stderr)
        writer.wait(timeout=60)
        ended = lambda t: (re.search(r"completed 210\b", t) is not None
                           and "watching ended" in t and "finished" in t)
        text = look(s, ended)
        check(ended(text), "runcue-top: shows the final counts when the writer finishes", text)
        tmux("send-keys", "-t", s, "q")
        text = wait_for(s, r"EXIT=\d+")
        check("EXIT=0" in text, "runcue-top: q exits 0", text)
        sane_terminal(s, "runcue-top q")
        type_line(s, f"{TOP} --wait 0.2 no-such-segment-{os.getpid()}; echo EXIT=$?")
        text = wait_for(s, r"EXIT=\d+")
        check("EXIT=1" in text and "no runcue segment named" in text,
              "runcue-top: a missing segment is named, exit 1", text)
        check("no segment 'no-such-segment" in text and "waiting up to 0.2s" in text,
              "runcue-top: says it waits for a segment that is not there yet", text)
        tmux("kill-session", "-t", s)
    finally:
        if writer.poll() is None:
            writer.kill()
    for bad in ["bad name!", "", "a" * 49, "../x"]:
        r = subprocess.run([TOP, "--once", "--wait", "0", bad], capture_output=True, text=True,
                           timeout=10)
        check(r.returncode == 2 and len(r.stderr.splitlines()) == 1
              and r.stderr.startswith("runcue-top: shared memory name"),
              f"runcue-top: a malformed name {bad!r} is bad usage, exit 2, one line", r.stderr)
    r = subprocess.run([TOP, "--version"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and re.fullmatch(r"runcue-top \d+\.\d+\.\d+\n", r.stdout) is not None,
          "runcue-top --version", r.stdout + r.stderr)


def test_root_causes():
    s = "roots"
    shell(s)
    fixture = os.path.join(FIXTURES, "deadlock", "cancelled_producer.json")
    type_line(s, f"{SIM} --scenario-file {fixture} --seed 1 --tui --speed 50; echo EXIT=$?")
    root = "root: fetch #1 [model] cancelled; blocks 2"
    text = look(s, lambda t: root in t)
    check(root in text, "deadlock: Blocked names the root cause with task, label and state", text)
    tmux("send-keys", "-t", s, "q")
    text = wait_for(s, r"EXIT=\d+")
    check("EXIT=3" in text, "a run stalled on a cancelled producer exits 3 after q", text)
    tmux("kill-session", "-t", s)



def test_rates_mid_run():
    """runcue-top attached mid-run: throughput and per-service rates over
    the recent past (a steady 5/s), and the configured limit shown."""
    s = "rates"
    name = f"tui-rates-{os.getpid()}"
    writer = subprocess.Popen([SIM, "--scenario", "single_queue", "-n", "200", "-c", "5",
                               "-r", "5/1", "--seed", "1", "--realtime", "--speed", "8",
                               "--shm", name],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)  # attach well after the start: about t=12s of 40
        shell(s)
        type_line(s, f"{TOP} {name}; echo EXIT=$?")
        wait_for(s, r"running")
        time.sleep(1.5)  # a window's worth of the writer's clock (10 s at speed 8)
        samples = []
        for _ in range(4):
            text = screen(s)
            if "finished" in text:
                break
            m = re.search(r"throughput ([\d.]+)/s \(last (\d+)s\)", text)
            row = re.search(r"^\s*api\s.*?([\d.]+)/s  limit (\S+)", text, re.M)
            samples.append((m and float(m.group(1)), row and float(row.group(1)),
                            row and row.group(2)))
            time.sleep(0.4)
        check(len(samples) >= 2 and all(t is not None and 4.0 <= t <= 6.0 for t, _, _ in samples),
              "attached mid-run: throughput is the recent rate (5/s), not an average since t=0",
              f"{samples}\n{text}")
        check(len(samples) >= 2 and all(r is not None and 4.0 <= r <= 6.0 for _, r, _ in samples),
              "attached mid-run: the service's rate holds steady near 5/s", f"{samples}\n{text}")
        check(samples and all(lim == "5/s" for _, _, lim in samples),
              "the service's configured rate limit is shown", f"{samples}\n{text}")
        tmux("send-keys", "-t", s, "q")
        wait_for(s, r"EXIT=\d+")
        tmux("kill-session", "-t", s)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()



def test_progress():
    """A plain run on a terminal shows one line of progress on stderr while
    it goes on, and erases it before the summary."""
    s = "progress"
    shell(s)
    # Paced to the wall clock, so the run lasts long enough to be seen.
    type_line(s, f"{SIM} --scenario single_queue -n 100 -l 100 -c 1 --seed 1 --realtime "
                 "--speed 4 --no-tui; echo EXIT=$?")
    text = wait_for(s, r"completed [\d.]+[kM]?/[\d.]+[kM]?  failed 0  running \d+  "
                       r"t=[\d.]+s  [\d.]+[kM]?/s  elapsed [\d.]+s|EXIT=\d", timeout=120)
    check("elapsed" in text, "on a terminal: a progress line while the run goes on", text)
    text = wait_for(s, r"EXIT=\d+", timeout=120)
    check("EXIT=0" in text and "Summary (seed 1)" in text and "elapsed" not in text,
          "the progress line is erased; the summary follows", text)
    tmux("kill-session", "-t", s)



def test_main_sh():
    """scripts/main.sh on a terminal: says what it builds, shows the build's
    progress, runs plainly to the summary (no full-screen view waiting for
    q), and says how to open the dashboard."""
    build = os.environ.get("RUNCUE_BUILD_ROOT")
    if not build:
        return
    src = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    s = "main"
    shell(s, width=160)
    type_line(s, f"RUNCUE_BUILD_DIR={build} bash {src}/scripts/main.sh; echo EXIT=$?")
    text = wait_for(s, r"EXIT=\d", timeout=300)
    check("main: building runcue-sim" in text and "ninja: Entering directory" in text,
          "main.sh: says what it builds and shows ninja's progress", text)
    check("EXIT=0" in text and "Summary (seed 1)" in text and "completed 350" in text,
          "main.sh on a terminal: the run's summary, no view waiting for q", text)
    check(re.search(r"main: to watch it in the dashboard: \S+runcue-sim --scenario fanout "
                    r"-n 50 --seed 1 --tui \(q quits\)", text) is not None,
          "main.sh: says how to open the dashboard", text)
    tmux("kill-session", "-t", s)




def test_usage_errors():
    """A bad command line is one line naming what is wrong, exit 2: a
    missing value is said to be missing, and an unknown letter is named even
    inside a cluster ("-xy") or after another option."""
    for args, words in ((["--wait"], "--wait needs a value"),
                        (["x", "--wait"], "--wait needs a value"),
                        (["-xy", "x"], "unknown option '-x'"),
                        (["--once", "-xy", "x"], "unknown option '-x'"),
                        (["--wait=1", "-ay", "x"], "unknown option '-a'"),
                        (["--once=1", "x"], "unknown option '--once=1'"),
                        (["--bogus", "x"], "unknown option '--bogus'")):
        r = subprocess.run([TOP, *args], capture_output=True, text=True, timeout=30)
        lines = r.stderr.splitlines()
        check(r.returncode == 2 and len(lines) == 1 and words in lines[0],
              f"runcue-top {' '.join(args)}: exit 2, one line saying {words}", r.stderr)


def main():
    if not shutil.which("tmux"):
        print("tmux is not installed", file=sys.stderr)
        return 1
    # The server's own session: the server outlives every test's session.
    tmux("new-session", "-d", "-s", "keep", "-x", "80", "-y", "24", "cat")
    try:
        for test in (test_counts_and_quit, test_pause_and_step, test_deadlock_and_resize,
                     test_root_causes, test_sigint, test_hangup, test_attached,
                     test_rates_mid_run, test_progress, test_main_sh, test_usage_errors):
            try:
                test()
            except AssertionError as e:
                T.fail(test.__name__, str(e))
    finally:
        tmux("kill-server", check=False)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
