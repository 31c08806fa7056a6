#!/usr/bin/env python3
"""check-exports.py -- libruncue exports its public headers and nothing else.

    scripts/check-exports.py LIBRUNCUE.so HEADER...

The library's layers are compiled with -fvisibility=hidden and the public
headers mark what they declare as visible.  This checks the result:

  * every symbol the shared library defines in its dynamic table is declared
    in one of the public headers (an internal function that leaks out is an
    error: programs could come to depend on it);
  * every function a public header declares (outside a static inline) is
    exported (a public function that is not is an error: a program using it
    would not link).

Exit 0 when both hold, 1 otherwise (with the symbols named), 2 on bad use.
"""
import re
import subprocess
import sys

IDENT = re.compile(r"\b(rc_\w+)\s*\(")


def strip(text):
    """The header without comments, string literals and preprocessor lines."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    # C++'s extern "C" braces, which would put everything one level deep.
    text = re.sub(r"#ifdef __cplusplus\n.*?#endif", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    out = []
    cont = False
    for line in text.split("\n"):
        is_pp = cont or line.lstrip().startswith("#")
        cont = is_pp and line.rstrip().endswith("\\")
        out.append("" if is_pp else line)
    return "\n".join(out)


def declared(text):
    """Functions declared at file scope, and every rc_ name mentioned."""
    text = strip(text)
    funcs, names = set(), set(re.findall(r"\b(rc_\w+)\b", text))
    depth, stmt = 0, []
    for ch in text:
        if ch == "{":
            if depth == 0:
                s = "".join(stmt)
                # A static inline's body, a struct, an enum: not declarations
                # of exported functions (the statement is dropped).
                stmt = [] if not re.search(r"\bextern\s*$", s.strip()) else stmt
            depth += 1
            continue
        if ch == "}":
            depth -= 1
            continue
        if depth:
            continue
        if ch == ";":
            s = " ".join("".join(stmt).split())
            stmt = []
            if s.startswith(("typedef", "static")) or "(*" in s:
                continue
            m = IDENT.search(s)
            if m and not s.startswith(("struct", "enum", "union")) or (
                    m and re.match(r"(struct|enum|union)\s+\w+\s*\*?\s*\w", s)):
                funcs.add(m.group(1))
            continue
        stmt.append(ch)
    return funcs, names


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    so, headers = argv[1], argv[2:]
    try:
        nm = subprocess.run(["nm", "-D", "--defined-only", so], check=True,
                            capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.stderr.write(f"check-exports: nm {so}: {e}\n")
        return 2
    exported = set()
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRVW":
            exported.add(parts[2].split("@")[0])
    funcs, names = set(), set()
    for h in headers:
        try:
            with open(h, encoding="utf-8") as f:
                fs, ns = declared(f.read())
        except OSError as e:
            sys.stderr.write(f"check-exports: {h}: {e}\n")
            return 2
        funcs |= fs
        names |= ns
    ours = {s for s in exported if s.startswith("rc_")}
    leaked = sorted(s for s in ours if s not in names)
    foreign = sorted(s for s in exported - ours if not s.startswith("_"))
    missing = sorted(funcs - exported)
    for s in leaked:
        print(f"check-exports: {s} is exported but no public header declares it")
    for s in foreign:
        print(f"check-exports: {s} is exported but is not the library's (no rc_ prefix)")
    for s in missing:
        print(f"check-exports: {s} is declared in a public header but not exported")
    if leaked or foreign or missing:
        return 1
    print(f"check-exports: {len(exported)} symbols exported, {len(funcs)} public functions,"
          " all declared and all exported")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
