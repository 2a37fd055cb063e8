"""Helpers shared by octet's model-generation scripts (export_torchvision.py, train_fmnist.py).

They write models in the zoo's layout (see ../shared/zoo/README.md): `<name>.onnx`,
`<name>/test_data_set_0/{input_0,output_0}.pb` as serialized onnx.TensorProto named after the
graph input/output, and a `manifest.json` in the zoo's schema. Outputs are cached: a stamp file
records a hash of the generating scripts, so a rerun skips work that is already up to date.
"""

import hashlib
import json
import os
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

MANIFEST_FORMAT_VERSION = 1
STAMP_FILE = "stamp.json"
_UMASK = os.umask(0)
os.umask(_UMASK)


def sha256_of_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def generator_hash(script_paths, extra=""):
    """Hash of the generating scripts plus anything else the outputs depend on (versions,
    options), so that changing any of them invalidates the cache."""
    digest = hashlib.sha256()
    for path in sorted(script_paths):
        with open(path, "rb") as f:
            digest.update(os.path.basename(path).encode() + b"\0" + f.read() + b"\0")
    digest.update(extra.encode())
    return digest.hexdigest()


def atomic_write_bytes(path, data):
    """Writes via a temporary file and rename, so an interrupted run never leaves a file that
    looks complete."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=1) + "\n").encode())


def save_tensor_pb(path, array, name):
    tensor = numpy_helper.from_array(np.ascontiguousarray(array), name=name)
    atomic_write_bytes(path, tensor.SerializeToString())


def load_tensor_pb(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return tensor.name, numpy_helper.to_array(tensor)


def graph_io(model_path):
    """Returns (inputs, outputs) as manifest lists [{name, dtype, shape}] of the real graph
    inputs (initializers excluded) and outputs."""
    model = onnx.load(model_path, load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}

    def describe(value_info):
        tensor_type = value_info.type.tensor_type
        dtype = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[tensor_type.elem_type]  # onnx 1.12 API
        shape = [d.dim_value if d.HasField("dim_value") else d.dim_param
                 for d in tensor_type.shape.dim]
        return {"name": value_info.name, "dtype": np.dtype(dtype).name, "shape": shape}

    inputs = [describe(v) for v in model.graph.input if v.name not in initializers]
    outputs = [describe(v) for v in model.graph.output]
    return inputs, outputs


def graph_ops(model_path):
    model = onnx.load(model_path, load_external_data=False)
    return sorted({node.op_type for node in model.graph.node})


def read_stamp(model_dir):
    try:
        with open(os.path.join(model_dir, STAMP_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_cached(out_dir, name, files, expected_hash):
    """True when every file exists and the stamp of `name` records `expected_hash`."""
    stamp = read_stamp(os.path.join(out_dir, name))
    if not stamp or stamp.get("generator_hash") != expected_hash:
        return False
    return all(os.path.isfile(os.path.join(out_dir, f)) for f in files)


def write_stamp(out_dir, name, expected_hash, manifest_entry):
    """Written last: its presence with the right hash marks the model as complete. It keeps the
    manifest entry so that later runs can rebuild the manifest without re-exporting."""
    atomic_write_json(os.path.join(out_dir, name, STAMP_FILE),
                      {"generator_hash": expected_hash, "manifest_entry": manifest_entry})


PIPELINE_DOC = ("Each entry's 'pipeline' is the machine-readable preprocessing: kind image|text; "
                "for images: color RGB|GRAY, resize null or {shorter_side, interpolation, "
                "antialias}, center_crop null or [h, w] taken at offset ((H-h) div 2, (W-w) div "
                "2), scale, per-channel mean and std, layout, dtype; x = (pixel * scale - "
                "mean[c]) / std[c]. 'preprocess' says the same in words. Architecture-only "
                "entries have pipeline null.")


def update_manifest(out_dir, generator, entries, description, datasets=None):
    """Writes out_dir/manifest.json in the zoo's schema. Entries made by other generators (a
    different script writing into the same folder) are kept; this generator's are replaced."""
    path = os.path.join(out_dir, "manifest.json")
    manifest = {"format_version": MANIFEST_FORMAT_VERSION,
                "description": description,
                "reference_runtime": "per entry: fp32_reference_accuracy.runtime, "
                                     "test_data.output_reference",
                "entries": [], "datasets": {}, "pipeline_doc": PIPELINE_DOC}
    try:
        with open(path) as f:
            previous = json.load(f)
        if previous.get("format_version") == MANIFEST_FORMAT_VERSION:
            manifest["entries"] = [e for e in previous.get("entries", [])
                                   if e.get("generated_by") != generator]
            manifest["datasets"] = previous.get("datasets", {})
            if manifest["entries"]:  # shared with another generator's models
                manifest["description"] = ("Models generated by octet's tools/ scripts; each "
                                           "entry's generated_by names its script. Paths are "
                                           "relative to this directory.")
    except (OSError, ValueError):
        pass
    for entry in entries:
        entry = dict(entry, generated_by=generator)
        manifest["entries"].append(entry)
    manifest["entries"].sort(key=lambda e: e["name"])
    manifest["datasets"].update(datasets or {})
    atomic_write_json(path, manifest)
    return path
