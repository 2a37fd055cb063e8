#!/usr/bin/env bash
# The main job (README): installs the dependencies, builds from scratch, exports the
# torchvision architectures and runs every model with reference data through octet_run.
# (bench_int8's INT8-vs-FP32 tables replace this once the benchmark lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash tools/setup.sh
models="$root/build/models"
mkdir -p "$models"
/usr/bin/python3 tools/export_torchvision.py --out "$models"
rm -rf build/release
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target octet_run
zoo=${OCTET_ZOO:-$root/../shared/zoo}
status=0
for dir in "$zoo/models" "$models"; do
  [ -d "$dir" ] || { echo "skipping $dir (absent)"; continue; }
  for onnx in "$dir"/*.onnx; do
    name=$(basename "$onnx" .onnx)
    td="$dir/$name/test_data_set_0"
    [ -d "$td" ] || continue
    echo "== $name"
    build/release/tools/octet_run --model "$onnx" --test-data "$td" "$@" || status=1
  done
done
exit $status
