#!/usr/bin/env bash
# Builds the libFuzzer targets (the fuzz preset: clang with ASan and UBSan) and runs each one on
# seeds the project's own writers make (tests/fuzz/fuzz_seeds.cpp).
#   scripts/fuzz.sh [SECONDS]   each target this long (default 60, what CI runs); 600 for the
#                               10-minute local campaign
# The corpora grow in build/fuzz/corpus/TARGET and are kept between runs. A crash, a leak,
# undefined behaviour or an exception other than moescope::Error fails the script and leaves
# its input in build/fuzz/crashes/ (replay it: build/fuzz/tests/fuzz/fuzz_TARGET FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"

scripts/install_deps.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"

build=build/fuzz
rm -rf "$build/seeds"
"$build/tests/fuzz/fuzz_seeds" "$build/seeds"
mkdir -p "$build/crashes"

status=0
for target in model_spec safetensors session; do
  corpus="$build/corpus/$target"
  log="$build/fuzz_$target.log"
  mkdir -p "$corpus"
  # Text and tensor headers may grow past the seeds; a session keeps the seed's size.
  max_len=()
  [ "$target" != session ] && max_len=(-max_len=4096)
  echo "fuzz_$target: ${seconds} s on $(ls "$build/seeds/$target" | wc -l) seeds and $(ls "$corpus" | wc -l) kept inputs"
  if ! "$build/tests/fuzz/fuzz_$target" "$corpus" "$build/seeds/$target" \
      -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 "${max_len[@]}" \
      -print_final_stats=1 -artifact_prefix="$build/crashes/$target-" >"$log" 2>&1; then
    echo "fuzz_$target FOUND A PROBLEM (the input is in $build/crashes/); the end of its log:"
    tail -n 40 "$log"
    status=1
    continue
  fi
  # "#4036 DONE cov: 3592 ft: 13551 corp: 285/8805Kb ...": edges covered, features, corpus.
  done_line=$(grep -E "DONE" "$log" | tail -n 1 || true)
  runs=$(grep -E "stat::number_of_executed_units" "$log" | awk '{print $2}' || true)
  echo "  ${runs:-?} inputs; $(echo "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9A-Za-z]+' || echo "no final statistics in $log")"
done
exit $status
