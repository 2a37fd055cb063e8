#!/usr/bin/env bash
# FP32 latency, octet vs ONNX Runtime, batch 1, on the same ONNX files, measured in the same
# run: for each model and round, ONNX Runtime (ort_bench.mjs, throughput mode) then octet
# (octet_run --profile), each reporting the median latency of its runs; the table gives the
# median over rounds and the ratio ORT ms / octet ms (>= 1: octet is faster).
#
#   bench/peers/compare_latency.sh [--octet-run PATH] [--models-dir DIR] [--ort-dir DIR]
#       [--threads N] [--rounds R] [--runs N] [--isa ISA] [MODEL ...]
#
# MODEL names a file DIR/MODEL.onnx with DIR/MODEL/test_data_set_0 (default: resnet-50
# resnet-18 mobilenet-v2). Defaults: --octet-run build/release/tools/octet_run, --models-dir
# build/models (tools/export_torchvision.py), --ort-dir $OCTET_ORT_DIR or build/peers
# (bench/peers/install_ort.sh), 2 threads,
# 3 rounds, 20 octet runs and 4 s of ORT runs per round, --isa auto.
# Output: one markdown table on stdout; progress on stderr. Exit 1 when a run fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
octet_run="$root/build/release/tools/octet_run"
models_dir="$root/build/models"
ort_dir="${OCTET_ORT_DIR:-$root/build/peers}"
threads=2
rounds=3
runs=20
isa=auto
models=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --octet-run) octet_run="$2"; shift 2 ;;
    --models-dir) models_dir="$2"; shift 2 ;;
    --ort-dir) ort_dir="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --isa) isa="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "compare_latency: unknown option $1" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
[[ ${#models[@]} -gt 0 ]] || models=(resnet-50 resnet-18 mobilenet-v2)
[[ -x "$octet_run" ]] || { echo "compare_latency: no octet_run at $octet_run (--octet-run)" >&2; exit 2; }
command -v node >/dev/null || { echo "compare_latency: node is not installed" >&2; exit 2; }

median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) exit 1; print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

echo "| model | octet FP32 ms ($isa) | ORT FP32 ms | ORT/octet | rounds |"
echo "|---|---|---|---|---|"
status=0
for m in "${models[@]}"; do
  onnx="$models_dir/$m.onnx"
  data="$models_dir/$m/test_data_set_0"
  if [[ ! -f "$onnx" || ! -d "$data" ]]; then
    echo "compare_latency: $m: missing $onnx or $data" >&2
    status=1
    continue
  fi
  octet_ms=()
  ort_ms=()
  for ((r = 1; r <= rounds; r++)); do
    echo "compare_latency: $m round $r/$rounds: ORT" >&2
    ort_json=$(node "$here/ort_bench.mjs" --model "$onnx" --threads "$threads" --time 4 --warmup 5 \
                 --input-from "$data" --ort-dir "$ort_dir") || { status=1; break; }
    ort_ms+=("$(sed -n 's/.*"latency_ms":{"median":\([0-9.eE+-]*\).*/\1/p' <<<"$ort_json")")
    echo "compare_latency: $m round $r/$rounds: octet" >&2
    oct_out=$("$octet_run" --model "$onnx" --test-data "$data" --threads "$threads" --isa "$isa" \
                --profile="$runs") || { echo "$oct_out" >&2; status=1; break; }
    octet_ms+=("$(sed -n 's/^latency: median \([0-9.]*\) ms.*/\1/p' <<<"$oct_out")")
  done
  [[ ${#octet_ms[@]} -gt 0 && ${#ort_ms[@]} -gt 0 ]] || continue
  o=$(printf '%s\n' "${octet_ms[@]}" | median)
  p=$(printf '%s\n' "${ort_ms[@]}" | median)
  ratio=$(awk -v a="$p" -v b="$o" 'BEGIN {printf "%.2f", a / b}')
  printf '| %s | %.2f | %.2f | %s | %d |\n' "$m" "$o" "$p" "$ratio" "${#octet_ms[@]}"
done
exit $status
