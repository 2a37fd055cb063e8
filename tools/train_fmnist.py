#!/usr/bin/python3
"""Trains two small Fashion-MNIST classifiers with Debian's python3-torch and exports them to
ONNX, so that octet's benchmark has real labelled data on a machine without the model zoo.

The architectures and training recipe follow the zoo's fmnist-resnet and fmnist-mobilenetv2
(../shared/zoo/README.md), with a much smaller budget (default 1 epoch each, a few minutes on
2 cores), hence the "-local" names: their accuracy is a little below the zoo's.

Data: Debian package dataset-fashion-mnist, read here from its IDX gzip files directly.
Writes into OUT, in the zoo's layout and manifest schema:
  OUT/fmnist-resnet-local.onnx, OUT/fmnist-mobilenetv2-local.onnx
  OUT/<name>/test_data_set_0/{input_0.pb,output_0.pb}   (test sample 0, x / 255, NCHW)
  OUT/<name>/stamp.json                                  (cache stamp)
  OUT/manifest.json                                      (entries + "datasets")

Usage: /usr/bin/python3 tools/train_fmnist.py --out DIR [--epochs N] [--seed 0]
       [--train-limit N] [--models a,b] [--force]
"""

import argparse
import concurrent.futures
import multiprocessing
import gzip
import io
import os
import struct
import sys
import time

import numpy as np
import onnx
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common_onnx_io as io_util  # noqa: E402

GENERATOR = "tools/train_fmnist.py"
DATASET_DIR = "/usr/share/datasets/fashion-mnist"
DATASET_NAME = "fashion-mnist-test"
OPSET = 13
BATCH_SIZE = 128
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 5e-4
WARMUP_FRACTION = 0.15
LABEL_SMOOTHING = 0.05
MAX_SHIFT = 2
EVAL_BATCH_SIZE = 1000
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]

IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801


def log(message):
    print(message, flush=True)


# ----------------------------------------------------------------------------- data

