#!/usr/bin/env bash
# Builds MoEScope with warnings as errors and runs every test with ctest.
#   scripts/test.sh             the normal build (CUDA code compiled when nvcc is found)
#   scripts/test.sh --sanitize  the core and CLI tests under AddressSanitizer and UBSan
# Tests that need a GPU (with the CUDA backend) will carry the ctest label `gpu`.
set -euo pipefail
cd "$(dirname "$0")/.."

preset=ci
[ "${1:-}" = "--sanitize" ] && preset=sanitize

scripts/install_deps.sh
cmake --preset "$preset"
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"
