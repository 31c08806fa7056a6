#!/usr/bin/env python3
"""sdl.py -- the SDL2 view, headless (SDL_VIDEODRIVER=offscreen): runcue-sim
--sdl --screenshot writes the final frame of a known run as PNG; the test
decodes it (standard library only) and checks pixels: completed bars in
green on the service lanes, red only when work failed, yellow invalidation
lines in the dynamic scenario, the same picture for the same seed, and
runcue-viz attached to another process.

Needs RUNCUE_SIM and RUNCUE_VIZ (set by meson).
"""
import os
import re
import stat
import struct
import subprocess
import sys
import tempfile
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))
import simtool  # noqa: E402  (Tally: the checks, counted like the C suites)

T = simtool.Tally("sdl")
check = T.check
SIM = os.environ["RUNCUE_SIM"]
VIZ = os.environ["RUNCUE_VIZ"]

GREEN = (60, 180, 90)
RED = (220, 60, 60)
ORANGE = (240, 160, 40)
BLUE = (70, 130, 230)
YELLOW = (240, 220, 60)
BACKGROUND = (24, 26, 32)
PANEL = (44, 22, 26)
LANES = ((30, 33, 40), (36, 39, 48))
DIM = (130, 134, 146)


def read_png(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB/RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if zlib.crc32(kind + body) & 0xffffffff != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or color not in (2, 6) or interlace:
                raise ValueError(f"unexpected PNG format depth {depth} color {color}")
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def count(rows, colour, box=None):
    x0, y0, x1, y1 = box or (0, 0, len(rows[0]), len(rows))
    return sum(1 for y in range(y0, y1) for x in range(x0, x1) if rows[y][x] == colour)


def shoot(args, out, env_extra=None, exit_at_end=True, unset=()):
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
    env.update(env_extra or {})
    for k in unset:
        env.pop(k, None)
    return subprocess.run([SIM, *args, "--sdl", *(["--exit-at-end"] if exit_at_end else []),
                           "--screenshot", out],
                          capture_output=True, text=True, env=env, timeout=120)


def panel_box(rows):
    """(x0, y0, x1, y1) around the blocked panel's colour, or None."""
    ys = [y for y, row in enumerate(rows) if PANEL in row]
    if not ys:
        return None
    xs = [x for y in ys for x, c in enumerate(rows[y]) if c == PANEL]
    return min(xs), min(ys), max(xs) + 1, max(ys) + 1


def test_headless():
    """--screenshot needs neither --exit-at-end nor a display."""
    tmp = tempfile.mkdtemp(prefix="runcue-sdl-headless-")
    args = ["--scenario", "fanout", "-n", "5", "--seed", "1"]
    ref = os.path.join(tmp, "ref.png")
    shoot(args, ref)
    no_display = ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY")
    for out, unset, what in (("a.png", (), "without --exit-at-end: writes the same PNG, exits"),
                             ("b.png", no_display,
                              "with no display and no SDL_VIDEODRIVER: drawn offscreen")):
        out = os.path.join(tmp, out)
        try:
            r = shoot(args, out, exit_at_end=False, unset=unset)
            ok = r.returncode == 0 and os.path.exists(out)
        except subprocess.TimeoutExpired:
            ok, r = False, None
        check(ok and open(out, "rb").read() == open(ref, "rb").read(), f"--screenshot {what}",
              r.stderr if r else "timed out")
    env = {k: v for k, v in os.environ.items() if k not in no_display}
    try:
        r = subprocess.run([SIM, *args, "--sdl"], capture_output=True, text=True, env=env,
                           timeout=20)
        lines = r.stderr.splitlines()
        ok = r.returncode == 1 and len(lines) == 1 and lines[0].startswith("runcue-sim: no display")
    except subprocess.TimeoutExpired:
        ok, r = False, None
    check(ok, "--sdl with no display: fails at once, one line saying so",
          r.stderr if r else "timed out")
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)


