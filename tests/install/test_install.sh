#!/usr/bin/env bash
# Install the build into a scratch root, then build and run a program against
# the installed headers and libraries through pkg-config, shared and static.
set -euo pipefail
build=$1 src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

meson install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null

pc=$(find "$root" -name runcue.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no runcue.pc installed"; exit 1; }
for f in runcue.h runcue_transport.h runcue_shm.h; do
  [ -n "$(find "$root" -name "$f")" ] || { echo "FAIL: $f not installed"; exit 1; }
done
[ -n "$(find "$root" -name 'libruncue.so*')" ] || { echo "FAIL: no shared library"; exit 1; }
[ -n "$(find "$root" -name 'libruncue.a')" ] || { echo "FAIL: no static library"; exit 1; }

export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$root
libdir=$(dirname "$(find "$root" -name 'libruncue.so' | head -n 1)")

cc -std=c11 -Wall -Wextra -Werror "$src" $(pkg-config --cflags --libs runcue) -o "$root/app-shared"
LD_LIBRARY_PATH=$libdir "$root/app-shared"

cc -std=c11 -Wall -Wextra -Werror "$src" $(pkg-config --cflags runcue) \
  "$libdir/libruncue.a" $(pkg-config --libs-only-l --static runcue | sed 's/-lruncue//') \
  -lcjson -lpthread -lm -o "$root/app-static"
"$root/app-static"
if ldd "$root/app-static" | grep -q libruncue; then
  echo "FAIL: the static build still needs libruncue.so"; exit 1
fi
echo "install: 2 passed, 0 failed"
