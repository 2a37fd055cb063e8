#!/usr/bin/python3
"""Exports torchvision architectures to ONNX with fixed seeds, for octet's throughput table and
FP32 correctness tests.

No pretrained weights can be downloaded, so the weights are torchvision's random initialisation
under torch.manual_seed(0). A freshly initialised network has BatchNorm running statistics of
mean 0 / variance 1, which makes deep nets' eval-mode outputs nearly constant; so the running
statistics are first measured on random images (train-mode forward passes, no gradients). The
outputs then depend on the input, and comparing them with torch's keeps the test meaningful.

For each model it writes, in the zoo's layout (../shared/zoo/README.md):
  OUT/<name>.onnx
  OUT/<name>/test_data_set_0/input_0.pb, output_0.pb   (onnx.TensorProto, torch's output)
  OUT/<name>/stamp.json                                (cache stamp)
  OUT/manifest.json                                    (zoo schema, "architecture_only": true)

Usage: /usr/bin/python3 tools/export_torchvision.py --out DIR [--models a,b,...] [--opset 13]
       [--force] [--verify] [--list]
"""

import argparse
import copy
import concurrent.futures
import io
import multiprocessing
import os
import sys
import time

import numpy as np
import onnx
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common_onnx_io as io_util  # noqa: E402

GENERATOR = "tools/export_torchvision.py"
WEIGHT_SEED = 0
INPUT_SEED = 1
BN_CALIBRATION_SEED = 2
BN_CALIBRATION_BATCHES = 4
BN_CALIBRATION_BATCH_SIZE = 8
TORCH_THREADS = 1  # per process; models export in parallel processes (--jobs)

# name -> (torchvision.models constructor, keyword arguments, input height = width).
# The names are the classic INT8 tables' names; inception-v3 appears there as googlenet-v3.
MODELS = {
    "resnet-18": ("resnet18", {"weights": None}, 224),
    "resnet-50": ("resnet50", {"weights": None}, 224),
    "mobilenet-v2": ("mobilenet_v2", {"weights": None}, 224),
    "densenet-121": ("densenet121", {"weights": None}, 224),
    "googlenet-v3": ("inception_v3",
                     {"weights": None, "aux_logits": False, "init_weights": True}, 299),
    "googlenet": ("googlenet", {"weights": None, "aux_logits": False, "init_weights": True}, 224),
    "squeezenet1.1": ("squeezenet1_1", {"weights": None}, 224),
    "shufflenet-v2": ("shufflenet_v2_x1_0", {"weights": None}, 224),
}

# Models whose final classifier gets nn.Linear's default initialisation instead of the
# constructor's: inception_v3's init_weights draws it with std 0.1, ~8x larger than usual,
# which amplifies ordinary FP32 rounding in the features until torch's own FP32 output sits
# at the edge of the model tests' tolerance (rtol 1e-3, atol 1e-4) from the exact result.
RESET_CLASSIFIER = {"googlenet-v3"}


def log(message):
    print(message, flush=True)


def build_model(name):
    """Constructs the model with seeded random weights and measured BatchNorm statistics, in
    eval mode. Deterministic: the same call gives bit-identical weights."""
    constructor, kwargs, size = MODELS[name]
    torch.manual_seed(WEIGHT_SEED)
    model = getattr(torchvision.models, constructor)(**kwargs)
    if name in RESET_CLASSIFIER:
        torch.manual_seed(WEIGHT_SEED)
        model.fc.reset_parameters()
    calibrate_batchnorm(model, size)
    model.eval()
    return model


def calibrate_batchnorm(model, size):
    """Sets every BatchNorm's running statistics to the exact average over the calibration
    batches (momentum None = cumulative average), instead of the initial 0 / 1."""
    batchnorms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not batchnorms:
        return
    saved_momentum = [bn.momentum for bn in batchnorms]
    for bn in batchnorms:
        bn.reset_running_stats()
        bn.momentum = None
    generator = torch.Generator().manual_seed(BN_CALIBRATION_SEED)
    model.train()
    with torch.no_grad():
        for _ in range(BN_CALIBRATION_BATCHES):
            model(torch.randn(BN_CALIBRATION_BATCH_SIZE, 3, size, size, generator=generator))
    for bn, momentum in zip(batchnorms, saved_momentum):
        bn.momentum = momentum


