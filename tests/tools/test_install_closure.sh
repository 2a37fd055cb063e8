#!/usr/bin/env bash
# Tests tools/check_install_closure.py on this build folder: it passes as setup.sh stands, and
# it fails, naming the package, when setup.sh's list lacks a package the build used (the
# oneDNN headers, as with OpenCL before: a fresh machine would fail at configure or compile),
# also when only a package config file (<Pkg>_DIR in CMakeCache.txt) names that package.
#   test_install_closure.sh BUILD_DIR
set -u
build="$1"
here="$(cd "$(dirname "$0")" && pwd)"
check="$here/../../tools/check_install_closure.py"
failures=0
passed=0
expect() {  # expect NAME STATUS PATTERN -- command...
  local name="$1" want="$2" pattern="$3"
  shift 4
  local out status=0
  out="$("$@" 2>&1)" || status=$?
  if [ "$status" != "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: exit $status (want $want), output:"
    echo "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $name"
    passed=$((passed + 1))
  fi
}

expect "the build's packages are all in setup.sh's closure" 0 "^install closure ok" -- \
  /usr/bin/python3 "$check" "$build"
expect "a used -dev package missing from setup.sh is named" 1 "from package 'libdnnl-dev', which tools/setup.sh does not install" -- \
  /usr/bin/python3 "$check" --without libdnnl-dev "$build"

# A build folder whose only trace of a package is a package config file found through <Pkg>_DIR.
fake="$(mktemp -d)"
trap 'rm -rf "$fake"' EXIT
config_dir=$(dpkg -L libdnnl-dev 2>/dev/null | grep -E '/cmake/dnnl$' | head -n 1)
if [ -n "$config_dir" ]; then
  printf 'dnnl_DIR:PATH=%s\n' "$config_dir" >"$fake/CMakeCache.txt"
  expect "a package config file counts" 1 "dnnl-config.cmake from package 'libdnnl-dev'" -- \
    /usr/bin/python3 "$check" --without libdnnl-dev "$fake"
  expect "... and passes with the package listed" 0 "^install closure ok" -- /usr/bin/python3 "$check" "$fake"
else
  echo "skip a package config file counts: libdnnl-dev ships no cmake/dnnl folder here"
fi
# A toolchain utility CMake only looked up (clang's builds record llvm-ar, ld.lld ... when they
# are installed) counts only when a build rule runs it. cmake's own binary stands in for one.
probe="$(mktemp -d)"
trap 'rm -rf "$fake" "$probe"' EXIT
printf 'CMAKE_LINKER:FILEPATH=/usr/bin/cmake\n' >"$probe/CMakeCache.txt"
expect "a probed tool no rule runs does not count" 0 "^install closure ok" -- \
  /usr/bin/python3 "$check" --without cmake "$probe"
mkdir -p "$probe/CMakeFiles/t.dir"
printf '/usr/bin/cmake -o t t.o\n' >"$probe/CMakeFiles/t.dir/link.txt"
expect "... and counts once a link line runs it" 1 "from package 'cmake'" -- \
  /usr/bin/python3 "$check" --without cmake "$probe"

expect "a folder that is no build is a usage error" 2 "no CMakeCache.txt" -- /usr/bin/python3 "$check" "$here"
expect "a --without that setup.sh does not list is a usage error" 2 "does not list" -- \
  /usr/bin/python3 "$check" --without not-a-package "$build"

echo "$passed passed, $failures failed"
[ "$failures" = 0 ]
