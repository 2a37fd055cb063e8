#!/usr/bin/python3
"""Reference writer for the OCTEVAL1 file that ort_bench.mjs --eval-inputs reads (format in
README.md beside this file), and a check of the ONNX Runtime peer's evaluation mode on real
data.

  /usr/bin/python3 bench/peers/eval_inputs.py fmnist --out FILE [--limit N]
      writes the Fashion-MNIST test set (Debian dataset-fashion-mnist), preprocessed as the
      zoo states (x / 255, NCHW [1,1,28,28], input name "input"), and FILE.labels (one label
      per line), so that `node ort_bench.mjs --model M.onnx --eval-inputs FILE` can be scored.
"""

import argparse
import gzip
import struct
import sys

import numpy as np

MAGIC = b"OCTEVAL1"
ONNX_DTYPES = {np.dtype("float32"): 1, np.dtype("uint8"): 2, np.dtype("int8"): 3,
               np.dtype("int32"): 6, np.dtype("int64"): 7, np.dtype("bool"): 9,
               np.dtype("float64"): 11}


def write_eval_inputs(path, inputs):
    """inputs: list of (name, array [N, *per_run_shape]); every array has the same N. Each
    sample's tensor is fed to the model with shape per_run_shape (batch dimension included)."""
    if not inputs:
        raise ValueError("no inputs")
    samples = inputs[0][1].shape[0]
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<II", samples, len(inputs)))
        for name, array in inputs:
            if array.shape[0] != samples:
                raise ValueError(f"input {name}: {array.shape[0]} samples, expected {samples}")
            encoded = name.encode()
            f.write(struct.pack("<I", len(encoded)) + encoded)
            f.write(struct.pack("<II", ONNX_DTYPES[array.dtype], array.ndim - 1))
            f.write(struct.pack(f"<{array.ndim - 1}Q", *array.shape[1:]))
        for s in range(samples):
            for _, array in inputs:
                f.write(np.ascontiguousarray(array[s]).astype(array.dtype.newbyteorder("<"))
                        .tobytes())


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(f">{rank}I", data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def write_fmnist(out, limit):
    base = "/usr/share/datasets/fashion-mnist/t10k"
    images = read_idx(f"{base}-images-idx3-ubyte.gz")
    labels = read_idx(f"{base}-labels-idx1-ubyte.gz")
    if limit:
        images, labels = images[:limit], labels[:limit]
    x = (images.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 1, 28, 28)
    write_eval_inputs(out, [("input", x)])
    with open(out + ".labels", "w") as f:
        f.write("".join(f"{int(v)}\n" for v in labels))
    print(f"wrote {len(labels)} samples to {out} and {out}.labels")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fmnist = sub.add_parser("fmnist", help="write the Fashion-MNIST test set")
    fmnist.add_argument("--out", required=True)
    fmnist.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    if args.command == "fmnist":
        write_fmnist(args.out, args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
