#!/usr/bin/env bash
# Installs ONNX Runtime for Node.js (npm onnxruntime-node) into a cache folder, for use as
# octet's benchmark peer. --ignore-scripts skips the package's post-install download of GPU
# providers; the CPU binding for linux x64 ships inside the npm tarball itself.
# Usage: install_ort.sh [CACHE_DIR]   (default: build/peers). Idempotent.
# Prints the absolute path of the installed package folder on its last line of stdout.
# On failure: exit 1 and, on stderr, npm's own error code and message and what to do.
set -euo pipefail

cache_dir="${1:-build/peers}"
wanted_version="${OCTET_ORT_VERSION:-1.30.0}"
here="$(cd "$(dirname "$0")" && pwd)"

fail() {
  echo "install_ort.sh: $*" >&2
  exit 1
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  fail "node and npm are required (apt-get install nodejs npm)"
fi

mkdir -p "$cache_dir"
cache_dir="$(cd "$cache_dir" && pwd)"
package_dir="$cache_dir/node_modules/onnxruntime-node"
npm_out="$(mktemp)"
npm_err="$(mktemp)"
trap 'rm -f "$npm_out" "$npm_err"' EXIT

# Runs npm with its stdout and stderr kept apart in $npm_out / $npm_err; returns npm's status.
run_npm() {
  local status=0
  npm "$@" >"$npm_out" 2>"$npm_err" </dev/null || status=$?
  return $status
}

# npm's error as "CODE: message" plus a hint, from its --json output or its "npm ERR!" /
# "npm error" lines, whichever it printed; never fails on output it does not expect.
npm_error() {
  node "$here/npm_error.mjs" "$npm_out" "$npm_err" || cat "$npm_err" "$npm_out" | tail -n 5
}

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

# Use the wanted version when the registry has it, else the newest 1.x release. Only "no such
# version" (E404 / ETARGET, or an empty answer) falls through to the list; any other npm
# error (no network, TLS, a proxy) is the answer.
version=""
if run_npm view "onnxruntime-node@$wanted_version" version --json; then
  version="$(node -e 'try { const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    process.stdout.write(typeof v === "string" ? v : Array.isArray(v) && v.length ? String(v[v.length - 1]) : ""); }
    catch (e) { process.exit(3); }' "$npm_out")" ||
    fail "npm view printed output that is not JSON: $(head -c 300 "$npm_out")"
else
  error="$(npm_error)"
  case "$error" in
    E404:* | ETARGET:*) ;;
    *) fail "npm cannot read onnxruntime-node from the registry: $error" ;;
  esac
fi
if [[ -z "$version" ]]; then
  run_npm view onnxruntime-node versions --json ||
    fail "npm cannot list the versions of onnxruntime-node: $(npm_error)"
  status=0
  version="$(node -e '
    let v;
    try { v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); } catch (e) { process.exit(3); }
    if (typeof v === "string") v = [v];
    if (!Array.isArray(v)) process.exit(4);
    v = v.filter(x => typeof x === "string" && /^1\.\d+\.\d+$/.test(x));
    v.sort((a, b) => { const p = a.split(".").map(Number), q = b.split(".").map(Number);
      for (let i = 0; i < 3; i++) if (p[i] !== q[i]) return p[i] - q[i]; return 0; });
    process.stdout.write(v.length ? v[v.length - 1] : "");' "$npm_out")" || status=$?
  case $status in
    0) ;;
    3) fail "npm view printed output that is not JSON: $(head -c 300 "$npm_out")" ;;
    *) fail "npm view printed no list of versions: $(head -c 300 "$npm_out")" ;;
  esac
  [[ -n "$version" ]] ||
    fail "the npm registry has no 1.x release of onnxruntime-node (wanted $wanted_version; set OCTET_ORT_VERSION to one it has)"
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
(cd "$cache_dir" && run_npm install --ignore-scripts --no-audit --no-fund --loglevel=error --json \
   --save-exact "onnxruntime-node@$version") ||
  fail "npm install onnxruntime-node@$version failed: $(npm_error)"

installed_version="$(probe_binding || true)"
if [[ -z "$installed_version" ]]; then
  echo "install_ort.sh: onnxruntime-node installed but its native binding does not load:" >&2
  (cd "$cache_dir" && node -e 'require("onnxruntime-node")') >&2 || true
  exit 1
fi
echo "onnxruntime-node $installed_version ready in $cache_dir" >&2
echo "$package_dir"
