#!/usr/bin/env python3
"""Write runcue.lua into a C file: the library's text and its version.

    embed_lua.py runcue.lua out.c

The version is the Lua file's `local VERSION = '...'`, so the C side always
checks for the version of the text it loads."""
import re
import sys

src, out = sys.argv[1], sys.argv[2]
text = open(src, encoding="utf-8").read()
m = re.search(r"^local VERSION = '([0-9A-Za-z._-]+)'$", text, re.M)
if not m:
    sys.exit(f"{src}: no `local VERSION = '...'` line")


def c_bytes(s):
    """A brace initializer (C11 caps string literals at 4095 bytes)."""
    data = s.encode("utf-8") + b"\0"
    rows = []
    for i in range(0, len(data), 16):
        rows.append("    " + ", ".join(str(b) for b in data[i:i + 16]) + ",")
    return "{\n" + "\n".join(rows) + "\n}"


with open(out, "w", encoding="utf-8") as f:
    f.write("/* Generated from runcue.lua by embed_lua.py; do not edit. */\n")
    f.write('#include "lua_text.h"\n\n')
    f.write(f'const char rc_redis_lua_version[] = "{m.group(1)}";\n')
    f.write("const char rc_redis_lua_text[] = " + c_bytes(text) + ";\n")
