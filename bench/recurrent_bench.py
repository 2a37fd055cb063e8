#!/usr/bin/python3
"""One-op LSTM and GRU models, octet vs ONNX Runtime in alternating rounds.

Writes DIR/<name>.onnx and DIR/<name>/test_data_set_0 (input_0.pb, output_0.pb, output_1.pb)
for a forward LSTM and a forward GRU (ONNX opset 14, layout 0, bias, default activations),
batch 1, fixed seed; the expected outputs come from a float64 numpy re-derivation of the ONNX
equations in this script. Then times them as bench/peers/compare_latency.sh does (ONNX Runtime
through ort_bench.mjs, octet through octet_run --profile, each giving the median latency of its
runs) in alternating rounds, the order flipped every round, and prints a markdown table: the
median over rounds of each side and the median of the per-round ratios ORT ms / octet ms (>= 1:
octet is faster), so that a slow spell on a shared machine hits both sides of a ratio.

  /usr/bin/python3 bench/recurrent_bench.py [--out build/models/recurrent] [--hidden 512]
      [--input 512] [--steps 100] [--threads 2] [--rounds 5] [--runs 50] [--isa auto]
      [--models-only] [--octet-run PATH]   (ORT from $OCTET_ORT_DIR, else build/peers)
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_reference(x, w, r, b):
    """ONNX LSTM, one forward direction, gates i, o, f, c; x [S, 1, I]; returns Y, Y_h."""
    hidden = r.shape[2]
    h = np.zeros((1, hidden))
    c = np.zeros((1, hidden))
    wb, rb = b[0, :4 * hidden], b[0, 4 * hidden:]
    ys = []
    for t in range(x.shape[0]):
        g = x[t] @ w[0].T + h @ r[0].T + wb + rb
        i, o, f, cc = np.split(g, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(cc)
        h = sigmoid(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys)[:, None], h[None]


def gru_reference(x, w, r, b):
    """ONNX GRU, one forward direction, gates z, r, h, linear_before_reset 0."""
    hidden = r.shape[2]
    h = np.zeros((1, hidden))
    wb, rb = b[0, :3 * hidden], b[0, 3 * hidden:]
    wz, wr, wh = np.split(w[0], 3)
    rz, rr, rh = np.split(r[0], 3)
    ys = []
    for t in range(x.shape[0]):
        z = sigmoid(x[t] @ wz.T + h @ rz.T + wb[:hidden] + rb[:hidden])
        rt = sigmoid(x[t] @ wr.T + h @ rr.T + wb[hidden:2 * hidden] + rb[hidden:2 * hidden])
        n = np.tanh(x[t] @ wh.T + (rt * h) @ rh.T + wb[2 * hidden:] + rb[2 * hidden:])
        h = (1 - z) * n + z * h
        ys.append(h)
    return np.stack(ys)[:, None], h[None]


def write_model(out_dir, name, op, steps, inp, hidden, seed):
    gates = 4 if op == "LSTM" else 3
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(hidden)  # PyTorch's initialisation range
    w = rng.uniform(-scale, scale, (1, gates * hidden, inp)).astype(np.float32)
    r = rng.uniform(-scale, scale, (1, gates * hidden, hidden)).astype(np.float32)
    b = rng.uniform(-scale, scale, (1, 2 * gates * hidden)).astype(np.float32)
    x = rng.standard_normal((steps, 1, inp)).astype(np.float32)
    node = helper.make_node(op, ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden)
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [steps, 1, inp])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [steps, 1, 1, hidden]),
         helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, 1, hidden])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R"), numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, name + ".onnx"))
    ref = lstm_reference if op == "LSTM" else gru_reference
    y, y_h = ref(x.astype(np.float64), w.astype(np.float64), r.astype(np.float64), b.astype(np.float64))
    data = os.path.join(out_dir, name, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    for fname, arr, tname in (("input_0.pb", x, "X"), ("output_0.pb", y, "Y"), ("output_1.pb", y_h, "Y_h")):
        with open(os.path.join(data, fname), "wb") as f:
            f.write(numpy_helper.from_array(arr.astype(np.float32), tname).SerializeToString())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "models", "recurrent"))
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--input", type=int, default=512)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--isa", default="auto")
    ap.add_argument("--octet-run", default=os.path.join(ROOT, "build", "release", "tools", "octet_run"))
    ap.add_argument("--models-only", action="store_true", help="write the models, do not measure")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    names = []
    for seed, op in enumerate(("LSTM", "GRU")):
        name = f"{op.lower()}-h{args.hidden}-i{args.input}-s{args.steps}"
        write_model(args.out, name, op, args.steps, args.input, args.hidden, seed)
        names.append(name)
    if args.models_only:
        print("\n".join(os.path.join(args.out, n + ".onnx") for n in names))
        return 0
    ort_dir = os.environ.get("OCTET_ORT_DIR", os.path.join(ROOT, "build", "peers"))
    print(f"| model | octet FP32 ms ({args.isa}) | ORT FP32 ms | ORT/octet (median of per-round ratios) "
          f"| per-round ratios | rounds |")
    print("|---|---|---|---|---|---|")
    for name in names:
        onnx_path = os.path.join(args.out, name + ".onnx")
        data = os.path.join(args.out, name, "test_data_set_0")
        octet_ms, ort_ms = [], []
        for r in range(args.rounds):
            for side in (("ort", "octet") if r % 2 == 0 else ("octet", "ort")):
                print(f"recurrent_bench: {name} round {r + 1}/{args.rounds}: {side}", file=sys.stderr)
                if side == "ort":
                    out = subprocess.run(["node", os.path.join(ROOT, "bench", "peers", "ort_bench.mjs"), "--model",
                                          onnx_path, "--threads", str(args.threads), "--time", "4", "--warmup", "5",
                                          "--input-from", data, "--ort-dir", ort_dir],
                                         check=True, capture_output=True, text=True).stdout
                    ort_ms.append(json.loads(out.strip().splitlines()[-1])["latency_ms"]["median"])
                else:
                    out = subprocess.run([args.octet_run, "--model", onnx_path, "--test-data", data, "--threads",
                                          str(args.threads), "--isa", args.isa, f"--profile={args.runs}"],
                                         check=True, capture_output=True, text=True).stdout
                    octet_ms.append(float(re.search(r"^latency: median ([0-9.]+) ms", out, re.M).group(1)))
        ratios = [p / o for p, o in zip(ort_ms, octet_ms)]
        print(f"| {name} | {statistics.median(octet_ms):.2f} | {statistics.median(ort_ms):.2f} | "
              f"{statistics.median(ratios):.2f} | {' '.join(f'{x:.2f}' for x in ratios)} | {args.rounds} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
