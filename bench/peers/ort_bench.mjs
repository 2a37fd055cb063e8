#!/usr/bin/env node
// ONNX Runtime peer for octet's benchmarks: runs one ONNX model with onnxruntime-node
// (CPU execution provider) and prints ONE JSON line on stdout. See README.md beside this file.
//
// Throughput / latency:
//   node ort_bench.mjs --model M.onnx [--threads N] [--streams N] [--time SECONDS]
//        [--warmup N] [--input-from DIR/test_data_set_0]
// Accuracy (predictions for inputs that the caller preprocessed):
//   node ort_bench.mjs --model M.onnx --eval-inputs FILE [--output NAME] [--topk K] [--dump-outputs FILE]
//        [--threads N] [--progress]
// Common: [--ort-dir DIR] (folder holding node_modules/onnxruntime-node; default
//   $OCTET_ORT_DIR, else ./build/peers, else <repo>/build/peers)
//   [--optimization all|extended|basic|disabled] (default all)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

// ---------------------------------------------------------------------------- errors

class UsageError extends Error {}

function fail(message, exitCode) {
  process.stderr.write(`ort_bench: ${message}\n`);
  process.exit(exitCode);
}

// ---------------------------------------------------------------------------- options

const USAGE = 'usage: node ort_bench.mjs --model M.onnx [--threads N] [--streams N] ' +
  '[--time SECONDS] [--warmup N] [--input-from DIR] [--eval-inputs FILE] [--output NAME] ' +
  '[--topk K] [--dump-outputs FILE] [--progress] [--ort-dir DIR] [--optimization all|extended|basic|disabled]';

function parseArgs(argv) {
  const opts = {
    model: null, threads: null, streams: 1, time: 10, warmup: 10, inputFrom: null,
    evalInputs: null, output: null, topk: 1, progress: false, ortDir: null, dumpOutputs: null,
    optimization: 'all',
  };
  const valueFlags = {
    '--model': ['model', String], '--threads': ['threads', positiveInt],
    '--streams': ['streams', positiveInt], '--time': ['time', positiveNumber],
    '--warmup': ['warmup', nonNegativeInt], '--input-from': ['inputFrom', String],
    '--eval-inputs': ['evalInputs', String], '--output': ['output', String],
    '--topk': ['topk', positiveInt], '--ort-dir': ['ortDir', String],
    '--dump-outputs': ['dumpOutputs', String],
    '--optimization': ['optimization', optimizationLevel],
  };
  for (let i = 0; i < argv.length; ++i) {
    let flag = argv[i];
    let value;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    if (flag === '--progress') {
      opts.progress = true;
      continue;
    }
    const spec = valueFlags[flag];
    if (!spec) throw new UsageError(`unknown option ${flag}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      value = argv[++i];
    }
    opts[spec[0]] = spec[1](value, flag);
  }
  if (!opts.model) throw new UsageError('--model is required');
  if (opts.threads === null) {
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism()
                                                               : os.cpus().length;
    opts.threads = Math.max(1, Math.floor(cores / opts.streams));
  }
  if (opts.dumpOutputs && !opts.evalInputs) throw new UsageError('--dump-outputs needs --eval-inputs');
  if (opts.evalInputs && opts.streams !== 1) {
    throw new UsageError('--eval-inputs runs one stream; drop --streams');
  }
  return opts;
}

function positiveInt(text, flag) {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${flag} needs a positive integer`);
  return v;
}

function nonNegativeInt(text, flag) {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 0) throw new UsageError(`${flag} needs an integer >= 0`);
  return v;
}

