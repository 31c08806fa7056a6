#!/usr/bin/env python3
"""wordcount_worker.py -- stage 2 of the file pipeline: a worker speaking the
runqy protocol, standard library only.

Prints {"status": "ready"}, then for each request line
    {"task_id": "4.1", "payload": {"in": "out/a.upper", "out": "out/a.count.json"}}
counts the lines, words and characters of `in`, writes them (with the most
frequent words) as JSON to `out` -- through a temporary file and os.replace,
so no reader ever sees half a file -- and answers
    {"task_id": "4.1", "result": {"words": 120, ...}, "error": null, "retry": false}
"""
import collections
import json
import os
import sys


def count(path_in, path_out):
    with open(path_in, encoding="utf-8", errors="replace") as f:
        text = f.read()
    words = text.split()
    top = collections.Counter(w.strip(".,;:!?\"'()") for w in words).most_common(3)
    summary = {
        "source": path_in,
        "lines": text.count("\n"),
        "words": len(words),
        "chars": len(text),
        "top": [[w, n] for w, n in top if w],
    }
    tmp = path_out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    os.replace(tmp, path_out)
    return {"words": summary["words"], "lines": summary["lines"]}


def main():
    print(json.dumps({"status": "ready"}), flush=True)
    for line in iter(sys.stdin.readline, ""):
        try:
            req = json.loads(line)
            task_id = req["task_id"]
            payload = req.get("payload") or {}
        except (ValueError, KeyError, TypeError):
            print("wordcount_worker: ignoring a bad request", file=sys.stderr, flush=True)
            continue
        reply = {"task_id": task_id, "result": None, "error": None, "retry": False}
        try:
            reply["result"] = count(payload["in"], payload["out"])
        except KeyError:
            reply["error"] = 'payload needs "in" and "out" paths'
        except FileNotFoundError as e:
            reply["error"] = "cannot read %s: %s" % (e.filename, e.strerror)
        except OSError as e:
            reply["error"] = "%s: %s" % (e.filename, e.strerror)
            reply["retry"] = True
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
