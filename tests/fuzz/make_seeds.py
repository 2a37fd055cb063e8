#!/usr/bin/python3
"""Builds the seed corpora of the fuzz targets (tests/fuzz/run_fuzz.sh calls this).

    make_seeds.py --out DIR [--zoo ZOO] [--testdata /usr/share/libonnx-testdata/data]

DIR/fuzz_model_load    model.onnx of every 3rd ONNX node test (about 310) and of every node
                       test of the families whose attributes and subgraphs are the richest
                       (recurrent nets, control flow, sequences, Einsum, GridSample, detection,
                       text), plus the zoo's small models (under 64 KB), a Loop holding
                       an If (subgraphs), and a SequenceMap between tensors.
DIR/fuzz_tensor_proto  the input/output .pb files of the same node tests, the zoo's test data
                       under 64 KB, and TensorProtos with external data pointing at the
                       harness fixture (inside, through symlinks, escaping), so the fuzzer
                       starts with the external-data resolver in reach.
DIR/fuzz_datasets      first byte = reader (see harness_datasets.h), then the file: a few
                       zoo JPEGs, small IDX files (plain and gzip) cut from MNIST, the head of
                       SST-2 dev.tsv and of the vocabulary; synthetic ones when the zoo is absent.
DIR/fuzz_manifest      the zoo's and zoo-next's manifest.json (when present), and manifests that
                       name the harness's scratch zoo (models/m.onnx, datasets/d/{a,b}) with
                       good, hostile and escaping entries.
Deterministic: the same inputs give the same seeds.
"""
import argparse
import gzip
import hashlib
import os
import struct
import sys

import onnx
from onnx import TensorProto, helper

MAX_SEED = 64 * 1024


def write_seed(out_dir, data, prefix=b""):
    data = prefix + data
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)


# Every test of these families seeds the model loader, not one in three: their attributes
# (activations, equations, subgraphs, string pools) are where malformed models hide.
RICH_FAMILIES = ("test_rnn", "test_simple_rnn", "test_lstm", "test_gru", "test_loop", "test_if",
                 "test_scan", "test_sequence", "test_optional", "test_identity_opt",
                 "test_identity_sequence", "test_einsum", "test_gridsample", "test_nonmaxsuppression",
                 "test_roialign", "test_strnormalizer", "test_tfidfvectorizer")


def node_tests(testdata, rich=False):
    node_dir = os.path.join(testdata, "node")
    if not os.path.isdir(node_dir):
        return []
    names = sorted(os.listdir(node_dir))
    chosen = set(names[::3])
    if rich:
        chosen.update(n for n in names if n.startswith(RICH_FAMILIES))
    return [os.path.join(node_dir, d) for d in sorted(chosen)]


