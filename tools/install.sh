#!/usr/bin/env bash
# Builds octet from this checkout and installs it: the library, its C and C++ headers, the CMake
# package (find_package(octet)), the pkg-config file, octet_run, and the Python package `octet`.
# With the default prefix /usr/local, Debian's /usr/bin/python3 imports octet with no PYTHONPATH
# (/usr/local/lib/python3.X/dist-packages is on its path).
#   tools/install.sh [PREFIX [BUILD_DIR]]      default: /usr/local build/install-release
# Installs the Debian packages it needs first (tools/setup.sh); runs the C++ and Python checks
# of the installed package last.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(realpath -m "${1:-/usr/local}")
build=${2:-build/install-release}

bash tools/setup.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
# Only what gets installed (the tests and benchmarks are the test command's).
cmake --build "$build" -j"$(nproc)" --target octet octet_python octet_run
SUDO=""
if [ ! -w "$(dirname "$prefix")" ] && [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO cmake --install "$build" >/dev/null
if [ "$(id -u)" = 0 ] && [ "$prefix" = /usr/local ]; then ldconfig; fi

python_version=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
site="$prefix/lib/python$python_version/dist-packages"
# The check runs outside the checkout, so that only the installed package can be imported.
if [ "$prefix" = /usr/local ]; then
  (cd / && /usr/bin/python3 -c "import octet; print('octet installed in $prefix; Python package', octet.__file__)")
else
  (cd / && PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" /usr/bin/python3 -c \
    "import octet; print('octet installed in $prefix; Python package', octet.__file__)")
  echo "Python: add $site to PYTHONPATH (export PYTHONPATH=$site)"
fi
