#!/usr/bin/env bash
# Builds MoEScope (Release) and starts it.
#   scripts/run.sh                 the desktop app on your default session; the first start
#                                  makes a demo run so every view has data
#   scripts/run.sh ARGS...         moescope-cli with ARGS, e.g. `run --preset olmoe-1b-7b --compare`
# Without a display (no DISPLAY or WAYLAND_DISPLAY), no arguments run the CLI comparison.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_deps.sh
cmake --preset release -DMOESCOPE_TESTS=OFF >/dev/null
cmake --build --preset release --target moescope moescope-cli >/dev/null

if [ $# -eq 0 ]; then
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ -n "${QT_QPA_PLATFORM:-}" ]; then
    exec build/release/app/gui/moescope
  fi
  echo "No display: running the CLI comparison instead of the desktop app." >&2
  set -- run --preset olmoe-1b-7b --scale 8 --tokens 2048 --compare
fi
exec build/release/app/cli/moescope-cli "$@"
