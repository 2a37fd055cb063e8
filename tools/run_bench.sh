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
# The two BERT rows, into the same folder (cached; the first export of bert-large takes
# minutes: torch's float64 reference forward at sequence 384).
/usr/bin/python3 tools/export_bert.py --out "$root/build/models"
# Without the zoo, two small nets trained on Debian's Fashion-MNIST give table 1 real data.
zoo=${OCTET_ZOO:-$root/../shared/zoo}
if [ ! -f "$zoo/manifest.json" ]; then
  /usr/bin/python3 tools/train_fmnist.py --out "$root/build/fmnist"
fi
# ONNX Runtime for Node.js, the peer (npm, --ignore-scripts). It is half of the tables: a peer
# that cannot be installed stops the job here with npm's own error (to measure octet alone:
# bash tools/run_bench.sh --peer=none).
peer_wanted=1
previous=""
for a in "$@"; do
  if [ "$a" = "--peer=none" ] || { [ "$previous" = "--peer" ] && [ "$a" = "none" ]; }; then peer_wanted=0; fi
  previous="$a"
done
if [ $peer_wanted = 1 ] && ! bash bench/peers/install_ort.sh "$root/build/peers" >/dev/null; then
  echo "run_bench: the ONNX Runtime peer could not be installed (npm's error above); fix that and run again," >&2
  echo "run_bench: or measure octet alone with: bash tools/run_bench.sh --peer=none" >&2
  exit 1
fi

rm -rf build/release
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target bench_int8
exec build/release/bench/bench_int8 --plot="$root/build/bench_int8.svg" "$@"
