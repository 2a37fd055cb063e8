#!/usr/bin/env node
// ONNX Runtime side of bench/memory_startup.py: one process, one session, at most one run.
// Prints ONE JSON line on stdout. See bench/peers/README.md.
//
//   node ort_startup.mjs --baseline [--ort-dir DIR]
//       node + the onnxruntime-node binding loaded, no session (the RSS baseline)
//   node ort_startup.mjs --model M.onnx [--input-from DIR/test_data_set_0] [--threads N]
//        [--no-run] [--ort-dir DIR]
//       InferenceSession.create (timed), then one run on the test data (unless --no-run)
//
// Output: {"mode":"baseline"|"session","create_ms":...,"run_ms":...,"max_rss_kb":...,
//          "ort_version":"1.30.0","binding_mapped":true}; max_rss_kb is process.resourceUsage().maxRSS (the same
// figure as /usr/bin/time's %M). Session options as ort_bench.mjs: CPU provider, optimization
// all, sequential, intraOpNumThreads N (default 2), interOpNumThreads 1.
// Exit status 0 ok, 1 ONNX Runtime or file error, 2 usage; errors: "ort_startup: <message>".

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseTensorProto } from './ort_bench.mjs';

const USAGE = 'usage: node ort_startup.mjs (--baseline | --model M.onnx [--input-from DIR] ' +
  '[--threads N] [--no-run]) [--ort-dir DIR]';

function fail(message, code) {
  process.stderr.write(`ort_startup: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { baseline: false, model: null, inputFrom: null, threads: 2, run: true, ortDir: null };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${flag} needs a value\n${USAGE}`, 2);
      return argv[++i];
    };
    if (flag === '--baseline') opts.baseline = true;
    else if (flag === '--no-run') opts.run = false;
    else if (flag === '--model') opts.model = value();
    else if (flag === '--input-from') opts.inputFrom = value();
    else if (flag === '--ort-dir') opts.ortDir = value();
    else if (flag === '--threads') {
      opts.threads = Number(value());
      if (!Number.isInteger(opts.threads) || opts.threads < 1) fail('--threads needs a positive integer', 2);
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else fail(`unknown option ${flag}\n${USAGE}`, 2);
  }
  if (!opts.baseline && !opts.model) fail(`--model or --baseline is required\n${USAGE}`, 2);
  if (opts.run && !opts.baseline && !opts.inputFrom) fail('a run needs --input-from (or --no-run)', 2);
  return opts;
}

// Same search as ort_bench.mjs: --ort-dir, else $OCTET_ORT_DIR, ./build/peers, <repo>/build/peers.
function loadOrt(ortDir) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = ortDir ? [ortDir]
    : [process.env.OCTET_ORT_DIR, path.resolve('build/peers'), path.resolve(here, '../../build/peers')]
        .filter(Boolean);
  for (const dir of candidates) {
    const pkg = path.join(dir, 'node_modules', 'onnxruntime-node');
    if (!fs.existsSync(pkg)) continue;
    const require = createRequire(path.join(path.resolve(dir), 'package.json'));
    let version = 'unknown';
    try {
      version = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version;
    } catch { /* keep 'unknown' */ }
    return { ort: require('onnxruntime-node'), version };
  }
  throw new Error(`onnxruntime-node not found in ${candidates.join(', ')}; ` +
                  'run bench/peers/install_ort.sh DIR and pass --ort-dir DIR');
}

function feedsFrom(ort, session, dir) {
  const feeds = {};
  for (let i = 0; ; ++i) {
    const file = path.join(dir, `input_${i}.pb`);
    if (!fs.existsSync(file)) break;
    const t = parseTensorProto(fs.readFileSync(file), file);
    const name = t.name || session.inputNames[i];
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length) throw new Error(`${dir}: no input_N.pb for input(s) ${missing.join(', ')}`);
  return feeds;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const round = (v) => Math.round(v * 1000) / 1000;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  try {
    const { ort, version } = loadOrt(opts.ortDir);
    const report = { mode: opts.baseline ? 'baseline' : 'session', ort_version: version };
    if (!opts.baseline) {
      if (!fs.existsSync(opts.model)) throw new Error(`model ${opts.model} not found`);
      const t0 = nowMs();
      const session = await ort.InferenceSession.create(opts.model, {
        executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential',
        intraOpNumThreads: opts.threads, interOpNumThreads: 1,
      });
      report.create_ms = round(nowMs() - t0);
      if (opts.run) {
        const feeds = feedsFrom(ort, session, opts.inputFrom);
        const t1 = nowMs();
        await session.run(feeds);
        report.run_ms = round(nowMs() - t1);
      }
    }
    // The baseline must hold the native binding (it is loaded by require() in 1.30).
    report.binding_mapped = fs.readFileSync('/proc/self/maps', 'utf8').includes('onnxruntime_binding');
    report.max_rss_kb = process.resourceUsage().maxRSS;
    process.stdout.write(JSON.stringify(report) + '\n');
    process.exit(0);  // do not wait for the binding's threads
  } catch (e) {
    fail(String(e.message).split('\n')[0], 1);
  }
}

await main();
