#!/usr/bin/env python3
"""Classifies one ImageNet image from the zoo with octet, in FP32 and in INT8, and prints the
top-5 of each. The INT8 model is calibrated here on a few other images of the same set.

    python3 examples/python/classify.py [--zoo ../shared/zoo] [--model squeezenet1.1]
                                        [--image ILSVRC2012_val_00000347.JPEG] [--calibration 16]
"""
import argparse
import json
import pathlib

import numpy as np
from PIL import Image

import octet


def preprocess(path, spec):
    """The zoo manifest's preprocessing: 8-bit RGB, centre crop, x/255, mean/std, NCHW."""
    image = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    h, w = spec["shape"][2], spec["shape"][3]
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    crop = image[top:top + h, left:left + w] / 255.0
    normalized = (crop - np.array(spec["mean"], np.float32)) / np.array(spec["std"], np.float32)
    return np.ascontiguousarray(normalized.transpose(2, 0, 1)[None], dtype=np.float32)


def top5(logits, names):
    logits = logits.reshape(-1)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    return [(int(i), float(probs[i]), names[i]) for i in np.argsort(-logits)[:5]]


def main():
    here = pathlib.Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", default=str(here.parent / "shared" / "zoo"))
    parser.add_argument("--model", default="squeezenet1.1")
    parser.add_argument("--image", default="ILSVRC2012_val_00000347.JPEG")
    parser.add_argument("--calibration", type=int, default=16, help="images to calibrate INT8 on")
    args = parser.parse_args()

    zoo = pathlib.Path(args.zoo)
    entry = next(e for e in json.loads((zoo / "manifest.json").read_text())["entries"] if e["name"] == args.model)
    dataset = zoo / "datasets" / entry["dataset"]
    names = [line.split(" ", 1)[1].strip() for line in (dataset / "synset_words.txt").read_text().splitlines()]
    labels = dict(line.split() for line in (dataset / "labels.txt").read_text().splitlines())
    spec = entry["preprocess"]

    fp32 = octet.InferenceSession(str(zoo / entry["file"]))
    input_name = fp32.get_inputs()[0].name
    others = [name for name in sorted(labels) if name != args.image][:args.calibration]
    calibration = [{input_name: preprocess(dataset / "images" / name, spec)} for name in others]
    int8 = octet.InferenceSession(str(zoo / entry["file"]), precision="int8", calibration=calibration)

    x = preprocess(dataset / "images" / args.image, spec)
    truth = int(labels[args.image])
    print("%s on %s (true class %d: %s), ISA %s" % (args.model, args.image, truth, names[truth], fp32.isa))
    for title, session in (("FP32", fp32), ("INT8", int8)):
        print(title)
        for rank, (index, prob, name) in enumerate(top5(session.run(None, {input_name: x})[0], names), 1):
            print("  %d. %4d  %6.2f%%  %s" % (rank, index, 100 * prob, name))


if __name__ == "__main__":
    main()
