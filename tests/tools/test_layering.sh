#!/usr/bin/env bash
# The layering octet's build enforces, checked on the sources: frontend -> engine -> kernels, one
# way. kernels/ includes no engine header at all (octet/octet.h, octet/graph/, octet/frontend/,
# or any engine/src folder: api/ graph/ ops/ passes/ quant/ runtime/); frontend/ includes nothing
# of engine/src (the public API, octet/graph/graph.h and its own headers are fine). The include
# paths of the CMake targets already make such an include fail to compile; this names the file
# and line. Inside the engine, runtime/ includes nothing of quant/ (quant/ builds on runtime/;
# one target, so only this check holds that). Prints one "FILE:LINE: ..." per forbidden include
# and exits 1 if there is any.
#   test_layering.sh SOURCE_ROOT         check a source tree
#   test_layering.sh --self-test ROOT    also check that a planted bad include is caught
set -u

engine_src='(api|graph|ops|passes|quant|runtime)/'
check() {  # check ROOT: exit status 0 when the tree keeps the layering
  local root="$1" bad=0 hits
  for d in kernels frontend engine/src/runtime; do
    [ -d "$root/$d" ] || { echo "$root/$d: no such folder"; return 2; }
  done
  # kernels/: no engine header, public or internal.
  hits=$(grep -rnE --include='*.h' --include='*.cc' --include='*.cpp' --include='*.hpp' \
    "^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<](octet/(octet|frontend/|graph/)|$engine_src|.*engine/)" \
    "$root/kernels")
  if [ -n "$hits" ]; then
    sed 's/$/   <- kernels\/ must not include engine headers/' <<<"$hits"
    bad=1
  fi
  # frontend/: nothing of engine/src.
  hits=$(grep -rnE --include='*.h' --include='*.cc' --include='*.cpp' --include='*.hpp' \
    "^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<]($engine_src|.*engine/src/)" "$root/frontend")
  if [ -n "$hits" ]; then
    sed 's/$/   <- frontend\/ must not include engine\/src/' <<<"$hits"
    bad=1
  fi
  # engine/src/runtime/: nothing of quant/.
  hits=$(grep -rnE --include='*.h' --include='*.cc' \
    '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]quant/' "$root/engine/src/runtime")
  if [ -n "$hits" ]; then
    sed 's/$/   <- runtime\/ must not include quant\/ (quant\/ builds on runtime\/)/' <<<"$hits"
    bad=1
  fi
  # engine/src names no ISA-specific kernel, level or intrinsic: the kernel registry
  # (kernels/registry.h) binds every family per level, and fallbacks live in kernels/.
  hits=$(grep -rnE --include='*.h' --include='*.cc' \
    '[a-z0-9]_(avx2|avx512|vnni)\b|_mm(256|512)?_[a-z]|__m(128|256|512)|(imm|emm|xmm|smm|pmm|nmm|tmm)intrin\.h|Isa::(avx2|avx512|vnni)' \
    "$root/engine/src")
  if [ -n "$hits" ]; then
    sed 's/$/   <- engine\/src must not name an ISA-specific kernel or intrinsic (use kernels\/registry.h)/' <<<"$hits"
    bad=1
  fi
  # The build files (comments aside): no engine folder on the kernels' include path, no
  # engine/src on the frontend's.
  hits=$(grep -HnE '^[^#]*engine/' "$root/kernels/CMakeLists.txt")
  if [ -n "$hits" ]; then
    sed 's/$/   <- kernels\/ must not see engine folders/' <<<"$hits"
    bad=1
  fi
  hits=$(grep -HnE '^[^#]*engine/src' "$root/frontend/CMakeLists.txt")
  if [ -n "$hits" ]; then
    sed 's/$/   <- frontend\/ must not see engine\/src/' <<<"$hits"
    bad=1
  fi
  return $bad
}