def read_idx(path, expected_magic):
    """Reads a gzip IDX file: big-endian u32 magic (0x0000080N, N = number of dims), N
    big-endian u32 dimension sizes, then uint8 data in row-major order."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path}: truncated IDX header")
    (magic,) = struct.unpack(">I", data[:4])
    if magic != expected_magic:
        raise ValueError(f"{path}: IDX magic 0x{magic:08x}, expected 0x{expected_magic:08x}")
    rank = magic & 0xFF
    header_size = 4 + 4 * rank
    if len(data) < header_size:
        raise ValueError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{rank}I", data[4:header_size])
    count = int(np.prod(dims))
    if len(data) != header_size + count:
        raise ValueError(f"{path}: {len(data) - header_size} data bytes, dims {dims} "
                         f"need {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims)


def load_split(split):
    """split 'train' or 't10k' -> (uint8 images [N,1,28,28], int64 labels [N])."""
    images = read_idx(os.path.join(DATASET_DIR, f"{split}-images-idx3-ubyte.gz"),
                      IDX_IMAGES_MAGIC)
    labels = read_idx(os.path.join(DATASET_DIR, f"{split}-labels-idx1-ubyte.gz"),
                      IDX_LABELS_MAGIC)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(f"{DATASET_DIR}/{split}: images {images.shape} and labels "
                         f"{labels.shape} do not match")
    return (torch.from_numpy(images.copy()).unsqueeze(1),
            torch.from_numpy(labels.astype(np.int64)))


def preprocess(images_u8):
    """The inference preprocessing stated in the manifest: x / 255, NCHW float32."""
    return images_u8.float() / 255.0


def augment(batch, generator):
    """Random horizontal flip and random translation of up to MAX_SHIFT pixels, zero fill."""
    n, _, h, w = batch.shape
    flip = torch.rand(n, generator=generator) < 0.5
    batch = torch.where(flip.view(n, 1, 1, 1), batch.flip(3), batch)
    padded = nn.functional.pad(batch, (MAX_SHIFT,) * 4)
    shifts = torch.randint(0, 2 * MAX_SHIFT + 1, (n, 2), generator=generator).tolist()
    return torch.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(shifts)])


# ----------------------------------------------------------------------------- models

def conv_bn(cin, cout, kernel, stride=1, groups=1):
    return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout)]


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(cin, cout, 3, stride), nn.ReLU(inplace=True),
                                  *conv_bn(cout, cout, 3))
        self.shortcut = (nn.Sequential(*conv_bn(cin, cout, 1, stride))
                         if stride != 1 or cin != cout else nn.Identity())
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + self.shortcut(x))


class FmnistResNet(nn.Module):
    """The zoo's fmnist-resnet: 174,970 parameters."""

    def __init__(self):
        super().__init__()
        layers = [*conv_bn(1, 16, 3), nn.ReLU(inplace=True)]
        cin = 16
        for stage, cout in enumerate((16, 32, 64)):
            for block in range(2):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(cin, cout, stride))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expansion):
        super().__init__()
        hidden = cin * expansion
        layers = []
        if expansion != 1:
            layers += [*conv_bn(cin, hidden, 1), nn.ReLU6(inplace=True)]
        layers += [*conv_bn(hidden, hidden, 3, stride, groups=hidden), nn.ReLU6(inplace=True),
                   *conv_bn(hidden, cout, 1)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class FmnistMobileNetV2(nn.Module):
    """The zoo's fmnist-mobilenetv2: 134,250 parameters."""

    SETTINGS = ((1, 16, 1, 2), (6, 24, 2, 1), (6, 32, 2, 2), (6, 64, 2, 1))  # t, c, n, s

    def __init__(self):
        super().__init__()
        layers = [*conv_bn(1, 16, 3), nn.ReLU6(inplace=True)]
        cin = 16
        for expansion, cout, repeats, first_stride in self.SETTINGS:
            for i in range(repeats):
                layers.append(InvertedResidual(cin, cout, first_stride if i == 0 else 1,
                                               expansion))
                cin = cout
        layers += [*conv_bn(cin, 256, 1), nn.ReLU6(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


MODELS = {
    "fmnist-resnet-local": (FmnistResNet, 174970,
                            "small ResNet: conv3x3(1->16)-BN-ReLU stem; 3 stages x 2 basic blocks "
                            "(16 ch @28x28, 32 ch @14x14, 64 ch @7x7), stride-2 first block of "
                            "stages 2-3 with 1x1 conv+BN shortcut, identity shortcuts elsewhere; "
                            "global average pool; FC 64->10"),
    "fmnist-mobilenetv2-local": (FmnistMobileNetV2, 134250,
                                 "small MobileNetV2: conv3x3(1->16)-BN-ReLU6 stem @28x28; inverted "
                                 "residual blocks (t,c,n,s) = (1,16,1,2), (6,24,2,1), (6,32,2,2), "
                                 "(6,64,2,1) with depthwise 3x3, ReLU6, linear 1x1 bottleneck and "
                                 "residual add when stride 1 and channels match; conv1x1 ->256-BN-"
                                 "ReLU6; global average pool; FC 256->10"),
}


# ----------------------------------------------------------------------------- train / eval

def train(name, model, images, labels, epochs, seed):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE,
                                  weight_decay=WEIGHT_DECAY)
    steps_per_epoch = (len(images) + BATCH_SIZE - 1) // BATCH_SIZE
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=LEARNING_RATE, epochs=epochs, steps_per_epoch=steps_per_epoch,
        pct_start=WARMUP_FRACTION)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    # channels_last roughly halves the CPU time of a step (depthwise convolutions most).
    model.to(memory_format=torch.channels_last)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        started, running_loss, seen, correct = time.time(), 0.0, 0, 0
        for step in range(steps_per_epoch):
            index = order[step * BATCH_SIZE:(step + 1) * BATCH_SIZE]
            x = augment(preprocess(images[index]), generator).contiguous(
                memory_format=torch.channels_last)
            y = labels[index]
            logits = model(x)
            loss = loss_fn(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            running_loss += loss.item() * len(index)
            seen += len(index)
            correct += int((logits.argmax(1) == y).sum())
            if (step + 1) % 100 == 0 or step + 1 == steps_per_epoch:
                log(f"  {name}: epoch {epoch + 1}/{epochs} step {step + 1}/{steps_per_epoch}: "
                    f"loss {running_loss / seen:.4f}, train acc {100.0 * correct / seen:.2f} %, "
                    f"{time.time() - started:.0f} s")
    model.to(memory_format=torch.contiguous_format)
    model.eval()


def predict(model, images):
    """Logits of the eval-mode model for every image, in batches."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), EVAL_BATCH_SIZE):
            outputs.append(model(preprocess(images[start:start + EVAL_BATCH_SIZE])))
    return torch.cat(outputs)


def accuracy(logits, labels):
    top1 = logits.argmax(1) == labels
    top5 = (logits.topk(5, dim=1).indices == labels.unsqueeze(1)).any(1)
    return int(top1.sum()), int(top5.sum())


def export_onnx(model, x):
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, x, buffer, opset_version=OPSET, do_constant_folding=True,
                          input_names=["input"], output_names=["logits"],
                          training=torch.onnx.TrainingMode.EVAL)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- manifest

def dataset_section():
    return {
        DATASET_NAME: {
            "path": DATASET_DIR,
            "format": "idx (gzip)",
            "not_copied_into_zoo": True,
            "files": ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
            "samples": 10000,
            "install": "Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
            "class_names": CLASS_NAMES,
            "notes": "Same IDX format as MNIST. The models were trained on "
                     "train-*-ubyte.gz of the same package.",
            "provenance": {
                "repository": "github.com/zalandoresearch/fashion-mnist (via Debian "
                              "dataset-fashion-mnist)",
                "license": "MIT (Expat)",
            },
        }
    }


def pipeline():
    return {"kind": "image", "color": "GRAY", "resize": None, "center_crop": None,
            "scale": 1.0 / 255.0, "mean": [0.0], "std": [1.0], "layout": "NCHW",
            "dtype": "float32",
            "formula": "x = (pixel * scale - mean[c]) / std[c], after resize (if any) then "
                       "center crop (if any)"}


def manifest_entry(name, onnx_path, params, architecture, epochs, seed, threads, train_count,
                   train_time, test_count, correct_top1, correct_top5, label0, prediction0):
    inputs, outputs = io_util.graph_io(onnx_path)
    return {
        "name": name,
        "family": "image-classification/fashion-mnist",
        "file": f"{name}.onnx",
        "opset": OPSET,
        "sha256": io_util.sha256_of_file(onnx_path),
        "inputs": inputs,
        "outputs": outputs,
        "dataset": DATASET_NAME,
        "metric": {"type": "top-1 accuracy",
                   "label_mapping": "10 classes, Fashion-MNIST order (see "
                                    "datasets.fashion-mnist-test.class_names)",
                   "output": "logits (no softmax)",
                   "label_offset": 0},
        "preprocess": {"decode": "IDX uint8 28x28 grayscale", "resize": "none",
                       "scale": "x / 255.0 (range 0..1)", "mean": None, "std": None,
                       "layout": "NCHW", "dtype": "float32", "shape": [1, 1, 28, 28]},
        "fp32_reference_accuracy": {
            "top1": round(correct_top1 / test_count, 6),
            "top5": round(correct_top5 / test_count, 6),
            "correct_top1": correct_top1,
            "runtime": f"torch {torch.__version__} (CPU, eval mode, batch {EVAL_BATCH_SIZE})",
        },
        "samples": test_count,
        "test_data": {"dir": f"{name}/test_data_set_0", "files": ["input_0.pb", "output_0.pb"],
                      "input_sample": "sample index 0 of the dataset", "label": label0,
                      "fp32_top1_prediction": prediction0},
        "trained_for_zoo": False,
        "trained_locally": True,
        "provenance": {"weights": f"trained by {GENERATOR} (see training)",
                       "dataset": dataset_section()[DATASET_NAME]["provenance"]},
        "training": {
            "architecture": architecture,
            "params": params,
            "data": f"Fashion-MNIST train ({train_count:,} of 60,000), same preprocessing as "
                    "inference",
            "augmentation": f"random horizontal flip, random translation up to {MAX_SHIFT} px "
                            "(zero fill)",
            "optimizer": f"AdamW lr {LEARNING_RATE}, weight decay {WEIGHT_DECAY}, batch "
                         f"{BATCH_SIZE}, OneCycle schedule ({WARMUP_FRACTION:.0%} warm-up), "
                         f"label smoothing {LABEL_SMOOTHING}",
            "epochs": epochs,
            "seed": seed,
            "framework": f"PyTorch {torch.__version__} (CPU), BatchNorm folded into Conv by "
                         "the ONNX exporter",
            "train_time_s": round(train_time, 1),
            "cpu_threads": threads,
            "export": f"torch.onnx.export opset {OPSET} after model.eval()",
        },
        "ops": io_util.graph_ops(onnx_path),
        "pipeline": pipeline(),
    }


# ----------------------------------------------------------------------------- main

def train_one(name, args, out_dir, expected_hash):
    """Trains, evaluates and exports one model; runs in a process of its own."""
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    train_data = load_split("train")
    if args.train_limit:
        train_data = (train_data[0][:args.train_limit], train_data[1][:args.train_limit])
    test_data = load_split("t10k")
    model_class, expected_params, architecture = MODELS[name]
    torch.manual_seed(args.seed)
    model = model_class()
    params = sum(p.numel() for p in model.parameters())
    if params != expected_params:
        raise RuntimeError(f"{name}: {params} parameters, the zoo's architecture has "
                           f"{expected_params}")
    images, labels = train_data
    log(f"  {name}: training {params:,} parameters, {args.epochs} epoch(s) on "
        f"{len(images):,} images")
    started = time.time()
    train(name, model, images, labels, args.epochs, args.seed)
    train_time = time.time() - started

    test_images, test_labels = test_data
    logits = predict(model, test_images)
    correct_top1, correct_top5 = accuracy(logits, test_labels)
    x0 = preprocess(test_images[:1])
    with torch.no_grad():
        y0 = model(x0).numpy()

    onnx_bytes = export_onnx(model, x0)
    onnx.checker.check_model(onnx.load_from_string(onnx_bytes))
    onnx_path = os.path.join(out_dir, f"{name}.onnx")
    io_util.atomic_write_bytes(onnx_path, onnx_bytes)
    inputs, outputs = io_util.graph_io(onnx_path)
    data_dir = os.path.join(out_dir, name, "test_data_set_0")
    io_util.save_tensor_pb(os.path.join(data_dir, "input_0.pb"), x0.numpy(), inputs[0]["name"])
    io_util.save_tensor_pb(os.path.join(data_dir, "output_0.pb"), y0, outputs[0]["name"])

    entry = manifest_entry(name, onnx_path, params, architecture, args.epochs, args.seed,
                           args.threads, len(images), train_time, len(test_images), correct_top1,
                           correct_top5, int(test_labels[0]), int(np.argmax(y0)))
    io_util.write_stamp(out_dir, name, expected_hash, entry)
    log(f"  {name}: trained in {train_time:.0f} s; test top-1 "
        f"{100.0 * correct_top1 / len(test_images):.2f} % ({correct_top1}/{len(test_images)}), "
        f"top-5 {100.0 * correct_top5 / len(test_images):.2f} %")
    return entry


def model_files(name):
    return [f"{name}.onnx",
            f"{name}/test_data_set_0/input_0.pb",
            f"{name}/test_data_set_0/output_0.pb"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs per model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-limit", type=int, default=0,
                        help="train on the first N training images only (0 = all 60,000)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated subset of: " + ", ".join(MODELS))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per model (default 1: the models train in parallel, "
                             "one process each, which also keeps a busy machine efficient)")
    parser.add_argument("--jobs", type=int, default=0,
                        help="models trained at once (default: min(models, cores))")
    parser.add_argument("--force", action="store_true", help="retrain even when cached")
    args = parser.parse_args()
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.train_limit < 0:
        parser.error("--train-limit must be >= 0")
    if args.threads < 1 or args.jobs < 0:
        parser.error("--threads must be >= 1 and --jobs >= 0")
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    return args


def main():
    args = parse_args()
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    dataset_files = [os.path.join(DATASET_DIR, f"{split}-{kind}-ubyte.gz")
                     for split in ("train", "t10k") for kind in ("images-idx3", "labels-idx1")]
    missing = [f for f in dataset_files if not os.path.isfile(f)]
    if missing:
        sys.exit(f"train_fmnist: missing {', '.join(missing)} "
                 "(apt-get install dataset-fashion-mnist)")
    dataset_sizes = " ".join(f"{os.path.basename(f)}:{os.path.getsize(f)}" for f in dataset_files)
    started = time.time()

    def current_hash(name):
        # Each model's cache key covers the scripts, the versions, the options and the data.
        return io_util.generator_hash(
            [os.path.abspath(__file__), io_util.__file__],
            extra=f"{name} torch {torch.__version__} onnx {onnx.__version__} "
                  f"epochs {args.epochs} seed {args.seed} limit {args.train_limit} "
                  f"threads {args.threads} "
                  f"{dataset_sizes}")

    todo = [n for n in args.models
            if args.force or not io_util.is_cached(out_dir, n, model_files(n), current_hash(n))]
    for name in args.models:
        if name not in todo:
            log(f"  {name}: up to date (cached)")
    if todo:
        jobs = args.jobs or min(len(todo), os.cpu_count() or 1)
        # Separate processes rather than more torch threads: two 1-thread trainings use two
        # cores fully, and they do not stall when other work competes for the cores, as
        # OpenMP's barriers do. "spawn" gives each a fresh torch.
        with concurrent.futures.ProcessPoolExecutor(
                max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(train_one, name, args, out_dir, current_hash(name))
                       for name in todo]
            for future in futures:
                future.result()

    # The manifest lists every model in the folder that is complete and current for these
    # options, including one trained by an earlier run with a different --models selection.
    entries = [io_util.read_stamp(os.path.join(out_dir, n))["manifest_entry"]
               for n in MODELS
               if io_util.is_cached(out_dir, n, model_files(n), current_hash(n))]
    manifest = io_util.update_manifest(
        out_dir, GENERATOR, entries,
        description=("Fashion-MNIST models trained locally by tools/train_fmnist.py, with "
                     "labelled evaluation data in native form (same schema as the zoo's "
                     "manifest.json). Paths are relative to this directory; the dataset path "
                     "is absolute."),
        datasets=dataset_section())
    log(f"train_fmnist: done in {time.time() - started:.0f} s; manifest {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
