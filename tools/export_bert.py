#!/usr/bin/python3
"""Exports BERT (the published architecture, written here in torch) to ONNX with fixed seeds, for
octet's transformer rows of the throughput table and FP32 correctness tests.

No model hub is reachable, so the weights are BERT's own initialisation (Linear and Embedding
weights normal(0, 0.02), biases 0, LayerNorm 1 / 0) under torch.manual_seed(0). The graph is the
one the common BERT code (Hugging Face's BertModel) exports: embeddings (word + position + token
type, LayerNorm), N post-LN encoder layers of multi-head self-attention with the extended additive
mask (1 - attention_mask) * -10000, GELU with erf, and a task head:
  bert-base-cased  12 layers, hidden 768, 12 heads, FFN 3072, vocabulary 28996, sequence 128,
                   2-class classifier on the tanh pooler (output "logits");
  bert-large       24 layers, hidden 1024, 16 heads, FFN 4096, vocabulary 30522, sequence 384,
                   SQuAD span head (outputs "start_logits", "end_logits").
Inputs input_ids, attention_mask, token_type_ids: int64 [batch, seq], batch 1 static (--dynamic:
symbolic "batch" and "seq").

For each model it writes, in the zoo's layout (../shared/zoo/README.md):
  OUT/<name>.onnx
  OUT/<name>/test_data_set_0/input_{0,1,2}.pb, output_*.pb   (torch's outputs, float64 forward)
  OUT/<name>/stamp.json                                      (cache stamp)
  OUT/manifest.json                                          (zoo schema, "architecture_only")

Usage: /usr/bin/python3 tools/export_bert.py [--out DIR] [--models a,b] [--opset 13] [--dynamic]
       [--force] [--verify] [--list]
--out defaults to build/models, or build/models-dyn with --dynamic.
"""

import argparse
import copy
import gc
import io
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common_onnx_io as io_util  # noqa: E402

GENERATOR = "tools/export_bert.py"
BUILD_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build")
DEFAULT_OUT = os.path.join(BUILD_DIR, "models")
# Symbolic-shape exports go to a folder of their own by default: the model tests and bench_int8
# walk build/models and bind symbolic dimensions to 1, which these would fail (issue 18 part 4).
DEFAULT_DYNAMIC_OUT = os.path.join(BUILD_DIR, "models-dyn")
WEIGHT_SEED = 0
INPUT_SEED = 1
INITIALIZER_RANGE = 0.02
LAYER_NORM_EPS = 1e-12
MASK_VALUE = -10000.0  # BERT's additive mask for padded keys
CLS, SEP, PAD = 101, 102, 0
TORCH_THREADS = 2
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]

# name -> configuration. "real_length" is the test sequence's unpadded length: the rest of the
# sequence is padding (attention_mask 0), so the test covers the mask.
MODELS = {
    "bert-base-cased": dict(layers=12, hidden=768, heads=12, ffn=3072, vocab=28996,
                            max_positions=512, type_vocab=2, seq=128, real_length=100,
                            head="classifier", classes=2),
    "bert-large": dict(layers=24, hidden=1024, heads=16, ffn=4096, vocab=30522,
                       max_positions=512, type_vocab=2, seq=384, real_length=300,
                       head="squad"),
}