if [ "${1:-}" != "--self-test" ]; then
  root="${1:?usage: test_layering.sh [--self-test] SOURCE_ROOT}"
  check "$root" && echo "layering ok: kernels/ include no engine header, frontend/ nothing of engine/src, runtime/ nothing of quant/, engine/src no ISA-specific symbol"
  exit $?
fi

# --self-test ROOT: the tree passes, and copies with one planted bad include each fail naming it.
root="${2:?usage: test_layering.sh --self-test SOURCE_ROOT}"
failures=0
expect() {  # expect NAME WANT_STATUS PATTERN ROOT
  local out status=0
  out="$(check "$4" 2>&1)" || status=$?
  if [ "$status" != "$2" ] || ! grep -qE -- "$3" <<<"$out"; then
    echo "FAIL $1: exit $status (want $2), output:"
    sed 's/^/    /' <<<"$out"
    failures=$((failures + 1))
  else
    echo "ok   $1"
  fi
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
plant() {  # plant NAME FILE LINE: a copy of the checked folders with LINE prepended to FILE
  mkdir -p "$tmp/$1/engine/src"
  cp -r "$root/kernels" "$root/frontend" "$tmp/$1/"
  cp -r "$root/engine/src/runtime" "$tmp/$1/engine/src/"
  { echo "$3"; cat "$root/$2"; } >"$tmp/$1/$2"
}
expect "the source tree keeps the layering" 0 "^$" "$root"
plant kernel_octet_h kernels/src/isa.cc '#include "octet/octet.h"'
expect "kernels including octet/octet.h fail, naming file and line" 1 "kernels/src/isa.cc:1:#include \"octet/octet.h\"" "$tmp/kernel_octet_h"
plant kernel_ops kernels/src/registry.cc '#include "ops/op_registry.h"'
expect "kernels including ops/ fail" 1 "kernels/src/registry.cc:1:" "$tmp/kernel_ops"
plant frontend_ops frontend/src/onnx_loader.cc '#include "ops/op_registry.h"'
expect "frontend including engine/src (ops/) fails, naming file and line" 1 "frontend/src/onnx_loader.cc:1:#include \"ops/op_registry.h\"" "$tmp/frontend_ops"
plant frontend_runtime frontend/src/onnx_internal.h '#  include "runtime/compiler.h"'
expect "frontend including runtime/ fails" 1 "frontend/src/onnx_internal.h:1:" "$tmp/frontend_runtime"
plant frontend_graph_ok frontend/src/onnx_writer.cc '#include "octet/graph/graph.h"'
expect "frontend including the graph IR is fine" 0 "^$" "$tmp/frontend_graph_ok"
plant runtime_quant engine/src/runtime/compiler.cc '#include "quant/quantize.h"'
expect "runtime including quant/ fails" 1 "engine/src/runtime/compiler.cc:1:#include \"quant/quantize.h\"" "$tmp/runtime_quant"
plant engine_isa_symbol engine/src/runtime/compiler.cc 'static const auto add = octet::kernels::qadd_q8_avx2;'
expect "engine/src naming an ISA-specific kernel fails" 1 "engine/src/runtime/compiler.cc:1:.*qadd_q8_avx2" "$tmp/engine_isa_symbol"
plant engine_intrinsic engine/src/runtime/compiler.cc '#include <immintrin.h>'
expect "engine/src including intrinsics fails" 1 "engine/src/runtime/compiler.cc:1:#include <immintrin.h>" "$tmp/engine_intrinsic"
plant engine_isa_level engine/src/runtime/compiler.cc 'bool vnni = isa == kernels::Isa::vnni;'
expect "engine/src testing an ISA level fails" 1 "engine/src/runtime/compiler.cc:1:" "$tmp/engine_isa_level"
plant kernels_cmake kernels/CMakeLists.txt 'include_directories(${PROJECT_SOURCE_DIR}/engine/include)'
expect "engine/include on the kernels' include path fails" 1 "kernels/CMakeLists.txt" "$tmp/kernels_cmake"
[ "$failures" = 0 ] || { echo "$failures self-test case(s) failed"; exit 1; }
echo "layering self-test ok"