def test_blocked_panel(tmp):
    """The stalled fanout of the README's picture: the blocked panel sits
    below the lanes, covering none, and shows the whole diagnosis; in a
    small window what does not fit ends in a dim '... and N more'."""
    big = os.path.join(tmp, "stalled.png")
    args = ["--scenario", "fanout", "-n", "40", "-e", "0.05", "--seed", "1"]
    r = shoot(args, big)
    _, _, rows = read_png(big)
    box = panel_box(rows)
    overlap = box and [y for y in range(box[1], box[3])
                       if any(c in LANES for c in rows[y])]
    check(r.returncode == 3 and box and not overlap,
          "stalled: the blocked panel covers no lane", f"{box} rows {overlap[:5] if overlap else ''}")
    lanes_green = [y for y in range(len(rows)) if GREEN in rows[y][160:]]
    check(box and lanes_green and max(y for y in lanes_green if y < box[1]) < box[1],
          "stalled: the lanes' bars are all above the panel", f"{box}")
    dim = box and count(rows, DIM, box)
    check(box and dim == 0, "stalled, 1280x720: everything fits, nothing left out", f"{dim}")

    name = f"sdl-panel-{os.getpid()}"
    small = os.path.join(tmp, "small.png")
    writer = subprocess.Popen([SIM, *args, "--realtime", "--speed", "4", "--shm", name],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
        v = subprocess.run([VIZ, "--screenshot", small, "--size", "800x400", "--wait", "10",
                            name], capture_output=True, text=True, env=env, timeout=60)
        writer.wait(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
    ok = v.returncode == 0 and os.path.exists(small)
    srows = read_png(small)[2] if ok else []
    sbox = panel_box(srows) if ok else None
    check(ok and sbox and count(srows, DIM, sbox) > 20,
          "runcue-viz 800x400 (--screenshot, no --exit-at-end): the panel says what it left out",
          f"{v.stderr} {sbox}")


def main():
    tmp = tempfile.mkdtemp(prefix="runcue-sdl-")
    fan = os.path.join(tmp, "fanout.png")
    r = shoot(["--scenario", "fanout", "-n", "30", "--seed", "1"], fan)
    check(r.returncode == 0 and os.path.exists(fan), "fanout -n 30: --screenshot writes a PNG",
          r.stderr)
    if not os.path.exists(fan):
        return T.finish()
    w, h, rows = read_png(fan)
    check((w, h) == (1280, 720), "the frame is 1280x720 by default", f"{w}x{h}")
    lanes = (160, 52, w - 10, h - 170)  # right of the labels, above the charts
    check(rows[h - 3][w // 2] == BACKGROUND and rows[1][w - 3] != BACKGROUND,
          "background at the bottom edge, header band at the top", "")
    # The first work of the run is the first split, completed: its bar starts
    # at the left edge of the time axis in the top lane.
    check(rows[130][165] == GREEN and rows[130][158] != GREEN,
          "the first split's bar starts at the left edge of the splitter lane",
          f"{rows[130][158]} {rows[130][165]}")
    greens = count(rows, GREEN)
    check(greens > 2000, "completed runs are green bars", f"{greens} green pixels")
    check(count(rows, RED, lanes) == 0 and count(rows, ORANGE, lanes) == 0,
          "no failures in this run: no red or orange bars", "")
    check(count(rows, BLUE, lanes) == 0, "the run is over: no bar is still running (blue)", "")
    # Three lanes (splitter, processor, aggregator): green in three bands.
    bands = [y for y in range(h) if any(rows[y][x] == GREEN for x in range(0, w, 2))]
    bands_set = set(bands)
    runs, start = [], None
    for y in range(h + 1):
        inside = y < h and y in bands_set
        if inside and start is None:
            start = y
        elif not inside and start is not None:
            runs.append((start, y))
            start = None
    check(len(runs) >= 3, "green bars on at least three separate lanes", f"bands {runs}")

    again = os.path.join(tmp, "fanout2.png")
    shoot(["--scenario", "fanout", "-n", "30", "--seed", "1"], again)
    check(open(fan, "rb").read() == open(again, "rb").read(),
          "the same seed draws the same picture, byte for byte", "")

    err = os.path.join(tmp, "errors.png")
    r = shoot(["--scenario", "single_queue", "-n", "60", "-e", "0.3", "--seed", "5"], err)
    _, _, erows = read_png(err)
    check(r.returncode == 0 and count(erows, RED, lanes) > 0 and count(erows, GREEN) > 0,
          "with --error-rate 0.3: failed runs in red beside green ones", r.stderr)

    dyn = os.path.join(tmp, "dynamic.png")
    r = shoot(["--scenario", "dynamic", "-n", "40", "--seed", "3"], dyn)
    _, _, drows = read_png(dyn)
    check(r.returncode == 0 and count(drows, YELLOW) > 50,
          "dynamic: invalidations are marked by yellow lines", r.stderr)

    cyc = os.path.join(tmp, "cycle.png")
    fixtures = os.environ.get("RUNCUE_FIXTURES", "")
    r = shoot(["--scenario-file", os.path.join(fixtures, "deadlock", "cycle.json"),
               "--seed", "1"], cyc)
    check(r.returncode == 3 and os.path.exists(cyc), "a stalled run still writes its frame, exit 3",
          r.stderr)

    # runcue-viz attached to another process.
    name = f"sdl-test-{os.getpid()}"
    att = os.path.join(tmp, "attached.png")
    writer = subprocess.Popen([SIM, "--scenario", "fanout", "-n", "20", "--seed", "2",
                               "--realtime", "--speed", "10", "--shm", name],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
        v = subprocess.run([VIZ, "--exit-at-end", "--screenshot", att, "--size", "800x600",
                            name], capture_output=True, text=True, env=env, timeout=60)
        writer.wait(timeout=60)
        ok = v.returncode == 0 and os.path.exists(att)
        aw = ah = 0
        arows = []
        if ok:
            aw, ah, arows = read_png(att)
        check(ok and (aw, ah) == (800, 600) and count(arows, GREEN) > 500,
              "runcue-viz NAME: watches another process to its end (--size 800x600)",
              v.stderr)
    finally:
        if writer.poll() is None:
            writer.kill()
    v = subprocess.run([VIZ, "--wait", "0.1", f"absent-{os.getpid()}"], capture_output=True,
                       text=True, env=dict(os.environ, SDL_VIDEODRIVER="offscreen"), timeout=30)
    check(v.returncode == 1 and "no runcue segment named" in v.stderr
          and all(x.startswith("runcue-viz: ") for x in v.stderr.splitlines()),
          "runcue-viz: a missing segment is named, exit 1, messages begin with its name",
          v.stderr)
    for bad in ["bad name!", "", "a" * 49, "../x"]:
        v = subprocess.run([VIZ, "--wait", "0", bad], capture_output=True, text=True, timeout=30)
        check(v.returncode == 2 and len(v.stderr.splitlines()) == 1
              and v.stderr.startswith("runcue-viz: shared memory name"),
              f"runcue-viz: a malformed name {bad!r} is bad usage, exit 2, one line", v.stderr)
    v = subprocess.run([VIZ, "--version"], capture_output=True, text=True, timeout=30)
    check(v.returncode == 0 and re.fullmatch(r"runcue-viz \d+\.\d+\.\d+\n", v.stdout) is not None,
          "runcue-viz --version", v.stdout + v.stderr)
    test_blocked_panel(tmp)
    test_headless()
    # --size is exactly WxH in digits, each in range: no wrap-around, no junk.
    for bad in ["10x10", "319x200", "8193x600", "800x600junk", "4294967616x300", "800x4294967496",
                " 800x600", "+800x600", "800x+600", "800X600", "800x", "x600", "800x600 ",
                "000800x600", "800x-600", ""]:
        v = subprocess.run([VIZ, "--size", bad, "x"], capture_output=True, text=True, timeout=30)
        check(v.returncode == 2 and v.stderr.startswith("runcue-viz: --size: ")
              and len(v.stderr.splitlines()) == 1,
              f"runcue-viz: a bad --size {bad!r} exits 2 with one line", v.stderr)
    # A missing value is said to be missing; an unknown letter is named even
    # inside a cluster ("-xy") or after another option.
    for args, words in ((["--wait"], "--wait needs a value"),
                        (["x", "--size"], "--size needs a value"),
                        (["-xy", "x"], "unknown option '-x'"),
                        (["--exit-at-end", "-xy", "x"], "unknown option '-x'"),
                        (["--exit-at-end=1", "x"], "unknown option '--exit-at-end=1'"),
                        (["--bogus", "x"], "unknown option '--bogus'")):
        v = subprocess.run([VIZ, *args], capture_output=True, text=True, timeout=30)
        check(v.returncode == 2 and len(v.stderr.splitlines()) == 1 and words in v.stderr,
              f"runcue-viz {' '.join(args)}: exit 2, one line saying {words}", v.stderr)
    for good in ["320x200", "8192x8192", "00800x0600"]:
        v = subprocess.run([VIZ, "--size", good, "--help"], capture_output=True, text=True,
                           timeout=30)
        check(v.returncode == 0 and not v.stderr, f"runcue-viz: --size {good} is taken", v.stderr)

    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)
    # A screenshot onto a device that takes no bytes (/dev/full's kind)
    # fails with one line, and the device is still there: the C library's
    # PNG writer would remove the path it failed to write.  As root the
    # device is a copy made in a scratch folder (never /dev/full itself).
    with tempfile.TemporaryDirectory(prefix="runcue-sdl-full-") as scratch:
        full = "/dev/full"
        if os.geteuid() == 0:
            full = os.path.join(scratch, "full")
            os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        if os.path.exists(full):
            r = shoot(["--scenario", "fanout", "-n", "5", "--seed", "1"], full)
            lines = r.stderr.splitlines()
            check(r.returncode == 1 and "cannot write the screenshot" in lines[-1]
                  and os.path.exists(full) and stat.S_ISCHR(os.stat(full).st_mode),
                  "--screenshot onto a full device: exit 1 saying so, the device left in place",
                  r.stderr)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
