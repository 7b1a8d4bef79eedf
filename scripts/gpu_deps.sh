#!/usr/bin/env bash
# Fetches, here, the Debian packages the headless build needs, into .gpu_deps/ (ignored by git),
# for a GPU machine that has CUDA, CMake and a compiler but no package registry. There,
# scripts/gpu_check.sh unpacks them into /tmp/moescope-deps and builds against them. About
# 21 MB: SQLite, OpenBLAS, oneDNN, nlohmann-json, CLI11, GoogleTest, Google Benchmark and
# pkgconf.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libsqlite3-dev libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread
          libopenblas0 libgfortran5 libdnnl-dev libdnnl2 nlohmann-json3-dev libcli11-dev libgtest-dev
          libbenchmark-dev libbenchmark1debian pkgconf pkgconf-bin libpkgconf3)
rm -rf .gpu_deps
mkdir -p .gpu_deps
# apt-get download writes into the current folder; _apt may not be able to, which is harmless.
(cd .gpu_deps && apt-get download "${packages[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed')
echo "$(ls .gpu_deps | wc -l) packages in .gpu_deps ($(du -sh .gpu_deps | cut -f1))"
