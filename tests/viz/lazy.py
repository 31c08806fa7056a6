#!/usr/bin/env python3
"""runcue-sim loads the views' libraries only when a view is asked for: the
program itself needs neither ncurses nor SDL2 (the dynamic loader's list of
what it maps at start-up, LD_TRACE_LOADED_OBJECTS), while the view modules
beside it do."""
import glob
import os
import subprocess
import sys

SIM = os.environ["RUNCUE_SIM"]
ROOT = os.environ["RUNCUE_BUILD_ROOT"]


def loaded(path):
    env = dict(os.environ, LD_TRACE_LOADED_OBJECTS="1")
    out = subprocess.run([path], env=env, capture_output=True, text=True, timeout=30)
    return out.stdout


def main():
    libs = loaded(SIM)
    if "runcue" not in libs and "libc" not in libs:
        print("FAIL: no loader trace for runcue-sim:", libs)
        return 1
    for heavy in ("SDL2", "ncurses", "png", "X11", "pulse"):
        if heavy in libs:
            print(f"FAIL: runcue-sim maps {heavy} at start-up:\n{libs}")
            return 1
    modules = glob.glob(os.path.join(ROOT, "viz", "runcue-view-*.so"))
    if not modules:
        print("FAIL: no view modules built")
        return 1
    # A run without a view works and says nothing about views.
    run = subprocess.run([SIM, "-n", "3", "-l", "0", "--no-tui", "--seed", "1"],
                         capture_output=True, text=True, timeout=60)
    if run.returncode != 0 or "completed" not in run.stdout:
        print("FAIL: plain run:", run.returncode, run.stdout, run.stderr)
        return 1
    print("ok: runcue-sim maps no view library;", len(modules), "view module(s) built")
    return 0


if __name__ == "__main__":
    sys.exit(main())