def test_input(size, seed=INPUT_SEED):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, 3, size, size, generator=generator)


def run_torch(model, x):
    with torch.no_grad():
        return model(x).numpy()


def reference_output(model, x):
    """The test data's expected output: the same weights run in float64 by torch, rounded to
    float32. An FP32 engine is then measured against the exact result, not against torch's
    own FP32 rounding as well."""
    model64 = copy.deepcopy(model).double()
    with torch.no_grad():
        return model64(x.double()).float().numpy()


def export_onnx(model, x, opset):
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, x, buffer, opset_version=opset, do_constant_folding=True,
                          input_names=["input"], output_names=["logits"],
                          training=torch.onnx.TrainingMode.EVAL)
    return buffer.getvalue()


def output_spread(model, size, reference):
    """How much the output moves when the input changes: max |out(x1) - out(x0)| relative to
    the output's own range. Near 0 means a degenerate model that would make tests vacuous."""
    other = run_torch(model, test_input(size, seed=INPUT_SEED + 100))
    value_range = float(reference.max() - reference.min()) or 1.0
    return float(np.abs(other - reference).max()) / value_range


def model_files(name):
    return [f"{name}.onnx",
            f"{name}/test_data_set_0/input_0.pb",
            f"{name}/test_data_set_0/output_0.pb"]


def export_one(name, out_dir, opset, expected_hash):
    """Builds, runs and exports one model; runs in a process of its own."""
    torch.set_num_threads(TORCH_THREADS)
    constructor, kwargs, size = MODELS[name]
    log(f"  {name}: exporting ({constructor}, {size}x{size})")
    started = time.time()
    model = build_model(name)
    x = test_input(size)
    y = reference_output(model, x)
    float32_error = float(np.abs(run_torch(model, x) - y).max())
    spread = output_spread(model, size, y)
    onnx_bytes = export_onnx(model, x, opset)

    onnx_model = onnx.load_from_string(onnx_bytes)
    onnx.checker.check_model(onnx_model)
    onnx_path = os.path.join(out_dir, f"{name}.onnx")
    io_util.atomic_write_bytes(onnx_path, onnx_bytes)
    inputs, outputs = io_util.graph_io(onnx_path)
    data_dir = os.path.join(out_dir, name, "test_data_set_0")
    io_util.save_tensor_pb(os.path.join(data_dir, "input_0.pb"), x.numpy(), inputs[0]["name"])
    io_util.save_tensor_pb(os.path.join(data_dir, "output_0.pb"), y, outputs[0]["name"])

    entry = {
        "name": name,
        "family": "architecture-only/torchvision",
        "file": f"{name}.onnx",
        "opset": opset,
        "sha256": io_util.sha256_of_file(onnx_path),
        "inputs": inputs,
        "outputs": outputs,
        "architecture_only": True,
        "dataset": None,
        "metric": None,
        "fp32_reference_accuracy": None,
        "samples": 0,
        "test_data": {
            "dir": f"{name}/test_data_set_0",
            "files": ["input_0.pb", "output_0.pb"],
            "input_sample": f"random N(0,1) image, torch.Generator seed {INPUT_SEED}",
            "fp32_top1_prediction": int(np.argmax(y.reshape(-1))),
            "output_reference": f"torch {torch.__version__}, eval mode, float64 forward of "
                                "the float32 weights, rounded to float32",
            "torch_float32_max_abs_error": float32_error,
        },
        "trained_for_zoo": False,
        "torchvision": {
            "constructor": f"torchvision.models.{constructor}",
            "kwargs": kwargs,
            "version": torchvision.__version__,
            "classifier_reinitialised": name in RESET_CLASSIFIER,
        },
        "weights": (f"random: torchvision's initialisation under torch.manual_seed({WEIGHT_SEED})"
                    + ("; classifier (fc) re-initialised with nn.Linear's default (seed "
                       f"{WEIGHT_SEED}) for better FP32 conditioning" if name in RESET_CLASSIFIER
                       else "") + "; "
                    f"BatchNorm running statistics averaged over {BN_CALIBRATION_BATCHES} "
                    f"train-mode batches of {BN_CALIBRATION_BATCH_SIZE} random N(0,1) images "
                    f"(seed {BN_CALIBRATION_SEED})"),
        "output_spread": round(spread, 4),
        "params": int(sum(p.numel() for p in model.parameters())),
        "ops": io_util.graph_ops(onnx_path),
        "pipeline": None,
    }
    io_util.write_stamp(out_dir, name, expected_hash, entry)
    log(f"  {name}: exported in {time.time() - started:.1f} s, "
        f"{os.path.getsize(onnx_path) / 1e6:.1f} MB, output {outputs[0]['shape']}, "
        f"argmax {entry['test_data']['fp32_top1_prediction']}, output spread {spread:.3f}, "
        f"torch FP32 error {float32_error:.2g}")
    return entry


