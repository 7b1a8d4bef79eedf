#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds the headless configuration (no Qt) with the CUDA
# backend, runs the CUDA and GPU tests, runs them again under compute-sanitizer (memcheck and
# racecheck), then the GPU benchmarks, and prints a summary to paste into a report.
#   scripts/gpu_check.sh            everything
#   scripts/gpu_check.sh --quick    tests only (no sanitizer, no benchmarks)
# BUILD_DIR (default build/gpu) says where to build. Needs CMake, a C++20 compiler, the CUDA
# toolkit, and the libraries of scripts/install_deps.sh; it says which are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/gpu}
quick=0
[ "${1:-}" = "--quick" ] && quick=1

missing=()
for header in sqlite3.h cblas.h nlohmann/json.hpp CLI/CLI.hpp gtest/gtest.h \
              benchmark/benchmark.h; do
  echo "#include <$header>" | c++ -std=c++20 -x c++ -fsyntax-only - 2>/dev/null ||
    missing+=("$header")
done
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || missing+=("nvcc")
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: missing on this machine: ${missing[*]} (see scripts/install_deps.sh)" >&2
  exit 1
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DMOESCOPE_GUI=OFF \
      -DMOESCOPE_CUDA=ON -DMOESCOPE_WERROR=ON
cmake --build "$build" -j "$(nproc)"

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
{
  echo "## MoEScope GPU check, $(date -u +%Y-%m-%d)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/GPU: /'
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >>"$summary"

ctest --test-dir "$build" -L 'gpu|cuda' -j 1 --output-on-failure | tee "$build/gpu_tests.log"
grep -E 'tests passed|tests failed' "$build/gpu_tests.log" | sed 's/^/tests: /' >>"$summary"

if [ $quick -eq 0 ]; then
  # CUPTI and compute-sanitizer cannot share a process: the backend falls back to CUDA events
  # there, so the CUPTI tests are left out of these runs.
  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  filter='--gtest_filter=-*Cupti*:*WholeRun*:*_T16384_*:*_T4096_*'
  for tool in memcheck racecheck; do
    if "$sanitizer" --tool "$tool" --error-exitcode 1 "$build/tests/gpu/gpu_tests" "$filter" \
        >"$build/sanitizer_$tool.log" 2>&1; then
      echo "compute-sanitizer $tool: clean" >>"$summary"
    else
      echo "compute-sanitizer $tool: FAILED (see $build/sanitizer_$tool.log)" >>"$summary"
    fi
  done
  torch=()
  python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null &&
    torch=(--torch)
  scripts/bench_gpu.py "$build/tests/bench/cuda_bench" "${torch[@]}" | tee -a "$summary"
fi

echo
cat "$summary"
