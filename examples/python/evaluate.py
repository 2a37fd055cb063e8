#!/usr/bin/env python3
"""Top-1 / top-5 accuracy of a zoo image classifier, written as an ONNX Runtime script and run
on octet. Exactly two lines differ from the ONNX Runtime original (marked "octet:"): the import
and the session's constructor, which asks for INT8 calibrated on the set's last 32 images.

    python3 examples/python/evaluate.py [--zoo ../shared/zoo] [--model squeezenet1.1] [--images 200]
"""
import argparse
import json
import pathlib
import time

import numpy as np
from PIL import Image

import octet as ort  # octet: was `import onnxruntime as ort`


def preprocess(path, spec):
    image = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    h, w = spec["shape"][2], spec["shape"][3]
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    x = (image[top:top + h, left:left + w] / 255.0 - np.array(spec["mean"], np.float32)) / np.array(spec["std"], np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def main():
    here = pathlib.Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser()
    parser.add_argument("--zoo", default=str(here.parent / "shared" / "zoo"))
    parser.add_argument("--model", default="squeezenet1.1")
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()

    zoo = pathlib.Path(args.zoo)
    entry = next(e for e in json.loads((zoo / "manifest.json").read_text())["entries"] if e["name"] == args.model)
    dataset = zoo / "datasets" / entry["dataset"]
    labels = [line.split() for line in (dataset / "labels.txt").read_text().splitlines()][:args.images]
    inputs = [preprocess(dataset / "images" / name, entry["preprocess"]) for name, _ in labels]

    sess = ort.InferenceSession(str(zoo / entry["file"]), providers=["CPUExecutionProvider"], precision="int8", calibration=[{entry["inputs"][0]["name"]: preprocess(dataset / "images" / n, entry["preprocess"])} for n in (dataset / "labels.txt").read_text().split()[-64::2]])  # octet: INT8, calibrated on the set's last 32 images
    input_name = sess.get_inputs()[0].name
    top1 = top5 = 0
    start = time.perf_counter()
    for x, (_, label) in zip(inputs, labels):
        logits = sess.run(None, {input_name: x})[0].reshape(-1)
        best = np.argsort(-logits)[:5]
        top1 += int(best[0] == int(label))
        top5 += int(int(label) in best)
    elapsed = time.perf_counter() - start
    print("%s: top-1 %.2f%%, top-5 %.2f%% over %d images, %.2f ms per image" % (
        args.model, 100.0 * top1 / len(labels), 100.0 * top5 / len(labels), len(labels),
        1000.0 * elapsed / len(labels)))


if __name__ == "__main__":
    main()
