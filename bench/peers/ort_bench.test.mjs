// Tests of ort_bench.mjs's own parsers (no ONNX Runtime needed): node --test bench/peers/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { argmax, medianWindowIps, parseTensorProto, readEvalHeader } from './ort_bench.mjs';

// A tiny protobuf encoder for building TensorProto fixtures.
const varint = (v) => {
  let x = BigInt.asUintN(64, BigInt(v));
  const out = [];
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x) byte |= 0x80;
    out.push(byte);
  } while (x);
  return out;
};
const key = (field, wire) => varint(field * 8 + wire);
const bytesField = (field, bytes) => [...key(field, 2), ...varint(bytes.length), ...bytes];
const f32 = (values) => [...new Uint8Array(new Float32Array(values).buffer)];

test('float tensor from raw_data', () => {
  const proto = Uint8Array.from([
    ...key(1, 0), ...varint(2), ...key(1, 0), ...varint(3),  // dims, unpacked
    ...key(2, 0), ...varint(1),                              // float
    ...bytesField(8, [...Buffer.from('x')]),
    ...bytesField(9, f32([1, 2, 3, 4, 5, -6.5])),
  ]);
  const t = parseTensorProto(proto, 'fixture');
  assert.equal(t.name, 'x');
  assert.equal(t.type, 'float32');
  assert.deepEqual(t.dims, [2, 3]);
  assert.deepEqual([...t.data], [1, 2, 3, 4, 5, -6.5]);
});

test('packed float_data and int64_data with negative values', () => {
  const floats = parseTensorProto(Uint8Array.from([
    ...bytesField(1, varint(2)), ...key(2, 0), ...varint(1), ...bytesField(4, f32([0.5, -1])),
  ]), 'f');
  assert.deepEqual([...floats.data], [0.5, -1]);
  const ints = parseTensorProto(Uint8Array.from([
    ...bytesField(1, varint(3)), ...key(2, 0), ...varint(7),
    ...bytesField(7, [...varint(-1), ...varint(2n ** 40n), ...varint(0)]),
  ]), 'i');
  assert.equal(ints.type, 'int64');
  assert.deepEqual([...ints.data], [-1n, 2n ** 40n, 0n]);
});

test('malformed tensors are rejected with the file named', () => {
  const tooShort = Uint8Array.from([
    ...bytesField(1, varint(4)), ...key(2, 0), ...varint(1), ...bytesField(9, f32([1])),
  ]);
  assert.throws(() => parseTensorProto(tooShort, 'short.pb'), /short.pb: raw_data has 4 bytes/);
  assert.throws(() => parseTensorProto(Uint8Array.from([...key(9, 2), 50, 1]), 'cut.pb'),
                /cut.pb: field of 50 bytes runs past the end/);
  assert.throws(() => parseTensorProto(Uint8Array.from([...key(2, 0), ...varint(8)]), 's.pb'),
                /unsupported tensor data type 8/);
});

function writeEvalFile(samples, dims, extraBytes = 0) {
  const name = Buffer.from('input');
  const header = Buffer.alloc(16 + 4 + name.length + 8 + 8 * dims.length);
  let at = 0;
  header.write('OCTEVAL1', at, 'latin1'); at += 8;
  header.writeUInt32LE(samples, at); at += 4;
  header.writeUInt32LE(1, at); at += 4;
  header.writeUInt32LE(name.length, at); at += 4;
  name.copy(header, at); at += name.length;
  header.writeUInt32LE(1, at); at += 4;
  header.writeUInt32LE(dims.length, at); at += 4;
  for (const d of dims) { header.writeBigUInt64LE(BigInt(d), at); at += 8; }
  const count = dims.reduce((a, b) => a * b, 1);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'octeval-')), 'x.octeval');
  fs.writeFileSync(file, Buffer.concat([header, Buffer.alloc(samples * count * 4 + extraBytes)]));
  return file;
}

test('eval header is read and its size checked', () => {
  const good = writeEvalFile(3, [1, 1, 2, 2]);
  const fd = fs.openSync(good, 'r');
  const h = readEvalHeader(fd, good);
  fs.closeSync(fd);
  assert.equal(h.samples, 3);
  assert.equal(h.inputs[0].name, 'input');
  assert.deepEqual(h.inputs[0].dims, [1, 1, 2, 2]);
  assert.equal(h.recordBytes, 16);

  const bad = writeEvalFile(3, [1, 1, 2, 2], 1);
  const fd2 = fs.openSync(bad, 'r');
  assert.throws(() => readEvalHeader(fd2, bad), /x.octeval: \d+ bytes, header says 3 samples/);
  fs.closeSync(fd2);
});

test('argmax takes the lowest index on ties', () => {
  assert.equal(argmax([1, 3, 3, 2], 0, 4), 1);
  assert.equal(argmax([9, 1, 3, 3], 1, 4), 1);
});

test('median window rate: one slow window does not move it', () => {
  // 10 runs 100 ms apart, but runs 3-4 took 1 s each: windows of 2 runs.
  const t = [100, 200, 1200, 2200, 2300, 2400, 2500, 2600, 2700, 2800];
  // Window rates: 2/0.2, 2/2.0, 2/0.2, 2/0.2, 2/0.2 runs per second -> median 10.
  assert.equal(medianWindowIps(t), 10);
  assert.equal(medianWindowIps([]), 0);
  assert.equal(medianWindowIps([500, 1000]), 2);  // fewer runs than windows: runs / last
  assert.equal(medianWindowIps([300, 100, 200, 400, 500]), 10);  // unsorted input
});
