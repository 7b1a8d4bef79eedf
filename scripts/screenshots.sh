#!/usr/bin/env bash
# Makes the README's screenshots: the desktop app under Xvfb (a real X server, the xcb
# platform) on a fresh default session (a temporary XDG_DATA_HOME), which gets the demo run,
# each view saved as a PNG, at a laptop's 1366x768 and a desktop's 1920x1080.
#   scripts/screenshots.sh [FOLDER]   (default: resources/screenshots; one folder per size)
# BUILD_DIR picks the build (default: build/release, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-resources/screenshots}"

command -v xvfb-run >/dev/null || { echo "error: xvfb-run is missing (apt-get install xvfb xauth)" >&2; exit 1; }
build="${BUILD_DIR:-build/release}"
[ -n "${BUILD_DIR:-}" ] || cmake --build --preset release --target moescope >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for size in 1366x768 1920x1080; do
  # A fresh home each time: the demo run is made again, and no window geometry is remembered.
  rm -rf "$work/config" "$work/data"
  XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" QT_QPA_PLATFORM=xcb \
    xvfb-run -a -s "-screen 0 ${size}x24" \
    "$build/app/gui/moescope" --window-size "$size" --screenshots "$out/$size"
done
