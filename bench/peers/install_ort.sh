#!/usr/bin/env bash
# Installs ONNX Runtime for Node.js (npm onnxruntime-node) into a cache folder, for use as
# octet's benchmark peer. --ignore-scripts skips the package's post-install download of GPU
# providers; the CPU binding for linux x64 ships inside the npm tarball itself.
# Usage: install_ort.sh [CACHE_DIR]   (default: build/peers). Idempotent.
# Prints the absolute path of the installed package folder on its last line of stdout.
set -euo pipefail

cache_dir="${1:-build/peers}"
wanted_version="${OCTET_ORT_VERSION:-1.30.0}"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install_ort.sh: node and npm are required (apt-get install nodejs npm)" >&2
  exit 1
fi

mkdir -p "$cache_dir"
cache_dir="$(cd "$cache_dir" && pwd)"
package_dir="$cache_dir/node_modules/onnxruntime-node"

# Checks that the installed binding loads and reports the installed version on stdout.
probe_binding() {
  (cd "$cache_dir" && node -e '
    const ort = require("onnxruntime-node");
    if (!ort.InferenceSession || typeof ort.InferenceSession.create !== "function")
      throw new Error("onnxruntime-node loaded without InferenceSession");
    process.stdout.write(require("onnxruntime-node/package.json").version);
  ' 2>/dev/null)
}

already_installed() {
  echo "onnxruntime-node $installed_version already installed in $cache_dir" >&2
  echo "$package_dir"
  exit 0
}

installed_version="$(probe_binding || true)"
if [[ -n "$installed_version" && "$installed_version" == "$wanted_version" ]]; then
  already_installed
fi

# Use the wanted version when the registry has it, else the newest 1.x release.
version="$wanted_version"
if [[ -z "$(npm view "onnxruntime-node@$wanted_version" version 2>/dev/null || true)" ]]; then
  version="$(npm view onnxruntime-node versions --json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
      const v=JSON.parse(s).filter(x=>/^1\.\d+\.\d+$/.test(x));
      v.sort((a,b)=>{const p=a.split(".").map(Number),q=b.split(".").map(Number);
        for(let i=0;i<3;i++) if(p[i]!==q[i]) return p[i]-q[i]; return 0;});
      process.stdout.write(v.length?v[v.length-1]:"");})')"
  if [[ -z "$version" ]]; then
    echo "install_ort.sh: cannot find onnxruntime-node on the npm registry" >&2
    exit 1
  fi
  echo "install_ort.sh: onnxruntime-node@$wanted_version not found, using $version" >&2
  if [[ "$installed_version" == "$version" ]]; then
    already_installed
  fi
fi

# A private package.json keeps npm from walking up into another project.
if [[ ! -f "$cache_dir/package.json" ]]; then
  printf '{\n  "name": "octet-peers",\n  "private": true\n}\n' >"$cache_dir/package.json"
fi
echo "installing onnxruntime-node@$version into $cache_dir" >&2
(cd "$cache_dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
   --save-exact "onnxruntime-node@$version" >&2)

installed_version="$(probe_binding || true)"
if [[ -z "$installed_version" ]]; then
  echo "install_ort.sh: onnxruntime-node installed but its native binding does not load:" >&2
  (cd "$cache_dir" && node -e 'require("onnxruntime-node")') >&2 || true
  exit 1
fi
echo "onnxruntime-node $installed_version ready in $cache_dir" >&2
echo "$package_dir"
