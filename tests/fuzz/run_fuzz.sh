#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a given time.
#
#   tests/fuzz/run_fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, all targets)
#
# Environment: OCTET_FUZZ_BUILD (build folder, default build/fuzz), OCTET_ZOO (the model zoo,
# default ../shared/zoo), OCTET_FUZZ_JOBS (build parallelism, default nproc), OCTET_FUZZ_NO_BUILD=1
# (fuzz the binaries already built there, e.g. to run targets one after another).
#
# Steps, per target: replay the committed regression inputs (tests/fuzz/regressions/<target>),
# then fuzz with -max_total_time=SECONDS -rss_limit_mb=2048 -timeout=10, starting from the
# seed corpus (make_seeds.py) plus the corpus grown by earlier runs in the build folder.
# -malloc_limit_mb=512 makes any single allocation over 512 MB a finding: no input of at
# most 128 KB justifies one (compile limits memory to 256 MB, the datasets are far smaller),
# and it catches allocations sized from a header deterministically, unlike the RSS limit.
# Crashes, leaks, timeouts and out-of-memory inputs land in <build>/findings/<run>/<target>/.
# Prints one line of statistics per target; exits 1 on any finding.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_model_load fuzz_compiled_load fuzz_tensor_proto fuzz_datasets fuzz_manifest)
build="${OCTET_FUZZ_BUILD:-$root/build/fuzz}"
jobs="${OCTET_FUZZ_JOBS:-$(nproc)}"
zoo="${OCTET_ZOO:-$(dirname "$root")/shared/zoo}"

if [ "${OCTET_FUZZ_NO_BUILD:-0}" = 1 ]; then
  echo "== fuzz binaries in $build (OCTET_FUZZ_NO_BUILD=1: not rebuilt)"
else
  echo "== fuzz build in $build"
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOCTET_BUILD_FUZZERS=ON -DOCTET_SANITIZE=address,undefined -DOCTET_BUILD_BENCH=OFF -DOCTET_BUILD_TOOLS=OFF \
    -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
  cmake --build "$build" -j"$jobs" --target "${targets[@]}"
fi

seeds="$build/seeds"
if [ ! -d "$seeds" ]; then
  /usr/bin/python3 "$here/make_seeds.py" --out "$seeds.tmp" --zoo "$zoo"
  mv "$seeds.tmp" "$seeds"
fi

# Compiled-model seeds come from this build: the fuzz binary compiles the ONNX seeds itself.
for t in "${targets[@]}"; do
  if [ "$t" = fuzz_compiled_load ] && [ ! -d "$seeds/$t" ]; then
    OCTET_FUZZ_ONNX_SEEDS="$seeds/fuzz_model_load" OCTET_FUZZ_COMPILED_SEEDS="$seeds/$t.tmp" \
      "$build/tests/fuzz/$t" -runs=0 "$seeds/fuzz_model_load" >/dev/null 2>"$build/compiled_seeds.log" ||
      { echo "!! fuzz_compiled_load: writing seeds failed"; tail -n 20 "$build/compiled_seeds.log"; exit 1; }
    mv "$seeds/$t.tmp" "$seeds/$t"
  fi
done
# Per-target input size cap: models and tensors up to 128 KB / 64 KB keep executions fast.
max_len() {
  case "$1" in
    fuzz_model_load|fuzz_compiled_load) echo 131072 ;;
    *) echo 65536 ;;
  esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
summary=()
run_id=$(date +%Y%m%d-%H%M%S)
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/$t"
  findings="$build/findings/$run_id/$t"
  corpus="$build/corpus/$t"
  log="$build/logs/$t.log"
  mkdir -p "$findings" "$corpus" "$(dirname "$log")"

  regressions=("$here/regressions/$t"/*)
  if [ -e "${regressions[0]}" ]; then
    echo "== $t: replaying ${#regressions[@]} regression inputs"
    if ! "$bin" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 "${regressions[@]}" >"$log.replay" 2>&1; then
      echo "!! $t: a regression input fails again (log: $log.replay)"
      tail -n 30 "$log.replay"
      failed=1
    fi
  fi

  echo "== $t: fuzzing for ${seconds}s (log: $log)"
  status=0
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -max_len="$(max_len "$t")" \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$seeds/$t" >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || true)
  found=$(find "$findings" -type f | wc -l)
  line="$t: ${seconds}s, ${execs:-?} executions (${rate:-?}/s), coverage ${cov:-?} edges, corpus $(find "$corpus" -type f | wc -l) files (+ $(find "$seeds/$t" -type f | wc -l) seeds), findings $found"
  summary+=("$line")
  if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
    echo "!! $t: libFuzzer exit status $status, findings in $findings:"
    ls -l "$findings"
    grep -E -m 20 'ERROR|runtime error|terminate called|what\(\)|SUMMARY|Finding' "$log" || tail -n 40 "$log"
    failed=1
  fi
done

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
