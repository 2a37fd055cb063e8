#!/usr/bin/env bash
# Installs everything octet needs from Debian's packages. Idempotent and quiet: when every
# package is already installed it does nothing (no apt-get update).
#   setup.sh                   install what is missing
#   setup.sh --print-packages  print the package list, one a line (tools/check_install_closure.py)
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libdnnl-dev libxbyak-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libcpu-features-dev libbenchmark-dev libgtest-dev libgmock-dev nlohmann-json3-dev
  libjpeg-dev zlib1g-dev
  libonnx-testdata dataset-fashion-mnist
  python3 python3-torch python3-torchvision python3-onnx python3-numpy
  # the Python package octet: its binding, and its tests
  python3-dev pybind11-dev python3-pytest
  clang libclang-rt-14-dev
  # clang's CMake toolchain records LLVM's binutils, ld.lld, llvm-ar and llvm-addr2line, when they
  # are installed: installing them everywhere makes the fuzz build configure alike on every machine.
  lld llvm
)
# Node.js + npm run the ONNX Runtime peer; a Node.js from another source is fine too.
node_packages=(nodejs npm)

if [ "${1:-}" = "--print-packages" ]; then
  printf '%s\n' "${packages[@]}" "${node_packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
