#!/usr/bin/env bash
# Installs the Debian 12 packages MoEScope builds with, when any is missing. Idempotent.
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config clang-format clang libclang-rt-14-dev
          libopenblas-dev libdnnl-dev libsqlite3-dev libcli11-dev nlohmann-json3-dev libgtest-dev
          libbenchmark-dev libopenmpi-dev openmpi-bin openssh-client
          qt6-base-dev libqt6svg6 libqcustomplot-dev libgl-dev fonts-dejavu-core poppler-utils)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
