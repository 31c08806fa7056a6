#!/usr/bin/env python3
"""progress.py -- progress bars in the live views.  runcue-sim
--progress-steps makes the fake services report progress; the dashboard
(through tmux) shows a Progress panel with a bar, percentage and message per
running item, and the SDL view (headless screenshot of a run cut while work
runs) draws a white progress strip on running bars, none once all finished.

Needs RUNCUE_SIM (set by meson); tmux for the dashboard part.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sim"))
sys.path.insert(0, HERE)
import simtool  # noqa: E402
import tui  # noqa: E402  (its tmux helpers, on a socket named by this pid)
import sdl  # noqa: E402  (its PNG reader and colours)

T = simtool.Tally("progress")
check = T.check
SIM = os.environ["RUNCUE_SIM"]
WHITE = (250, 250, 250)


def test_dashboard():
    s = "progress"
    tui.shell(s)
    tui.type_line(s, f"{SIM} --scenario single_queue -n 6 -c 3 -l 4000 -j 0 --seed 1"
                     f" --progress-steps 4 --tui --speed 1; echo EXIT=$?")
    text = tui.wait_for(s, r"step 2/4")
    tui.tmux("send-keys", "-t", s, "p")
    text = tui.wait_for(s, r"paused")
    bars = re.findall(r"^\s*#(\d+)\s+(\S+)\s+\[(#*)\s*\]\s+(\d+)%\s+step (\d)/4", text, re.M)
    check("Progress" in text and len(bars) == 3,
          "Progress: a bar for each of the 3 running items", text)
    ok = all(int(pct) == 25 * int(step) and len(fill) == round(20 * int(pct) / 100)
             for _, _, fill, pct, step in bars)
    check(bars and ok, "each bar is as long as its percentage, with the step message", text)
    check(re.search(r"progress\s+#\d+ work \[item_\d+\]\s+\d+%\s+step \d/4", text) is not None,
          "Recent events: progress events with percentage and message", text)
    tui.tmux("send-keys", "-t", s, "q")
    tui.wait_for(s, r"EXIT=\d+")
    tui.tmux("kill-session", "-t", s)


def white_pixels(png):
    _, _, rows = sdl.read_png(png)
    return sum(1 for row in rows for px in row if px == WHITE)


def test_sdl():
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
    with tempfile.TemporaryDirectory() as d:
        cut, end = os.path.join(d, "cut.png"), os.path.join(d, "end.png")
        base = [SIM, "--scenario", "single_queue", "-n", "6", "-c", "3", "-l", "4000", "-j", "0",
                "--seed", "1", "--progress-steps", "4", "--sdl", "--exit-at-end"]
        subprocess.run(base + ["-d", "7", "--screenshot", cut], env=env, check=False,
                       capture_output=True, timeout=120)
        subprocess.run(base + ["--screenshot", end], env=env, check=False,
                       capture_output=True, timeout=120)
        if not (os.path.exists(cut) and os.path.exists(end)):
            check(False, "the SDL view wrote both screenshots", "missing PNG")
            return
        check(white_pixels(cut) > 0,
              "SDL: running bars carry a white progress strip while work runs", cut)
        check(white_pixels(end) == 0, "SDL: no progress strip once everything finished", end)


def main():
    try:
        if shutil.which("tmux") and os.environ.get("RUNCUE_PROGRESS_TUI", "1") == "1":
            try:
                test_dashboard()
            except AssertionError as e:
                T.fail("test_dashboard", str(e))
        if os.environ.get("RUNCUE_PROGRESS_SDL", "1") == "1":
            test_sdl()
    finally:
        tui.tmux("kill-server", check=False)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
