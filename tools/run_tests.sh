#!/usr/bin/env bash
# The test command (README): installs the dependencies, builds from scratch and runs every
# suite: the Release build with all tests, the frontend/engine/op tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the example built against the
# installed CMake package.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

bash tools/setup.sh

# Models generated for the tests (torchvision architectures) are cached across runs.
models="$root/build/models"
mkdir -p "$models"
echo "== exporting torchvision architectures into $models (cached)"
/usr/bin/python3 tools/export_torchvision.py --out "$models"

echo "== release build"
rm -rf build/release
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$root/build/install" >/dev/null
cmake --build build/release -j"$jobs"
(cd build/release && OCTET_MODELS_DIR="$models" ctest --output-on-failure -j1)

echo "== sanitizer build (address,undefined): frontend and engine tests"
rm -rf build/asan
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCTET_SANITIZE=address,undefined \
  -DOCTET_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan -j"$jobs" --target test_frontend test_engine
(cd build/asan && ctest --output-on-failure -L "frontend|engine")

echo "== install + example consumer (find_package(octet))"
rm -rf build/install build/example
cmake --install build/release >/dev/null
cmake -S examples/embed -B build/example -DCMAKE_PREFIX_PATH="$root/build/install" >/dev/null
cmake --build build/example -j"$jobs"
build/example/octet_embed_example "$models/squeezenet1.1.onnx"

echo "== all test stages passed"