function positiveNumber(text, flag) {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${flag} needs a positive number`);
  return v;
}

function optimizationLevel(text, flag) {
  if (!['all', 'extended', 'basic', 'disabled'].includes(text)) {
    throw new UsageError(`${flag} must be all, extended, basic or disabled`);
  }
  return text;
}

// ---------------------------------------------------------------------------- onnxruntime

function loadOrt(ortDir) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = ortDir ? [ortDir]
    : [process.env.OCTET_ORT_DIR, path.resolve('build/peers'),
       path.resolve(here, '../../build/peers')].filter(Boolean);
  for (const dir of candidates) {
    if (!fs.existsSync(path.join(dir, 'node_modules', 'onnxruntime-node'))) continue;
    const require = createRequire(path.join(path.resolve(dir), 'package.json'));
    return require('onnxruntime-node');
  }
  throw new Error(`onnxruntime-node not found in ${candidates.join(', ')}; ` +
                  'run bench/peers/install_ort.sh DIR and pass --ort-dir DIR');
}

function sessionOptions(opts) {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: opts.optimization,
    executionMode: 'sequential',
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
  };
}

// ---------------------------------------------------------------------------- TensorProto

// ONNX TensorProto.DataType codes -> onnxruntime-node type names and typed arrays.
const DTYPES = {
  1: { name: 'float32', array: Float32Array, size: 4 },
  2: { name: 'uint8', array: Uint8Array, size: 1 },
  3: { name: 'int8', array: Int8Array, size: 1 },
  6: { name: 'int32', array: Int32Array, size: 4 },
  7: { name: 'int64', array: BigInt64Array, size: 8 },
  9: { name: 'bool', array: Uint8Array, size: 1 },
  11: { name: 'float64', array: Float64Array, size: 8 },
};
const DTYPE_BY_NAME = Object.fromEntries(Object.entries(DTYPES).map(([k, v]) => [v.name, +k]));

// Minimal protobuf reader for the fields of onnx.TensorProto that test data uses.
class ProtoReader {
  constructor(bytes, where) {
    this.bytes = bytes;
    this.pos = 0;
    this.where = where;
  }

  done() { return this.pos >= this.bytes.length; }

  varint() {  // as BigInt: int64 fields need all 64 bits
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.bytes.length) throw new Error(`${this.where}: truncated varint`);
      const byte = this.bytes[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return BigInt.asIntN(64, result);
    }
    throw new Error(`${this.where}: varint longer than 10 bytes`);
  }

  smallVarint() {
    const v = this.varint();
    if (v < BigInt(Number.MIN_SAFE_INTEGER) || v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Error(`${this.where}: value ${v} out of range`);
    }
    return Number(v);
  }

  take(length) {
    if (length < 0 || this.pos + length > this.bytes.length) {
      throw new Error(`${this.where}: field of ${length} bytes runs past the end`);
    }
    const slice = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return slice;
  }

  skip(wireType) {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.take(8);
    else if (wireType === 2) this.take(this.smallVarint());
    else if (wireType === 5) this.take(4);
    else throw new Error(`${this.where}: unsupported wire type ${wireType}`);
  }
}

// Reads a repeated scalar field, packed (wire type 2) or not, appending to `out`.
function readRepeated(reader, wireType, out, fixedSize, decodeFixed, decodeVarint) {
  if (wireType === 2) {
    const sub = new ProtoReader(reader.take(reader.smallVarint()), reader.where);
    while (!sub.done()) out.push(fixedSize ? decodeFixed(sub.take(fixedSize)) : decodeVarint(sub));
  } else if (fixedSize) {
    out.push(decodeFixed(reader.take(fixedSize)));
  } else {
    out.push(decodeVarint(reader));
  }
}

const view = (b) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function parseTensorProto(bytes, where) {
  const reader = new ProtoReader(bytes, where);
  const dims = [];
  const floats = [];
  const int32s = [];
  const int64s = [];
  const doubles = [];
  let dataType = 0;
  let name = '';
  let raw = null;
  let external = false;
  while (!reader.done()) {
    const key = reader.smallVarint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    switch (field) {
      case 1: readRepeated(reader, wire, dims, 0, null, (r) => r.smallVarint()); break;
      case 2: dataType = reader.smallVarint(); break;
      case 4: readRepeated(reader, wire, floats, 4, (b) => view(b).getFloat32(0, true)); break;
      case 5: readRepeated(reader, wire, int32s, 0, null, (r) => Number(BigInt.asIntN(32, r.varint()))); break;
      case 7: readRepeated(reader, wire, int64s, 0, null, (r) => r.varint()); break;
      case 8: name = new TextDecoder().decode(reader.take(reader.smallVarint())); break;
      case 9: raw = reader.take(reader.smallVarint()); break;
      case 10: readRepeated(reader, wire, doubles, 8, (b) => view(b).getFloat64(0, true)); break;
      case 13: external = true; reader.skip(wire); break;
      default: reader.skip(wire);
    }
  }
  const dtype = DTYPES[dataType];
  if (!dtype) throw new Error(`${where}: unsupported tensor data type ${dataType}`);
  if (external) throw new Error(`${where}: external data is not supported in test data`);
  if (dims.some((d) => d < 0)) throw new Error(`${where}: negative dimension in ${dims}`);
  const count = dims.reduce((a, b) => a * b, 1);
  let data;
  if (raw) {
    if (raw.length !== count * dtype.size) {
      throw new Error(`${where}: raw_data has ${raw.length} bytes, shape [${dims}] needs ` +
                      `${count * dtype.size}`);
    }
    data = new dtype.array(count);  // copy: raw may be unaligned
    new Uint8Array(data.buffer).set(raw);
  } else {
    const typed = { 1: floats, 11: doubles, 7: int64s }[dataType] ?? int32s;
    if (typed.length !== count) {
      throw new Error(`${where}: ${typed.length} values, shape [${dims}] needs ${count}`);
    }
    data = dtype.array.from(typed);
  }
  return { name, type: dtype.name, dims, data };
}

function readTestDataSet(dir) {
  const load = (prefix) => {
    const tensors = [];
    for (let i = 0; ; ++i) {
      const file = path.join(dir, `${prefix}_${i}.pb`);
      if (!fs.existsSync(file)) break;
      tensors.push(parseTensorProto(fs.readFileSync(file), file));
    }
    return tensors;
  };
  const inputs = load('input');
  if (inputs.length === 0) throw new Error(`${dir}: no input_0.pb`);
  return { inputs, outputs: load('output') };
}

// ---------------------------------------------------------------------------- feeds

// A deterministic standard-normal generator (xorshift32 + Box-Muller) for random inputs.
function normalGenerator(seed) {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return (state + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

function randomFeeds(ort, session) {
  const next = normalGenerator(12345);
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const meta = session.inputMetadata?.[i];
    if (!meta || !meta.isTensor) throw new Error(`input ${name}: no tensor metadata`);
    const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const count = dims.reduce((a, b) => a * b, 1);
    const dtype = DTYPES[DTYPE_BY_NAME[meta.type]];
    if (!dtype) throw new Error(`input ${name}: unsupported type ${meta.type}`);
    const data = new dtype.array(count);
    for (let k = 0; k < count; ++k) {
      if (meta.type === 'float32' || meta.type === 'float64') data[k] = next();
      else if (meta.type === 'int64') data[k] = 1n;  // a valid index / mask for text models
      else data[k] = 1;
    }
    feeds[name] = new ort.Tensor(meta.type, data, dims);
  });
  return feeds;
}

function testDataFeeds(ort, session, testData, dir) {
  const feeds = {};
  testData.inputs.forEach((t, i) => {
    const name = t.name || session.inputNames[i];
    if (!session.inputNames.includes(name)) {
      throw new Error(`${dir}/input_${i}.pb: tensor "${name}" is not an input of the model ` +
                      `(inputs: ${session.inputNames.join(', ')})`);
    }
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  });
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length) throw new Error(`${dir}: no data for input(s) ${missing.join(', ')}`);
  return feeds;
}

function compareOutputs(results, session, testData) {
  let maxAbs = 0;
  let maxRel = 0;
  let argmaxMatch = true;
  testData.outputs.forEach((expected, i) => {
    const name = expected.name || session.outputNames[i];
    const actual = results[name];
    if (!actual) throw new Error(`expected output "${name}" is not an output of the model`);
    if (actual.data.length !== expected.data.length) {
      throw new Error(`output ${name}: ${actual.data.length} values, expected ` +
                      `${expected.data.length}`);
    }
    for (let k = 0; k < expected.data.length; ++k) {
      const e = Number(expected.data[k]);
      const d = Math.abs(Number(actual.data[k]) - e);
      maxAbs = Math.max(maxAbs, d);
      maxRel = Math.max(maxRel, d / Math.max(Math.abs(e), 1e-6));
    }
    if (argmax(actual.data, 0, actual.data.length) !==
        argmax(expected.data, 0, expected.data.length)) argmaxMatch = false;
  });
  return { outputs: testData.outputs.length, max_abs_diff: maxAbs, max_rel_diff: maxRel,
           argmax_match: argmaxMatch };
}

// Index of the largest value in data[begin, end); ties go to the lowest index.
export function argmax(data, begin, end) {
  let best = begin;
  for (let k = begin + 1; k < end; ++k) if (data[k] > data[best]) best = k;
  return best - begin;
}

function topk(data, begin, end, k) {
  const idx = Array.from({ length: end - begin }, (_, i) => i);
  idx.sort((a, b) => (data[begin + b] - data[begin + a]) || (a - b));
  return idx.slice(0, k);
}

// ---------------------------------------------------------------------------- timing

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = (sorted.length - 1) * p;
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// The rate octet's bench_int8 reports (throughput.cc, summarize_runs), so the two are the
// same statistic: completion times (ms from the start, every stream merged) cut into
// `windows` groups of consecutive runs, each group's runs over the time they took, and the
// median group. Fewer runs than windows: runs over the last completion.
export function medianWindowIps(completionsMs, windows = 5) {
  const done = [...completionsMs].filter((t) => t > 0).sort((a, b) => a - b);
  const n = done.length;
  if (n === 0) return 0;
  if (n < windows) return n / (done[n - 1] / 1000);
  const rates = [];
  for (let k = 0; k < windows; ++k) {
    const first = Math.floor((k * n) / windows), last = Math.floor(((k + 1) * n) / windows);
    const begin = first === 0 ? 0 : done[first - 1];
    const span = done[last - 1] - begin;
    if (last > first && span > 0) rates.push(((last - first) * 1000) / span);
  }
  if (!rates.length) return n / (done[n - 1] / 1000);
  rates.sort((a, b) => a - b);
  const m = rates.length;
  return m % 2 ? rates[(m - 1) / 2] : 0.5 * (rates[m / 2 - 1] + rates[m / 2]);
}

// One stream: warm-up, then back-to-back runs until `seconds` have passed. Returns latencies
// and completion times (absolute, nowMs()).
async function timedRuns(session, feeds, warmup, seconds) {
  for (let i = 0; i < warmup; ++i) await session.run(feeds);
  const latencies = [];
  const completions = [];
  const start = nowMs();
  const deadline = start + seconds * 1000;
  for (;;) {
    const t0 = nowMs();
    await session.run(feeds);
    const t1 = nowMs();
    latencies.push(t1 - t0);
    completions.push(t1);
    if (t1 >= deadline) return { latencies, completions, start, elapsedMs: t1 - start };
  }
}

async function prepareSession(ort, opts) {
  const session = await ort.InferenceSession.create(opts.model, sessionOptions(opts));
  let feeds;
  let testData = null;
  if (opts.inputFrom) {
    testData = readTestDataSet(opts.inputFrom);
    feeds = testDataFeeds(ort, session, testData, opts.inputFrom);
  } else {
    feeds = randomFeeds(ort, session);
  }
  return { session, feeds, testData };
}

// Several streams run as worker threads, each with its own session (ORT's Node binding runs
// a session synchronously on its calling thread), started together after their warm-up.
async function runStreams(opts) {
  const workers = [];
  const ready = [];
  const results = [];
  for (let s = 0; s < opts.streams; ++s) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { opts } });
    workers.push(worker);
    ready.push(new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve()));
    }));
  }
  await Promise.all(ready);
  const start = nowMs();  // before any stream starts: every completion comes after it
  for (const worker of workers) {
    results.push(new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    }));
    worker.postMessage('start');
  }
  const done = await Promise.all(results);
  const elapsedMs = nowMs() - start;
  await Promise.all(workers.map((w) => w.terminate()));
  return { latencies: done.flatMap((d) => d.latencies), completions: done.flatMap((d) => d.completions), start,
           elapsedMs };
}

async function workerMain() {
  const { opts } = workerData;
  try {
    const ort = loadOrt(opts.ortDir);
    const { session, feeds } = await prepareSession(ort, opts);
    for (let i = 0; i < opts.warmup; ++i) await session.run(feeds);
    parentPort.postMessage({ ready: true });
    await new Promise((resolve) => parentPort.once('message', resolve));
    const { latencies, completions } = await timedRuns(session, feeds, 0, opts.time);
    parentPort.postMessage({ latencies, completions });
  } catch (e) {
    parentPort.postMessage({ error: e.message });
  }
}

async function benchmark(ort, opts) {
  const report = { model: opts.model, threads: opts.threads, streams: opts.streams };
  const { session, feeds, testData } = await prepareSession(ort, opts);
  if (testData && testData.outputs.length) {
    report.output_check = compareOutputs(await session.run(feeds), session, testData);
  }
  let timing;
  const cpuBefore = process.cpuUsage();  // process-wide: every thread, spinning included
  if (opts.streams === 1) {
    timing = await timedRuns(session, feeds, opts.warmup, opts.time);
  } else {
    await session.release();
    timing = await runStreams(opts);
  }
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = [...timing.latencies].sort((a, b) => a - b);
  const round = (v) => Math.round(v * 1000) / 1000;
  report.runs = sorted.length;
  report.elapsed_s = round(timing.elapsedMs / 1000);
  report.ips = round(medianWindowIps(timing.completions.map((t) => t - timing.start)));
  report.mean_ips = round(sorted.length / (timing.elapsedMs / 1000));
  report.latency_ms = {
    median: round(percentile(sorted, 0.5)),
    p90: round(percentile(sorted, 0.9)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    min: round(sorted[0]),
  };
  // CPU time per run: on a busy machine, with 1 thread, closer to the idle latency than the
  // wall-clock figures (it includes warm-up and session set-up with --streams).
  report.cpu_ms_per_run = round((cpu.user + cpu.system) / 1000 / sorted.length);
  report.input = testData ? opts.inputFrom : 'random';
  return report;
}

// ---------------------------------------------------------------------------- evaluation

// Reads the OCTEVAL1 file header (format in README.md). Returns the inputs and the offset of
// the first sample record, after checking that the file size matches exactly.
export function readEvalHeader(fd, file) {
  const fileSize = fs.fstatSync(fd).size;
  let pos = 0;
  const read = (n) => {
    if (pos + n > fileSize) throw new Error(`${file}: truncated header`);
    const b = Buffer.alloc(n);
    if (fs.readSync(fd, b, 0, n, pos) !== n) throw new Error(`${file}: short read`);
    pos += n;
    return b;
  };
  const magic = read(8).toString('latin1');
  if (magic !== 'OCTEVAL1') throw new Error(`${file}: bad magic "${magic}", expected OCTEVAL1`);
  const counts = read(8);
  const samples = counts.readUInt32LE(0);
  const inputCount = counts.readUInt32LE(4);
  if (inputCount < 1 || inputCount > 64) throw new Error(`${file}: bad input count ${inputCount}`);
  const inputs = [];
  let recordBytes = 0;
  for (let i = 0; i < inputCount; ++i) {
    const nameLength = read(4).readUInt32LE(0);
    if (nameLength > 4096) throw new Error(`${file}: input ${i} name length ${nameLength}`);
    const name = read(nameLength).toString('utf8');
    const typeRank = read(8);
    const dataType = typeRank.readUInt32LE(0);
    const rank = typeRank.readUInt32LE(4);
    const dtype = DTYPES[dataType];
    if (!dtype) throw new Error(`${file}: input ${name}: unsupported data type ${dataType}`);
    if (rank > 8) throw new Error(`${file}: input ${name}: rank ${rank}`);
    const dimBytes = read(8 * rank);
    const dims = [];
    for (let d = 0; d < rank; ++d) dims.push(Number(dimBytes.readBigUInt64LE(8 * d)));
    const count = dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count * dtype.size) || count * dtype.size > 2 ** 31) {
      throw new Error(`${file}: input ${name}: shape [${dims}] too large`);
    }
    inputs.push({ name, dtype, dims, count, bytes: count * dtype.size });
    recordBytes += count * dtype.size;
  }
  if (fileSize !== pos + samples * recordBytes) {
    throw new Error(`${file}: ${fileSize} bytes, header says ${samples} samples of ` +
                    `${recordBytes} bytes after a ${pos}-byte header (${pos + samples * recordBytes})`);
  }
  return { samples, inputs, recordBytes, dataOffset: pos };
}

async function evaluate(ort, opts) {
  const session = await ort.InferenceSession.create(opts.model, sessionOptions(opts));
  const fd = fs.openSync(opts.evalInputs, 'r');
  try {
    const header = readEvalHeader(fd, opts.evalInputs);
    for (const input of header.inputs) {
      if (!session.inputNames.includes(input.name)) {
        throw new Error(`${opts.evalInputs}: "${input.name}" is not an input of the model ` +
                        `(inputs: ${session.inputNames.join(', ')})`);
      }
    }
    const missing = session.inputNames.filter((n) => !header.inputs.some((i) => i.name === n));
    if (missing.length) throw new Error(`${opts.evalInputs}: no data for input(s) ${missing}`);
    const outputName = opts.output ?? session.outputNames[0];
    if (!session.outputNames.includes(outputName)) {
      throw new Error(`--output ${outputName}: not an output (${session.outputNames.join(', ')})`);
    }

    const record = Buffer.alloc(header.recordBytes);
    // --dump-outputs: the raw float32 output of every sample, concatenated (little-endian),
    // so the caller can compare ORT's numbers with its own, not only the arg-max.
    const dumpFd = opts.dumpOutputs ? fs.openSync(opts.dumpOutputs, 'w') : null;
    const predictions = [];
    const topks = [];
    const started = nowMs();
    let lastReported = -1;
    for (let s = 0; s < header.samples; ++s) {
      const offset = header.dataOffset + s * header.recordBytes;
      if (fs.readSync(fd, record, 0, header.recordBytes, offset) !== header.recordBytes) {
        throw new Error(`${opts.evalInputs}: short read at sample ${s}`);
      }
      const feeds = {};
      let at = 0;
      for (const input of header.inputs) {
        const data = new input.dtype.array(input.count);
        new Uint8Array(data.buffer).set(record.subarray(at, at + input.bytes));
        at += input.bytes;
        feeds[input.name] = new ort.Tensor(input.dtype.name, data, input.dims);
      }
      const output = (await session.run(feeds, [outputName]))[outputName];
      if (dumpFd !== null) {
        if (!(output.data instanceof Float32Array)) {
          throw new Error(`--dump-outputs: output ${outputName} is ${output.type}, not float32`);
        }
        fs.writeSync(dumpFd, new Uint8Array(output.data.buffer, output.data.byteOffset, output.data.byteLength));
      }
      // One prediction per row of the last axis (one per sample at batch 1).
      const classes = output.dims[output.dims.length - 1];
      for (let row = 0; row + classes <= output.data.length; row += classes) {
        predictions.push(argmax(output.data, row, row + classes));
        if (opts.topk > 1) topks.push(topk(output.data, row, row + classes, opts.topk));
      }
      const percent = Math.floor((100 * (s + 1)) / header.samples);
      if (opts.progress && percent !== lastReported) {
        process.stderr.write(`progress ${s + 1} ${header.samples}\n`);
        lastReported = percent;
      }
    }
    const report = {
      model: opts.model, threads: opts.threads, samples: header.samples, output: outputName,
      elapsed_s: Math.round(nowMs() - started) / 1000, argmax: predictions,
    };
    if (opts.topk > 1) report.topk = topks;
    if (dumpFd !== null) fs.closeSync(dumpFd);
    return report;
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------- main

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    fail(`${e.message}\n${USAGE}`, 2);
  }
  try {
    if (!fs.existsSync(opts.model)) throw new UsageError(`model ${opts.model} not found`);
    const ort = loadOrt(opts.ortDir);
    const report = opts.evalInputs ? await evaluate(ort, opts) : await benchmark(ort, opts);
    process.stdout.write(JSON.stringify(report) + '\n');
  } catch (e) {
    fail(e.message.split('\n')[0], e instanceof UsageError ? 2 : 1);
  }
}

// Run only as a program (or as one of its stream workers), not when imported for its helpers.
const isEntryPoint = process.argv[1] &&
  fs.realpathSync(path.resolve(process.argv[1])) === fs.realpathSync(fileURLToPath(import.meta.url));
if (!isMainThread && workerData?.opts) {
  await workerMain();
} else if (isMainThread && isEntryPoint) {
  await main();
}