def verify_one(name, out_dir):
    """Rebuilds the model from scratch and checks that torch reproduces the stored output
    bit for bit, and that the stored ONNX file passes the checker."""
    torch.set_num_threads(TORCH_THREADS)
    onnx.checker.check_model(os.path.join(out_dir, f"{name}.onnx"))
    data_dir = os.path.join(out_dir, name, "test_data_set_0")
    _, x = io_util.load_tensor_pb(os.path.join(data_dir, "input_0.pb"))
    _, expected = io_util.load_tensor_pb(os.path.join(data_dir, "output_0.pb"))
    actual = reference_output(build_model(name), torch.from_numpy(x.copy()))
    diff = float(np.abs(actual - expected).max())
    log(f"  {name}: checker ok, torch rerun max abs diff {diff:g}"
        + ("" if diff == 0.0 else " (MISMATCH)"))
    return diff == 0.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="output folder")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated subset of: " + ", ".join(MODELS))
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--force", action="store_true", help="re-export even when cached")
    parser.add_argument("--jobs", type=int, default=0,
                        help="models exported at once, one process and one torch thread each "
                             "(default: number of cores)")
    parser.add_argument("--verify", action="store_true",
                        help="after exporting, rerun the checker and torch and compare")
    parser.add_argument("--list", action="store_true", help="print the model names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(MODELS))
        sys.exit(0)
    if not args.out:
        parser.error("--out is required")
    if args.jobs < 0:
        parser.error("--jobs must be >= 0")
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
        extra=f"torch {torch.__version__} torchvision {torchvision.__version__} "
              f"onnx {onnx.__version__} opset {args.opset}")

    started = time.time()
    log(f"export_torchvision: {len(args.models)} model(s) into {out_dir} (opset {args.opset})")
    todo = []
    for name in args.models:
        if not args.force and io_util.is_cached(out_dir, name, model_files(name), expected_hash):
            log(f"  {name}: up to date (cached)")
        else:
            todo.append(name)
    jobs = args.jobs or os.cpu_count() or 1
    # Processes of one torch thread each, rather than more threads in one process: as fast on
    # an idle machine, and OpenMP's barriers make multi-threaded torch crawl when other work
    # competes for the cores. "spawn" gives each worker a fresh torch.
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=max(1, min(jobs, len(todo))),
            mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in [pool.submit(export_one, name, out_dir, args.opset, expected_hash)
                       for name in todo]:
            future.result()

    # The manifest lists every model in the folder that is complete and current, including
    # ones exported by an earlier run with a different --models selection.
    entries = []
    for name in MODELS:
        if io_util.is_cached(out_dir, name, model_files(name), expected_hash):
            entries.append(io_util.read_stamp(os.path.join(out_dir, name))["manifest_entry"])
    manifest = io_util.update_manifest(
        out_dir, GENERATOR, entries,
        description=("torchvision architectures with seeded random weights (no pretrained "
                     "weights, no dataset): for throughput and FP32 correctness only. "
                     "Paths are relative to this directory."))

    failed = False
    if args.verify:
        log("verifying")
        with concurrent.futures.ProcessPoolExecutor(
                max_workers=max(1, min(jobs, len(args.models))),
                mp_context=multiprocessing.get_context("spawn")) as pool:
            failed = not all(pool.map(verify_one, args.models, [out_dir] * len(args.models)))
    log(f"export_torchvision: done in {time.time() - started:.1f} s; manifest {manifest}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