def control_flow_model():
    """A Loop whose body holds an If, both reading x from the model's graph: every subgraph
    path of the loader (outer-scope names, nesting) in one seed."""
    then_g = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2])])
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Less", ["i", "one"], ["first"]),
         helper.make_node("If", ["first"], ["step"], then_branch=then_g, else_branch=else_g),
         helper.make_node("Add", ["s_in", "step"], ["s_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("c_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("s_in", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("s_out", TensorProto.FLOAT, [2])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", "", "s0"], ["s"], body=body)], "loop_if",
        [helper.make_tensor_value_info("s0", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, [2])],
        [helper.make_tensor("M", TensorProto.INT64, [], [3]), helper.make_tensor("one", TensorProto.INT64, [], [1])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def sequence_map_model():
    """SequenceMap between tensors (the node tests' models have sequence graph inputs, which the
    loader refuses before compiling): elements of two shapes (two bodies compiled), a tensor
    input fed whole and an outer-scope read."""
    body = helper.make_graph(
        [helper.make_node("Add", ["e", "k"], ["sum"]),
         helper.make_node("Mul", ["sum", "t_in"], ["prod"]),
         helper.make_node("Shape", ["e"], ["shape"])],
        "body",
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("t_in", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("prod", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("shape", TensorProto.INT64, [1])])
    g = helper.make_graph(
        [helper.make_node("SplitToSequence", ["x", "split"], ["s"]),
         helper.make_node("SequenceMap", ["s", "t"], ["r", "shapes"], body=body),
         helper.make_node("ConcatFromSequence", ["r"], ["y"], axis=0),
         helper.make_node("ConcatFromSequence", ["shapes"], ["y_shapes"], axis=0)],
        "sequence_map",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info("t", TensorProto.FLOAT, [1]),
         helper.make_tensor_value_info("k", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info("y_shapes", TensorProto.INT64, [2])],
        [helper.make_tensor("split", TensorProto.INT64, [2], [1, 2])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def model_seeds(out, testdata, zoo):
    for t in node_tests(testdata, rich=True):
        m = os.path.join(t, "model.onnx")
        if os.path.exists(m) and os.path.getsize(m) <= MAX_SEED:
            write_seed(out, open(m, "rb").read())
    for m in string_models():
        write_seed(out, m)
    write_seed(out, control_flow_model())
    write_seed(out, sequence_map_model())
    if zoo:
        models = os.path.join(zoo, "models")
        for f in sorted(os.listdir(models)):
            p = os.path.join(models, f)
            if f.endswith(".onnx") and os.path.getsize(p) <= MAX_SEED:
                write_seed(out, open(p, "rb").read())


def string_models():
    """Small models with string tensors: an initializer, a string graph input and output."""
    x = helper.make_tensor_value_info("x", TensorProto.STRING, [1, 3])
    y = helper.make_tensor_value_info("y", TensorProto.STRING, [1, 3])
    norm = helper.make_node("StringNormalizer", ["x"], ["y"], case_change_action="UPPER")
    yield helper.make_model(helper.make_graph([norm], "normalize", [x], [y]),
                            opset_imports=[helper.make_opsetid("", 10)]).SerializeToString()
    w = helper.make_tensor("w", TensorProto.STRING, [3], [b"monday", b"2", b"1.5"])
    f = helper.make_tensor_value_info("f", TensorProto.FLOAT, [2])
    nodes = [helper.make_node("StringNormalizer", ["w"], ["k"], stopwords=["monday"]),
             helper.make_node("Cast", ["k"], ["f"], to=TensorProto.FLOAT)]
    yield helper.make_model(helper.make_graph(nodes, "stop_cast", [], [f], initializer=[w]),
                            opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def external_tensor(location, dtype=TensorProto.FLOAT, dims=(4,), offset=None, length=None):
    t = TensorProto()
    t.name = "t"
    t.data_type = dtype
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t.SerializeToString()


def tensor_seeds(out, testdata, zoo):
    for t in node_tests(testdata):
        for root, _, files in os.walk(t):
            for f in sorted(files):
                p = os.path.join(root, f)
                if f.endswith(".pb") and os.path.getsize(p) <= MAX_SEED:
                    write_seed(out, open(p, "rb").read())
    if zoo:
        models = os.path.join(zoo, "models")
        for root, _, files in sorted(os.walk(models)):
            for f in sorted(files):
                p = os.path.join(root, f)
                if f.endswith(".pb") and os.path.getsize(p) <= MAX_SEED:
                    write_seed(out, open(p, "rb").read())
    # The fixture of harness_tensor_proto.h: w.bin, sub/x.bin, alias.bin (inside), escape.bin
    # and up/ (symlinks leading outside), secret.bin beside the folder.
    for loc in ["w.bin", "sub/x.bin", "alias.bin", "escape.bin", "up/secret.bin", "../secret.bin", "/etc/passwd",
                "sub", "missing.bin"]:
        write_seed(out, external_tensor(loc))
    write_seed(out, external_tensor("w.bin", TensorProto.UINT8, (2, 8), offset=100, length=16))
    write_seed(out, external_tensor("w.bin", TensorProto.INT64, (3,), offset=4088))
    write_seed(out, external_tensor("sub/x.bin", TensorProto.FLOAT16, (7,), offset=1))
    # Typed fields rather than raw_data.
    write_seed(out, helper.make_tensor("f", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0]).SerializeToString())
    write_seed(out, helper.make_tensor("i", TensorProto.INT32, [3], [1, -2, 3]).SerializeToString())
    write_seed(out, helper.make_tensor("b", TensorProto.BOOL, [2], [True, False]).SerializeToString())
    write_seed(out, helper.make_tensor("h", TensorProto.FLOAT16, [1], [0.5]).SerializeToString())
    write_seed(out, helper.make_tensor("d", TensorProto.DOUBLE, [2], [0.5, 1e300]).SerializeToString())
    write_seed(out, helper.make_tensor("u", TensorProto.UINT64, [1], [2**63]).SerializeToString())
    # String tensors: string_data (the only encoding octet takes for them).
    write_seed(out, helper.make_tensor("s", TensorProto.STRING, [2, 2], [b"ab", b"", b"\xc3\xa9", b"x"]).SerializeToString())


def idx_bytes(dims, data):
    return struct.pack(">I", 0x800 | len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def dataset_seeds(out, zoo):
    reader_idx3, reader_idx1, reader_rgb, reader_gray, reader_tsv, reader_vocab = (bytes([i]) for i in range(6))
    images = labels = None
    if zoo:
        mnist = os.path.join(zoo, "datasets", "mnist-test")
        ip = os.path.join(mnist, "t10k-images-idx3-ubyte.gz")
        lp = os.path.join(mnist, "t10k-labels-idx1-ubyte.gz")
        if os.path.exists(ip) and os.path.exists(lp):
            raw = gzip.open(ip).read()
            images = raw[16:16 + 3 * 784]
            labels = gzip.open(lp).read()[8:8 + 3]
    if images is None:
        images = bytes((i * 37) % 256 for i in range(3 * 784))
        labels = bytes([7, 2, 1])
    idx3 = idx_bytes([3, 28, 28], images)
    idx1 = idx_bytes([3], labels)
    write_seed(out, idx3, reader_idx3)
    write_seed(out, gzip.compress(idx3, mtime=0), reader_idx3)
    write_seed(out, idx1, reader_idx1)
    write_seed(out, gzip.compress(idx1, mtime=0), reader_idx1)

    jpegs = []
    if zoo:
        cifar = os.path.join(zoo, "datasets", "cifar10-test", "test")
        if os.path.isdir(cifar):
            for cls in sorted(os.listdir(cifar))[:4]:
                d = os.path.join(cifar, cls)
                jpegs += [os.path.join(d, f) for f in sorted(os.listdir(d))[:2]]
        imagenet = os.path.join(zoo, "datasets", "imagenet-val-1300", "images")
        if os.path.isdir(imagenet):
            small = [os.path.join(imagenet, f) for f in sorted(os.listdir(imagenet))[:40]]
            small = [p for p in small if os.path.getsize(p) <= MAX_SEED][:2]
            jpegs += small
    if not jpegs:
        try:
            from PIL import Image
            import io
            for size, mode in [((8, 8), "RGB"), ((33, 17), "L"), ((64, 48), "RGB")]:
                buf = io.BytesIO()
                Image.new(mode, size, 128).save(buf, format="JPEG", quality=75)
                jpegs.append(buf.getvalue())
        except ImportError:
            print("make_seeds: no zoo and no PIL: no JPEG seeds", file=sys.stderr)
    for j in jpegs:
        data = open(j, "rb").read() if isinstance(j, str) else j
        write_seed(out, data, reader_rgb)
        write_seed(out, data, reader_gray)

    tsv = b"sentence\tlabel\nit 's a charming and often affecting journey . \t1\nunflinchingly bleak and desperate \t0\n"
    vocab = b"[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n,\n.\na\nand\nfilm\n"
    if zoo:
        dev = os.path.join(zoo, "datasets", "sst2-dev", "dev.tsv")
        if os.path.exists(dev):
            tsv = b"".join(open(dev, "rb").readlines()[:25])
        vp = os.path.join(zoo, "models", "sst2-tinybert", "vocab.txt")
        if os.path.exists(vp):
            vocab = b"".join(open(vp, "rb").readlines()[:200])
    write_seed(out, tsv, reader_tsv)
    write_seed(out, tsv.replace(b"\n", b"\r\n"), reader_tsv)
    write_seed(out, vocab, reader_vocab)


def manifest_seeds(out, zoo):
    import json
    if zoo:
        for folder in (zoo, os.path.join(os.path.dirname(os.path.abspath(zoo)), "zoo-next")):
            p = os.path.join(folder, "manifest.json")
            if os.path.exists(p) and os.path.getsize(p) <= MAX_SEED:
                write_seed(out, open(p, "rb").read())
    image = {"kind": "image", "color": "RGB", "resize": {"shorter_side": 256, "interpolation": "bilinear"},
             "center_crop": [224, 224], "scale": 0.0039, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
             "layout": "NCHW", "dtype": "float32"}
    datasets = {"img": {"path": "datasets/d", "format": "jpeg+labels", "label_file": "datasets/d/a"},
                "digits": {"path": "datasets/d", "format": "idx (gzip)", "files": ["a", "b"]},
                "text": {"path": "datasets/d", "format": "tsv", "files": ["a"]},
                "system": {"path": "/usr/share/datasets/fashion-mnist", "format": "idx (gzip)",
                           "files": ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]}}
    good = [
        {"name": "img", "file": "models/m.onnx", "dataset": "img", "metric": {"type": "top-1 accuracy", "label_offset": 1},
         "inputs": [{"name": "x", "dtype": "float32", "shape": [1, 3, 224, 224]}], "pipeline": image,
         "fp32_reference_accuracy": {"top1": 0.7}, "test_data": {"dir": "datasets/d"}},
        {"name": "digits", "file": "models/m.onnx", "dataset": "digits", "pipeline": dict(image, color="GRAY", mean=[0], std=[1])},
        {"name": "text", "file": "models/m.onnx", "dataset": "text", "vocab_file": "datasets/d/b",
         "inputs": [{"name": "input_ids", "shape": ["batch", "seq"]}], "pipeline": {"kind": "text"}},
        {"name": "arch", "file": "models/m.onnx", "architecture_only": True},
        {"name": "system", "file": "models/m.onnx", "dataset": "system", "pipeline": dict(image, color="GRAY", mean=[0], std=[1])},
    ]
    hostile = [
        {"name": "escape", "file": "../m.onnx"}, {"name": "abs", "file": "/etc/passwd"},
        {"name": "nulls", "file": None, "dataset": None, "pipeline": {"resize": {"shorter_side": None}}},
        {"name": "types", "file": 1, "inputs": {"x": 1}, "metric": []}, 7, None, [],
    ]
    write_seed(out, json.dumps({"entries": good, "datasets": datasets}).encode())
    write_seed(out, json.dumps({"entries": good + hostile, "datasets": datasets}).encode())
    write_seed(out, json.dumps({"models": hostile}).encode())
    write_seed(out, b'{"entries": [{"name": "cut"')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--zoo", default="")
    ap.add_argument("--testdata", default="/usr/share/libonnx-testdata/data")
    a = ap.parse_args()
    zoo = a.zoo if a.zoo and os.path.exists(os.path.join(a.zoo, "manifest.json")) else ""
    for target, fn in [("fuzz_model_load", lambda d: model_seeds(d, a.testdata, zoo)),
                       ("fuzz_tensor_proto", lambda d: tensor_seeds(d, a.testdata, zoo)),
                       ("fuzz_datasets", lambda d: dataset_seeds(d, zoo)),
                       ("fuzz_manifest", lambda d: manifest_seeds(d, zoo))]:
        d = os.path.join(a.out, target)
        os.makedirs(d, exist_ok=True)
        fn(d)
        print(f"make_seeds: {target}: {len(os.listdir(d))} seeds in {d}")


if __name__ == "__main__":
    main()
