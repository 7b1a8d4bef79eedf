#!/usr/bin/env bash
# Builds MoEScope (Release) and runs moescope-cli with the given arguments. With none, it
# compares every policy on a scaled-down OLMoE, which takes a few seconds on a laptop.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_deps.sh
cmake --preset release -DMOESCOPE_TESTS=OFF >/dev/null
cmake --build --preset release --target moescope-cli >/dev/null

if [ $# -eq 0 ]; then
  set -- run --preset olmoe-1b-7b --scale 8 --tokens 2048 --compare
fi
exec build/release/app/cli/moescope-cli "$@"
