"""The Python package gives the C++ API's bits: every zoo model, FP32 and INT8 (calibrated on its
test input), against octet_run --save-outputs on the same input and options."""
import subprocess

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import octet
from conftest import load_test_inputs, zoo_models


def read_pb(path):
    t = onnx.TensorProto()
    t.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(t)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("name", zoo_models() or ["(zoo absent)"])
def test_zoo_model_bit_identical_to_cpp(zoo, octet_run, tmp_path, name, precision):
    model = zoo / "models" / (name + ".onnx")
    data = zoo / "models" / name / "test_data_set_0"
    if not model.exists() or not data.exists():
        pytest.skip(name + ": no model file or test_data_set_0 in the zoo")
    cmd = [octet_run, "--model", str(model), "--test-data", str(data), "--precision", precision,
           "--save-outputs", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr  # 1: INT8 outside the FP32 tolerance, still written
    feeds = load_test_inputs(zoo / "models" / name)
    kwargs = {"precision": precision}
    if precision == "int8":
        kwargs["calibration"] = [feeds]  # what octet_run calibrates on without --calibration-dir
        # A model with symbolic dimensions is bound to its test input's shapes by both.
    sess = octet.InferenceSession(str(model), **kwargs)
    outputs = sess.run(None, feeds)
    for i, out in enumerate(outputs):
        want = read_pb(tmp_path / ("output_%d.pb" % i))
        assert out.dtype == want.dtype and out.shape == want.shape, sess.get_outputs()[i].name
        assert out.tobytes() == want.tobytes(), "%s %s output %d differs from the C++ API" % (name, precision, i)
