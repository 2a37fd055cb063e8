#!/usr/bin/env bash
# The main job (README): installs the dependencies, builds from scratch, prepares the models
# and runs bench_int8, which prints the two INT8-vs-FP32 tables (accuracy drop, speed-up) with
# ONNX Runtime measured beside octet. Extra arguments go to bench_int8, e.g.
#   bash tools/run_bench.sh --isa=all --limit=200
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash tools/setup.sh

# Architectures for the speed table (random weights, fixed seeds), cached in build/models.
/usr/bin/python3 tools/export_torchvision.py --out "$root/build/models"
# Without the zoo, two small nets trained on Debian's Fashion-MNIST give table 1 real data.
zoo=${OCTET_ZOO:-$root/../shared/zoo}
if [ ! -f "$zoo/manifest.json" ]; then
  /usr/bin/python3 tools/train_fmnist.py --out "$root/build/fmnist"
fi
# ONNX Runtime for Node.js, the peer (npm, --ignore-scripts); the tables go on without it.
bash bench/peers/install_ort.sh "$root/build/peers" || echo "run_bench: ONNX Runtime peer unavailable" >&2

rm -rf build/release
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target bench_int8
exec build/release/bench/bench_int8 --peer=ort --plot="$root/build/bench_int8.svg" "$@"