def log(message):
    print(message, flush=True)


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab"], c["hidden"], padding_idx=PAD)
        self.position_embeddings = nn.Embedding(c["max_positions"], c["hidden"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab"], c["hidden"])
        self.LayerNorm = nn.LayerNorm(c["hidden"], eps=LAYER_NORM_EPS)
        self.register_buffer("position_ids", torch.arange(c["max_positions"]).unsqueeze(0))

    def forward(self, input_ids, token_type_ids):
        position_ids = self.position_ids[:, :input_ids.size(1)]
        x = (self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
             + self.token_type_embeddings(token_type_ids))
        return self.LayerNorm(x)  # dropout is off (eval)


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["heads"]
        self.head_size = c["hidden"] // c["heads"]
        self.query = nn.Linear(c["hidden"], c["hidden"])
        self.key = nn.Linear(c["hidden"], c["hidden"])
        self.value = nn.Linear(c["hidden"], c["hidden"])

    def split_heads(self, x):  # [B, S, H] -> [B, heads, S, head_size]
        return x.view(x.size(0), x.size(1), self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, x, extended_mask):
        q = self.split_heads(self.query(x))
        k = self.split_heads(self.key(x))
        v = self.split_heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
        probs = torch.softmax(scores + extended_mask, dim=-1)
        context = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return context.view(context.size(0), context.size(1), self.heads * self.head_size)


class EncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = SelfAttention(c)
        self.attention_output = nn.Linear(c["hidden"], c["hidden"])
        self.attention_norm = nn.LayerNorm(c["hidden"], eps=LAYER_NORM_EPS)
        self.intermediate = nn.Linear(c["hidden"], c["ffn"])
        self.output = nn.Linear(c["ffn"], c["hidden"])
        self.output_norm = nn.LayerNorm(c["hidden"], eps=LAYER_NORM_EPS)

    def forward(self, x, extended_mask):
        a = self.attention_norm(self.attention_output(self.attention(x, extended_mask)) + x)
        h = nn.functional.gelu(self.intermediate(a))  # the erf form
        return self.output_norm(self.output(h) + a)


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.embeddings = Embeddings(c)
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(c["layers"]))
        if c["head"] == "classifier":
            self.pooler = nn.Linear(c["hidden"], c["hidden"])
            self.classifier = nn.Linear(c["hidden"], c["classes"])
        else:
            self.qa_outputs = nn.Linear(c["hidden"], 2)
        self.apply(self.init_weights)

    @staticmethod
    def init_weights(module):
        """BERT's initialisation (BertPreTrainedModel._init_weights)."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=INITIALIZER_RANGE)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()
        if isinstance(module, nn.LayerNorm):
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()

    def forward(self, input_ids, attention_mask, token_type_ids):
        # [B, S] -> [B, 1, 1, S]: 0 where attended, MASK_VALUE where padded.
        mask = attention_mask[:, None, None, :].to(self.embeddings.LayerNorm.weight.dtype)
        extended_mask = (1.0 - mask) * MASK_VALUE
        x = self.embeddings(input_ids, token_type_ids)
        for layer in self.layers:
            x = layer(x, extended_mask)
        if self.config["head"] == "classifier":
            pooled = torch.tanh(self.pooler(x[:, 0]))
            return self.classifier(pooled)
        start, end = self.qa_outputs(x).split(1, dim=-1)
        return start.squeeze(-1), end.squeeze(-1)


def output_names(c):
    return ["logits"] if c["head"] == "classifier" else ["start_logits", "end_logits"]


def build_model(name):
    """Constructs the model with seeded random weights, in eval mode. Deterministic."""
    torch.manual_seed(WEIGHT_SEED)
    model = Bert(MODELS[name])
    model.eval()
    return model


def test_inputs(c, seed=INPUT_SEED):
    """[CLS] segment A [SEP] segment B [SEP] then padding: random token ids (above the special
    tokens), token types 0 / 1 for the two segments, attention_mask 0 over the padding."""
    generator = torch.Generator().manual_seed(seed)
    seq, real = c["seq"], c["real_length"]
    ids = torch.randint(1000, c["vocab"], (1, seq), generator=generator)
    first_sep = real // 2
    ids[0, 0] = CLS
    ids[0, first_sep] = SEP
    ids[0, real - 1] = SEP
    ids[0, real:] = PAD
    mask = torch.zeros(1, seq, dtype=torch.int64)
    mask[0, :real] = 1
    types = torch.zeros(1, seq, dtype=torch.int64)
    types[0, first_sep + 1:real] = 1
    return ids, mask, types


def as_tuple(y):
    return y if isinstance(y, tuple) else (y,)


def run_torch(model, inputs):
    with torch.no_grad():
        return [t.numpy() for t in as_tuple(model(*inputs))]


def reference_outputs(model, inputs):
    """torch's float64 forward of the float32 weights, rounded to float32 (as
    export_torchvision.py): an FP32 engine is measured against the exact result."""
    model64 = copy.deepcopy(model).double()
    with torch.no_grad():
        outputs = [t.float().numpy() for t in as_tuple(model64(*inputs))]
    del model64
    gc.collect()
    return outputs


def export_onnx(model, inputs, opset, dynamic):
    names = output_names(model.config)
    dynamic_axes = None
    if dynamic:
        dynamic_axes = {n: {0: "batch", 1: "seq"} for n in INPUT_NAMES}
        for n in names:
            dynamic_axes[n] = {0: "batch", 1: "seq"} if n != "logits" else {0: "batch"}
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, tuple(inputs), buffer, opset_version=opset,
                          do_constant_folding=True, input_names=INPUT_NAMES,
                          output_names=names, dynamic_axes=dynamic_axes,
                          training=torch.onnx.TrainingMode.EVAL)
    return buffer.getvalue()


def output_spread(model, c, reference):
    """max |out(x1) - out(x0)| relative to the output's range, over all outputs: near 0 would
    mean a degenerate model that makes tests vacuous."""
    others = run_torch(model, test_inputs(c, seed=INPUT_SEED + 100))
    spread = 0.0
    for other, ref in zip(others, reference):
        value_range = float(ref.max() - ref.min()) or 1.0
        spread = max(spread, float(np.abs(other - ref).max()) / value_range)
    return spread


def file_name(name, dynamic):
    return f"{name}-dyn" if dynamic else name


def model_files(stem, outputs):
    return ([f"{stem}.onnx"] + [f"{stem}/test_data_set_0/input_{i}.pb" for i in range(3)]
            + [f"{stem}/test_data_set_0/output_{i}.pb" for i in range(outputs)])


def export_one(name, out_dir, opset, dynamic, expected_hash):
    torch.set_num_threads(TORCH_THREADS)
    c = MODELS[name]
    stem = file_name(name, dynamic)
    log(f"  {stem}: exporting ({c['layers']} layers, hidden {c['hidden']}, seq {c['seq']})")
    started = time.time()
    model = build_model(name)
    inputs = test_inputs(c)
    reference = reference_outputs(model, inputs)
    float32_error = max(float(np.abs(a - b).max())
                        for a, b in zip(run_torch(model, inputs), reference))
    spread = output_spread(model, c, reference)
    onnx_bytes = export_onnx(model, inputs, opset, dynamic)
    onnx_path = os.path.join(out_dir, f"{stem}.onnx")
    io_util.atomic_write_bytes(onnx_path, onnx_bytes)
    del onnx_bytes
    gc.collect()
    onnx.checker.check_model(onnx_path)  # by path: no second in-memory copy of the weights
    graph_inputs, graph_outputs = io_util.graph_io(onnx_path)
    if [i["name"] for i in graph_inputs] != INPUT_NAMES:
        raise RuntimeError(f"{stem}: exported inputs {graph_inputs}, expected {INPUT_NAMES}")
    data_dir = os.path.join(out_dir, stem, "test_data_set_0")
    for i, (x, info) in enumerate(zip(inputs, graph_inputs)):
        io_util.save_tensor_pb(os.path.join(data_dir, f"input_{i}.pb"), x.numpy(), info["name"])
    for i, (y, info) in enumerate(zip(reference, graph_outputs)):
        io_util.save_tensor_pb(os.path.join(data_dir, f"output_{i}.pb"), y, info["name"])

    entry = {
        "name": stem,
        "family": "architecture-only/bert",
        "file": f"{stem}.onnx",
        "opset": opset,
        "sha256": io_util.sha256_of_file(onnx_path),
        "inputs": graph_inputs,
        "outputs": graph_outputs,
        "architecture_only": True,
        "dataset": None,
        "metric": None,
        "fp32_reference_accuracy": None,
        "samples": 0,
        "test_data": {
            "dir": f"{stem}/test_data_set_0",
            "files": ([f"input_{i}.pb" for i in range(3)]
                      + [f"output_{i}.pb" for i in range(len(reference))]),
            "input_sample": (f"random token ids (torch.Generator seed {INPUT_SEED}), "
                             f"[CLS] A [SEP] B [SEP], {c['real_length']} real tokens then "
                             f"{c['seq'] - c['real_length']} padded (attention_mask 0)"),
            "output_reference": f"torch {torch.__version__}, eval mode, float64 forward of "
                                "the float32 weights, rounded to float32",
            "torch_float32_max_abs_error": float32_error,
        },
        "trained_for_zoo": False,
        "bert": dict(c, layer_norm_eps=LAYER_NORM_EPS, mask_value=MASK_VALUE,
                     dynamic_shapes=dynamic),
        "weights": (f"random: BERT's initialisation (normal(0, {INITIALIZER_RANGE}) weights, "
                    f"zero biases, LayerNorm 1/0) under torch.manual_seed({WEIGHT_SEED})"),
        "output_spread": round(spread, 4),
        "params": int(sum(p.numel() for p in model.parameters())),
        "ops": io_util.graph_ops(onnx_path),
        "pipeline": None,
    }
    io_util.write_stamp(out_dir, stem, expected_hash, entry)
    log(f"  {stem}: exported in {time.time() - started:.1f} s, "
        f"{os.path.getsize(onnx_path) / 1e6:.1f} MB, outputs "
        f"{[o['shape'] for o in graph_outputs]}, output spread {spread:.3f}, "
        f"torch FP32 error {float32_error:.2g}, ops {entry['ops']}")
    return entry


def verify_one(name, out_dir, dynamic):
    """Rebuilds the model from scratch and checks that torch reproduces the stored outputs bit
    for bit, and that the stored ONNX file passes the checker."""
    stem = file_name(name, dynamic)
    onnx.checker.check_model(os.path.join(out_dir, f"{stem}.onnx"))
    data_dir = os.path.join(out_dir, stem, "test_data_set_0")
    inputs = [torch.from_numpy(io_util.load_tensor_pb(
        os.path.join(data_dir, f"input_{i}.pb"))[1].copy()) for i in range(3)]
    actual = reference_outputs(build_model(name), inputs)
    diff = 0.0
    for i, a in enumerate(actual):
        _, expected = io_util.load_tensor_pb(os.path.join(data_dir, f"output_{i}.pb"))
        diff = max(diff, float(np.abs(a - expected).max()))
    log(f"  {stem}: checker ok, torch rerun max abs diff {diff:g}"
        + ("" if diff == 0.0 else " (MISMATCH)"))
    return diff == 0.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help=f"output folder (default {DEFAULT_OUT}; with --dynamic "
                                      f"{DEFAULT_DYNAMIC_OUT})")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated subset of: " + ", ".join(MODELS))
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--dynamic", action="store_true",
                        help="symbolic batch and seq dimensions; files named <name>-dyn")
    parser.add_argument("--force", action="store_true", help="re-export even when cached")
    parser.add_argument("--verify", action="store_true",
                        help="after exporting, rerun the checker and torch and compare")
    parser.add_argument("--list", action="store_true", help="print the model names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(MODELS))
        sys.exit(0)
    if not 13 <= args.opset <= 18:
        parser.error("--opset must be in 13..18 (octet's loader accepts up to 18)")
    if not args.out:
        args.out = DEFAULT_DYNAMIC_OUT if args.dynamic else DEFAULT_OUT
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    return args


def main():
    args = parse_args()
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    expected_hash = io_util.generator_hash(
        [os.path.abspath(__file__), io_util.__file__],
        extra=f"torch {torch.__version__} onnx {onnx.__version__} opset {args.opset} "
              f"dynamic {args.dynamic}")
    started = time.time()
    log(f"export_bert: {len(args.models)} model(s) into {out_dir} (opset {args.opset}"
        f"{', dynamic shapes' if args.dynamic else ''})")
    # One model at a time in this process: bert-large holds ~1.3 GB of FP32 weights, plus the
    # float64 copy for the reference, plus the exported bytes; several at once would crowd a
    # shared machine.
    for name in args.models:
        stem = file_name(name, args.dynamic)
        outputs = len(output_names(MODELS[name]))
        if not args.force and io_util.is_cached(out_dir, stem, model_files(stem, outputs),
                                                expected_hash):
            log(f"  {stem}: up to date (cached)")
        else:
            export_one(name, out_dir, args.opset, args.dynamic, expected_hash)
        gc.collect()

    entries = []
    for name in MODELS:
        for dynamic in (False, True):
            stem = file_name(name, dynamic)
            stamp = io_util.read_stamp(os.path.join(out_dir, stem))
            if stamp and all(os.path.isfile(os.path.join(out_dir, f)) for f in
                             model_files(stem, len(output_names(MODELS[name])))):
                entries.append(stamp["manifest_entry"])
    manifest = io_util.update_manifest(
        out_dir, GENERATOR, entries,
        description=("BERT architectures with seeded random weights (no pretrained weights, no "
                     "dataset): for throughput and FP32 correctness only. Paths are relative to "
                     "this directory."))

    failed = False
    if args.verify:
        log("verifying")
        failed = not all([verify_one(name, out_dir, args.dynamic) for name in args.models])
    log(f"export_bert: done in {time.time() - started:.1f} s; manifest {manifest}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
