// Prints npm's error as one line, "CODE: message (what to do)", from the files holding a failed
// npm command's stdout and stderr. npm prints a JSON {"error": {...}} on stdout with --json and
// "npm ERR! code X" (npm 9) or "npm error code X" (npm 10+) lines on stderr; a proxy or a broken
// install may print neither, so every form is read defensively and nothing here throws.
//   node npm_error.mjs STDOUT_FILE STDERR_FILE
import { readFileSync } from "node:fs";

const read = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

const HINTS = [
  [["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH",
    "ERR_SOCKET_TIMEOUT", "ENETDOWN"],
   "the npm registry cannot be reached: check the network, or point npm at a proxy " +
   "(npm config set https-proxy URL) or a mirror (npm config set registry URL)"],
  [["SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID", "CERT_UNTRUSTED", "EPROTO"],
   "TLS to the npm registry failed: if a proxy re-signs TLS, give npm its CA certificate " +
   "(npm config set cafile /path/to/ca.pem, or export NODE_EXTRA_CA_CERTS=/path/to/ca.pem)"],
  [["E404", "ETARGET", "ENOVERSIONS"],
   "the registry has no such package or version: set OCTET_ORT_VERSION to one that " +
   "'npm view onnxruntime-node versions' lists"],
  [["EACCES", "EPERM", "EROFS"], "npm cannot write its cache or the peer folder: check their permissions"],
  [["ENOSPC"], "the disk is full"],
];

function hint(code) {
  for (const [codes, text] of HINTS) if (codes.includes(code)) return text;
  return "npm's debug log (under ~/.npm/_logs, or npm config get logs-dir) has the details";
}

function oneLine(text, max = 300) {
  const t = String(text).replace(/\s+/g, " ").trim();
  return t.length > max ? t.slice(0, max) + "..." : t;
}

function fromJson(stdout) {
  // The JSON may follow other output (npm install prints warnings first): try each '{' that
  // starts a line, from the last.
  const starts = [];
  for (let i = 0; i < stdout.length; ++i) if (stdout[i] === "{" && (i === 0 || stdout[i - 1] === "\n")) starts.push(i);
  for (const s of starts.reverse()) {
    let value;
    try {
      value = JSON.parse(stdout.slice(s));
    } catch {
      continue;
    }
    const e = value && typeof value === "object" ? value.error : undefined;
    if (e && typeof e === "object") {
      const code = typeof e.code === "string" && e.code ? e.code : "UNKNOWN";
      const summary = typeof e.summary === "string" ? e.summary : typeof e.message === "string" ? e.message : "";
      return { code, message: summary || oneLine(JSON.stringify(e)) };
    }
  }
  return null;
}

function fromLog(stderr) {
  const lines = stderr.split("\n")
    .map((l) => l.match(/^npm (?:ERR!|error) ?(.*)$/))
    .filter(Boolean)
    .map((m) => m[1]);
  if (!lines.length) return null;
  let code = "";
  const message = [];
  for (const l of lines) {
    const c = l.match(/^code (\S+)/);
    if (c) {
      if (!code) code = c[1];
      continue;
    }
    if (/^(errno|syscall) /.test(l) || /^\s+at /.test(l) || /^A complete log/.test(l) || /^\s*[{}]?\s*$/.test(l) ||
        /^\s+\w+: /.test(l)) continue;
    message.push(l.replace(/^\d{3} /, "").trim());
  }
  return { code: code || "UNKNOWN", message: oneLine(message.filter(Boolean).slice(0, 2).join(" ")) };
}

const stdout = read(process.argv[2] ?? "");
const stderr = read(process.argv[3] ?? "");
let found = fromJson(stdout) ?? fromLog(stderr);
if (!found) {
  const raw = oneLine(stderr.trim() || stdout.trim() || "(no output)");
  found = { code: "UNKNOWN", message: `npm printed no error code; its output: ${raw}` };
}
process.stdout.write(`${found.code}: ${found.message} (${hint(found.code)})\n`);
