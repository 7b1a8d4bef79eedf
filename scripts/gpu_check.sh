#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds the headless configuration (no Qt) with the CUDA
# backend, runs the CUDA and GPU tests, runs them again under compute-sanitizer (memcheck and
# racecheck), then the GPU benchmarks, and prints a summary to paste into a report.
#   scripts/gpu_check.sh            everything
#   scripts/gpu_check.sh --quick    tests only (no sanitizer, no benchmarks)
# BUILD_DIR (default build/gpu) says where to build. Needs CMake, a C++20 compiler, the CUDA
# toolkit, and the libraries of scripts/install_deps.sh (or the packages scripts/gpu_deps.sh
# carries in .gpu_deps/); it says which are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/gpu}
quick=0
[ "${1:-}" = "--quick" ] && quick=1

# Packages carried from a Debian machine (scripts/gpu_deps.sh), for a machine with no registry.
include_flags=()
if compgen -G ".gpu_deps/*.deb" >/dev/null; then
  deps=/tmp/moescope-deps
  mkdir -p "$deps"
  for deb in .gpu_deps/*.deb; do
    if command -v dpkg >/dev/null; then
      dpkg -x "$deb" "$deps"
    else  # a .deb is an ar archive holding data.tar.xz
      ar p "$deb" data.tar.xz | tar -xJ -C "$deps"
    fi
  done
  lib=$deps/usr/lib/x86_64-linux-gnu
  export PATH=$deps/usr/bin:$PATH
  export LD_LIBRARY_PATH=$lib:$lib/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export PKG_CONFIG_PATH=$lib/openblas-pthread/pkgconfig:$lib/pkgconfig:$deps/usr/share/pkgconfig
  export PKG_CONFIG_SYSROOT_DIR=$deps
  export CMAKE_PREFIX_PATH=$deps/usr:$lib/openblas-pthread
  include_flags=(-I"$deps/usr/include" -I"$deps/usr/include/x86_64-linux-gnu/openblas-pthread")
fi

missing=()
for header in sqlite3.h cblas.h oneapi/dnnl/dnnl.hpp nlohmann/json.hpp CLI/CLI.hpp gtest/gtest.h \
              benchmark/benchmark.h; do
  echo "#include <$header>" | c++ -std=c++20 ${include_flags[@]+"${include_flags[@]}"} -x c++ \
    -fsyntax-only - \
    2>/dev/null || missing+=("$header")
done
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || missing+=("nvcc")
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: missing on this machine: ${missing[*]} (scripts/install_deps.sh installs them;" \
       "on a machine with no registry, run scripts/gpu_deps.sh where there is one and carry" \
       ".gpu_deps)" >&2
  exit 1
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" ${generator[@]+"${generator[@]}"} -DCMAKE_BUILD_TYPE=Release -DMOESCOPE_GUI=OFF \
      -DMOESCOPE_CUDA=ON -DMOESCOPE_WERROR=ON
cmake --build "$build" -j "$(nproc)"

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
{
  echo "## MoEScope GPU check, $(date -u +%Y-%m-%d)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/GPU: /'
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >>"$summary"

# A failure is written down, and the summary still printed at the end.
status=0
ctest --test-dir "$build" -L 'gpu|cuda' -j 1 --output-on-failure | tee "$build/gpu_tests.log" ||
  status=1
grep -E 'tests passed|tests failed' "$build/gpu_tests.log" | sed 's/^/tests: /' >>"$summary"

if [ $quick -eq 0 ]; then
  # CUPTI and compute-sanitizer cannot share a process (the backend falls back to CUDA events
  # there), so the tests that expect CUPTI are left out, and so is the one that asks for a
  # petabyte on purpose. Racecheck is slow on cuBLAS's kernels: the small cases only.
  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  no_cupti='*Cupti*:*WholeRun*:*TheSessionStores*:*BadRequests*'
  memcheck_filter="--gtest_filter=-$no_cupti:*_T16384_*:*_T4096_*"
  racecheck_filter="--gtest_filter=*_T1_*:*_T7_*:Gating.*:-$no_cupti"
  for tool in memcheck racecheck; do
    filter=$memcheck_filter
    [ "$tool" = racecheck ] && filter=$racecheck_filter
    if "$sanitizer" --tool "$tool" --error-exitcode 1 "$build/tests/gpu/gpu_tests" "$filter" \
        >"$build/sanitizer_$tool.log" 2>&1; then
      echo "compute-sanitizer $tool: clean" >>"$summary"
    else
      echo "compute-sanitizer $tool: FAILED (see $build/sanitizer_$tool.log)" >>"$summary"
      status=1
    fi
  done
  torch=()
  python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null &&
    torch=(--torch)
  scripts/bench_gpu.py "$build/tests/bench/cuda_bench" ${torch[@]+"${torch[@]}"} |
    tee -a "$summary" || status=1
fi

echo
cat "$summary"
exit $status
