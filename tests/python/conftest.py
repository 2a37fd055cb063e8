"""Fixtures of the Python package's tests: the zoo (skipped where absent), octet_run (the C++
API's reference outputs) and small ONNX models written with onnx.helper."""
import os
import pathlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]


def zoo_dir():
    env = os.environ.get("OCTET_ZOO")
    path = pathlib.Path(env) if env else SOURCE_DIR.parent / "shared" / "zoo"
    return path if (path / "manifest.json").exists() else None


@pytest.fixture
def zoo():
    path = zoo_dir()
    if path is None:
        pytest.skip("../shared/zoo is absent (or $OCTET_ZOO does not point to one)")
    return path


def zoo_models():
    path = zoo_dir()
    if path is None:
        return []
    import json
    entries = json.loads((path / "manifest.json").read_text())["entries"]
    return [e["name"] for e in entries]


def load_test_inputs(model_dir):
    """The feed dict of a zoo model's test_data_set_0."""
    feeds = {}
    for f in sorted((model_dir / "test_data_set_0").glob("input_*.pb")):
        t = onnx.TensorProto()
        t.ParseFromString(f.read_bytes())
        feeds[t.name] = numpy_helper.to_array(t)
    return feeds


@pytest.fixture
def octet_run():
    path = os.environ.get("OCTET_RUN")
    if not path or not os.path.exists(path):
        pytest.skip("$OCTET_RUN (the octet_run binary, set by ctest) is not set")
    return path


def save_model(graph, path, opset=13):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture
def add_relu_model(tmp_path):
    """y = Relu(x + w), x float [1, 4]."""
    w = numpy_helper.from_array(np.array([[1, -2, 3, -4]], dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["s"]), helper.make_node("Relu", ["s"], ["y"])], "add_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [w])
    return save_model(graph, tmp_path / "add_relu.onnx")


@pytest.fixture
def conv_model(tmp_path):
    """A small conv net with a symbolic batch: Conv 3->8 (3x3) -> Relu -> GlobalAveragePool ->
    Flatten -> Gemm 8->5. Input "x" [batch, 3, 12, 12], outputs "features" and "logits"."""
    rng = np.random.default_rng(7)
    inits = [
        numpy_helper.from_array(rng.uniform(-0.5, 0.5, (8, 3, 3, 3)).astype(np.float32), "cw"),
        numpy_helper.from_array(rng.uniform(-0.1, 0.1, (8,)).astype(np.float32), "cb"),
        numpy_helper.from_array(rng.uniform(-0.5, 0.5, (5, 8)).astype(np.float32), "gw"),
        numpy_helper.from_array(rng.uniform(-0.1, 0.1, (5,)).astype(np.float32), "gb"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "cw", "cb"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["features"]),
        helper.make_node("Gemm", ["features", "gw", "gb"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 12, 12])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 8]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 5])], inits)
    return save_model(graph, tmp_path / "conv.onnx")


def random_feeds(count, shape=(1, 3, 12, 12), seed=1):
    rng = np.random.default_rng(seed)
    return [{"x": rng.uniform(-1, 1, shape).astype(np.float32)} for _ in range(count)]


def pytest_report_header(config):
    import octet
    return "octet package under test: " + os.path.dirname(octet.__file__)
