#!/usr/bin/env bash
# Install the Debian packages runcue builds and tests with, only those missing.
# Usage: scripts/deps.sh            (everything the build and the tests use)
set -euo pipefail

packages=(
  gcc g++ pkg-config meson ninja-build
  libcjson-dev        # JSON params and results
  libcriterion-dev    # test suites
  libpcg-cpp-dev      # reference PCG implementation the simulator's PRNG is checked against
  python3             # the Python worker, simulator regression tests
  libncurses-dev      # runcue-top and runcue-sim --tui (the ncurses dashboard)
  libsdl2-dev         # runcue-viz and runcue-sim --sdl
  libsdl2-gfx-dev     # the SDL view's shapes and 8x8 text
  libpng-dev          # the SDL view's --screenshot PNG files
  tmux                # drives the dashboard in its tests (send-keys, capture-pane)
  redis-server        # the Redis transport's tests and benchmark start their own server
  libhiredis-dev      # the Redis transport (hiredis 0.14 or 1.x, asynchronous API)
  liblua5.1-0-dev     # the simulator runs the same functions library (runcue.lua) in Lua 5.1
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "deps: all present"
fi
