// install_ort.sh against a fake npm that fails in each way seen in the field: it must exit 1
// with npm's own error code and message and a hint, never a JavaScript error of its own.
// Run: node --test bench/peers/   (ctest runs it as peer_script)
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const installer = join(here, "install_ort.sh");

// The fake npm: `view PKG@VER version`, `view PKG versions` and `install` answer from
// environment variables (stdout text, stderr text, exit code); `install` can also lay out a
// loadable fake onnxruntime-node.
const FAKE_NPM = `#!/usr/bin/env bash
case "$1 $3" in
  "view version") out="$FAKE_VIEW_OUT"; err="$FAKE_VIEW_ERR"; code="\${FAKE_VIEW_CODE:-0}" ;;
  "view versions") out="$FAKE_LIST_OUT"; err="$FAKE_LIST_ERR"; code="\${FAKE_LIST_CODE:-0}" ;;
  *) if [ "$1" = install ]; then
       out="$FAKE_INSTALL_OUT"; err="$FAKE_INSTALL_ERR"; code="\${FAKE_INSTALL_CODE:-0}"
       if [ "$code" = 0 ]; then
         v="\${@: -1}"; v="\${v#onnxruntime-node@}"
         mkdir -p node_modules/onnxruntime-node
         printf '{"name":"onnxruntime-node","version":"%s","main":"index.js"}' "$v" > node_modules/onnxruntime-node/package.json
         echo 'exports.InferenceSession = { create: async () => ({}) };' > node_modules/onnxruntime-node/index.js
       fi
     else out=""; err="fake npm: unexpected call $*"; code=9; fi ;;
esac
printf '%s' "$out"; printf '%s' "$err" >&2; exit "$code"
`;

function runInstaller(env) {
  const dir = mkdtempSync(join(tmpdir(), "octet-fake-npm-"));
  try {
    writeFileSync(join(dir, "npm"), FAKE_NPM);
    chmodSync(join(dir, "npm"), 0o755);
    const r = spawnSync("bash", [installer, join(dir, "peers")], {
      encoding: "utf8",
      env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, OCTET_ORT_VERSION: "1.30.0", ...env },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, dir };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const jsonError = (code, summary) => JSON.stringify({ error: { code, summary, detail: "" } }, null, 2);

function assertFails(r, ...fragments) {
  assert.equal(r.status, 1, `exit status; stderr:\n${r.stderr}`);
  for (const f of fragments) assert.match(r.stderr, f);
  assert.doesNotMatch(r.stderr, /TypeError|SyntaxError|ReferenceError|at .*\.js:\d+/);
  assert.equal(r.stdout.trim(), "", "nothing on stdout when it fails");
}

test("no network (npm 10+: JSON error on stdout)", () => {
  const r = runInstaller({
    FAKE_VIEW_CODE: "1",
    FAKE_VIEW_OUT: jsonError("ENOTFOUND", "request to https://registry.npmjs.org/onnxruntime-node failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org"),
    FAKE_VIEW_ERR: "npm error code ENOTFOUND\nnpm error syscall getaddrinfo\n",
  });
  assertFails(r, /ENOTFOUND: request to https:\/\/registry\.npmjs\.org/, /cannot be reached/);
});

test("TLS re-signed by a proxy (npm 9: only 'npm ERR!' lines, no JSON)", () => {
  const r = runInstaller({
    FAKE_VIEW_CODE: "1",
    FAKE_VIEW_ERR: [
      "npm ERR! code SELF_SIGNED_CERT_IN_CHAIN",
      "npm ERR! errno SELF_SIGNED_CERT_IN_CHAIN",
      "npm ERR! request to https://registry.npmjs.org/onnxruntime-node failed, reason: self-signed certificate in certificate chain",
      "",
      "npm ERR! A complete log of this run can be found in:",
    ].join("\n"),
  });
  assertFails(r, /SELF_SIGNED_CERT_IN_CHAIN: request to .* self-signed certificate in certificate chain/, /cafile/);
});

test("the wanted version is missing and the registry has no 1.x release", () => {
  const r = runInstaller({
    FAKE_VIEW_CODE: "1",
    FAKE_VIEW_OUT: jsonError("E404", "No match found for version 1.30.0"),
    FAKE_LIST_OUT: JSON.stringify(["0.9.1", "2.0.0"]),
  });
  assertFails(r, /no 1\.x release of onnxruntime-node/, /OCTET_ORT_VERSION/);
});

test("the wanted version is missing: the newest 1.x release is installed instead", () => {
  const r = runInstaller({
    FAKE_VIEW_CODE: "1",
    FAKE_VIEW_OUT: jsonError("E404", "No match found for version 1.30.0"),
    FAKE_LIST_OUT: JSON.stringify(["1.9.0", "1.29.1", "1.3.0", "2.0.0-dev"]),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /onnxruntime-node@1\.30\.0 not found, using 1\.29\.1/);
  assert.match(r.stdout.trim().split("\n").pop(), /peers\/node_modules\/onnxruntime-node$/);
});

test("output that is not JSON (a captive portal's page)", () => {
  const r = runInstaller({ FAKE_VIEW_OUT: "<html><body>Proxy authentication required</body></html>" });
  assertFails(r, /not JSON: <html>/);
});

test("a version list that is JSON but not a list (the old TypeError)", () => {
  const r = runInstaller({
    FAKE_VIEW_CODE: "1",
    FAKE_VIEW_OUT: jsonError("E404", "No match found for version 1.30.0"),
    FAKE_LIST_OUT: JSON.stringify({ error: "proxy says no" }),
  });
  assertFails(r, /printed no list of versions/);
});

test("npm fails without any output it recognises", () => {
  const r = runInstaller({ FAKE_VIEW_CODE: "7", FAKE_VIEW_ERR: "Segmentation fault" });
  assertFails(r, /UNKNOWN: npm printed no error code; its output: Segmentation fault/);
});

test("npm install fails: its code and message are reported", () => {
  const r = runInstaller({
    FAKE_VIEW_OUT: '"1.30.0"',
    FAKE_INSTALL_CODE: "1",
    FAKE_INSTALL_ERR: "npm ERR! code ENOSPC\nnpm ERR! nospc ENOSPC: no space left on device, write\n",
  });
  assertFails(r, /npm install onnxruntime-node@1\.30\.0 failed: ENOSPC: nospc ENOSPC: no space left on device/,
              /disk is full/);
});

test("success: the package folder on the last stdout line", () => {
  const r = runInstaller({ FAKE_VIEW_OUT: '"1.30.0"' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /peers\/node_modules\/onnxruntime-node$/);
  assert.match(r.stderr, /onnxruntime-node 1\.30\.0 ready/);
});
