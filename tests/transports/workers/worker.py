#!/usr/bin/env python3
"""worker.py -- a worker speaking the runqy protocol, standard library only.

The same behaviours as worker_c.c, for tests and examples:

startup (argv): --never-ready, --garbage-before-ready, --load-error,
                --exit-before-ready=N, --ready-delay-ms=N, --once,
                --banner (after ready: a banner line and a second ready line)
per request (payload "mode"): echo (default), noop, outputs (answers
    {"outputs": payload's outputs}), progress (steps: progress
    lines at 1/steps ... before the answer), sleep (ms), fail, retry,
    garbage, huge, wrong_id, twice, exit (code), abort, kill9, hang, cwd,
    close_stdin (ms, code), print (print() a line, then echo), accents (a
    result of "n" characters e-acute, escaped as the runqy SDK does), nul (a
    result string holding a NUL), request (the whole request as the result)
modifiers: "log": text printed to stderr first; "stderr_lines": N more lines
    to stderr; "on_attempt": k applies the mode only on attempt k (other
    attempts echo).
"""
import json
import os
import signal
import sys
import time


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def reply(task_id, result=None, error=None, retry=False):
    say({"task_id": task_id, "result": result, "error": error, "retry": retry})


def mono_ms():
    return time.monotonic() * 1000.0


def echo_result(payload, attempt, t0):
    return {"echo": payload, "pid": os.getpid(), "attempt": attempt,
            "t0": t0, "t1": mono_ms()}


def handle(task_id, payload, req):
    t0 = mono_ms()
    try:
        attempt = int(task_id.rsplit(".", 1)[1])
    except (IndexError, ValueError):
        attempt = 1
    if not isinstance(payload, dict):
        payload = {"value": payload}
    if "log" in payload:
        sys.stderr.write(str(payload["log"]) + "\n")
        sys.stderr.flush()
    lines = int(payload.get("stderr_lines", 0))
    for i in range(lines):
        sys.stderr.write("stderr line %d of %d\n" % (i + 1, lines))
    sys.stderr.flush()
    mode = payload.get("mode", "echo")
    only = payload.get("on_attempt")
    if only is not None and int(only) != attempt:
        mode = "echo"

    if mode == "noop":
        reply(task_id)
    elif mode == "outputs":
        reply(task_id, {"outputs": payload.get("outputs", [])})
    elif mode == "progress":
        steps = int(payload.get("steps", 4))
        for k in range(1, steps):
            say({"task_id": task_id, "progress": k / steps, "message": "step %d/%d" % (k, steps)})
        reply(task_id, echo_result(payload, attempt, t0))
    elif mode == "sleep":
        time.sleep(payload.get("ms", 10) / 1000.0)
        reply(task_id, echo_result(payload, attempt, t0))
    elif mode == "fail":
        reply(task_id, error=payload.get("message", "failed on purpose"))
    elif mode == "retry":
        reply(task_id, error=payload.get("message", "try again"), retry=True)
    elif mode == "garbage":
        sys.stdout.write("this is not json {\n")
        sys.stdout.flush()
    elif mode == "huge":
        sys.stdout.write('{"x":"' + "x" * (1536 * 1024) + '"}\n')
        sys.stdout.flush()
    elif mode == "wrong_id":
        reply("999999.1")
    elif mode == "twice":
        reply(task_id, echo_result(payload, attempt, t0))
        reply(task_id, echo_result(payload, attempt, t0))
    elif mode == "exit":
        os._exit(int(payload.get("code", 3)))
    elif mode == "abort":
        os.abort()
    elif mode == "kill9":
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "hang":
        while True:
            time.sleep(3600)
    elif mode == "close_stdin":
        os.close(0)
        reply(task_id, echo_result(payload, attempt, t0))
        time.sleep(payload.get("ms", 300) / 1000.0)
        os._exit(int(payload.get("code", 0)))
    elif mode == "print":
        print("print() from the handler of", task_id)
        sys.stdout.flush()
        reply(task_id, echo_result(payload, attempt, t0))
    elif mode == "accents":
        reply(task_id, {"text": "\u00e9" * int(payload.get("n", 1000))})
    elif mode == "nul":
        reply(task_id, {"text": "before\u0000after"})
    elif mode == "request":
        reply(task_id, req)
    elif mode == "cwd":
        reply(task_id, {"cwd": os.getcwd()})
    else:
        reply(task_id, echo_result(payload, attempt, t0))


def main(argv):
    once = False
    banner = False
    for arg in argv[1:]:
        if arg == "--never-ready":
            while True:
                time.sleep(3600)
        elif arg == "--garbage-before-ready":
            sys.stdout.write("loading... done\n")
            sys.stdout.flush()
        elif arg == "--load-error":
            say({"status": "error", "error": "@load failed: no model"})
            return 1
        elif arg.startswith("--exit-before-ready="):
            sys.stderr.write("worker.py: giving up before ready\n")
            sys.stderr.flush()
            return int(arg.split("=", 1)[1])
        elif arg.startswith("--ready-delay-ms="):
            time.sleep(int(arg.split("=", 1)[1]) / 1000.0)
        elif arg == "--once":
            once = True
        elif arg == "--banner":
            banner = True
        else:
            sys.stderr.write("worker.py: unknown option %s\n" % arg)
            return 2
    say({"status": "ready"})
    if banner:
        sys.stdout.write("worker.py: model loaded, serving\n")
        say({"status": "ready"})
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        try:
            req = json.loads(line)
            task_id = req["task_id"]
        except (ValueError, KeyError, TypeError):
            sys.stderr.write("worker.py: bad request: %s" % line)
            sys.stderr.flush()
            continue
        handle(task_id, req.get("payload"), req)
        if once:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
