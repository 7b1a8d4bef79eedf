#!/usr/bin/env bash
# Fails when a C++ or CUDA source is not formatted by the repository's .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."

files=$(git ls-files '*.h' '*.cpp' '*.cu' '*.cuh')
[ -z "$files" ] && exit 0
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
echo "clang-format: $(echo "$files" | wc -l) files formatted"
