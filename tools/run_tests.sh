#!/usr/bin/env bash
# The test command (README): installs the dependencies, builds from scratch and runs every
# suite: the Release build with all tests, the frontend/engine/op tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer (with the op, quantization and C API tests), the
# examples built against the installed package (CMake; pkg-config for the C one; the Python
# examples on the installed Python package, whose pytest suite runs in the Release ctest), the
# fuzz targets for 60 s each (tests/fuzz/run_fuzz.sh), and the
# reliability suite (concurrent sessions) under ThreadSanitizer; last, a check that every Debian
# package the builds used is one that tools/setup.sh installs on a fresh machine.
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

echo "== sanitizer build (address,undefined): frontend, engine, op, quantization and C API tests"
rm -rf build/asan
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCTET_SANITIZE=address,undefined \
  -DOCTET_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan -j"$jobs" --target test_frontend test_engine test_ops test_quant test_c_api test_c_api_c
(cd build/asan && ctest --output-on-failure -L "frontend|engine|ops|quant|c_api")

echo "== install + example consumer (find_package(octet))"
rm -rf build/install build/example
cmake --install build/release >/dev/null
cmake -S examples/embed -B build/example -DCMAKE_PREFIX_PATH="$root/build/install" >/dev/null
cmake --build build/example -j"$jobs"
build/example/octet_embed_example "$models/squeezenet1.1.onnx"

echo "== C example consumer (pkg-config octet)"
rm -rf build/example_c
mkdir -p build/example_c
PKG_CONFIG_PATH="$root/build/install/lib/pkgconfig" make -C examples/c BUILD="$root/build/example_c"
build/example_c/classify "$models/squeezenet1.1.onnx"

echo "== installed Python package: its pytest suite, then examples/python (serve.py --self-test; classify.py with the zoo)"
python_version=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
site="$root/build/install/lib/python$python_version/dist-packages"
(cd "$root/build" && PYTHONPATH="$site" OCTET_RUN="$root/build/release/tools/octet_run" \
  /usr/bin/python3 -m pytest -v -p no:cacheprovider "$root/tests/python")
PYTHONPATH="$site" /usr/bin/python3 examples/python/serve.py "$models/squeezenet1.1.onnx" --self-test
zoo="${OCTET_ZOO:-$root/../shared/zoo}"
if [ -f "$zoo/manifest.json" ]; then
  PYTHONPATH="$site" /usr/bin/python3 examples/python/classify.py --zoo "$zoo"
else
  echo "skipped examples/python/classify.py: no zoo at $zoo"
fi

echo "== fuzz (libFuzzer, ASan + UBSan): each target for 60 s, fails on any finding"
rm -rf build/fuzz
OCTET_FUZZ_BUILD="$root/build/fuzz" OCTET_FUZZ_JOBS="$jobs" bash tests/fuzz/run_fuzz.sh 60
echo "== reliability suite under ASan + UBSan (the fuzz build; stress loops shortened: OCTET_RELIABILITY_SCALE=10)"
cmake --build build/fuzz -j"$jobs" --target test_reliability
(cd build/fuzz && OCTET_RELIABILITY_SCALE=10 ctest --output-on-failure -L 'reliability|fuzz')

echo "== thread sanitizer build: test_reliability (8 threads x 200 inferences, bit-for-bit)"
rm -rf build/tsan
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCTET_SANITIZE=thread \
  -DOCTET_BUILD_BENCH=OFF -DOCTET_BUILD_TOOLS=OFF >/dev/null
cmake --build build/tsan -j"$jobs" --target test_reliability
(cd build/tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --output-on-failure -L reliability)

echo "== install closure: every Debian package these builds used is one tools/setup.sh installs"
# A package installed by hand (or only Recommended) keeps this machine green while a fresh one
# fails: fail here, naming it.
/usr/bin/python3 tools/check_install_closure.py

echo "== all test stages passed"
