"""octet.InferenceSession: onnxruntime's conventions, arrays in and out, errors."""
import gc

import numpy as np
import pytest

import octet
from conftest import random_feeds


def reference_add_relu(x):
    return np.maximum(x + np.array([[1, -2, 3, -4]], dtype=np.float32), 0)


def test_inputs_outputs_and_run(add_relu_model):
    sess = octet.InferenceSession(add_relu_model)
    (x_arg,), (y_arg,) = sess.get_inputs(), sess.get_outputs()
    assert (x_arg.name, x_arg.type, x_arg.shape) == ("x", "tensor(float)", [1, 4])
    assert (y_arg.name, y_arg.type, y_arg.shape) == ("y", "tensor(float)", [1, 4])
    assert sess.get_providers() == ["CPUExecutionProvider"]
    x = np.array([[10, 1, -5, 2]], dtype=np.float32)
    outputs = sess.run(None, {"x": x})
    assert isinstance(outputs, list) and len(outputs) == 1
    np.testing.assert_array_equal(outputs[0], reference_add_relu(x))
    np.testing.assert_array_equal(sess.run(["y"], {"x": x})[0], reference_add_relu(x))
    np.testing.assert_array_equal(sess.run([], {"x": x})[0], reference_add_relu(x))  # [] = every output


def test_model_from_bytes_and_providers(add_relu_model):
    with open(add_relu_model, "rb") as f:
        data = f.read()
    sess = octet.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.ones((1, 4), dtype=np.float32)
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], reference_add_relu(x))
    with pytest.raises(ValueError, match="CUDAExecutionProvider"):
        octet.InferenceSession(data, providers=["CUDAExecutionProvider"])


def test_outputs_are_views_that_outlive_the_session(add_relu_model):
    sess = octet.InferenceSession(add_relu_model)
    x = np.array([[1, 2, 3, 4]], dtype=np.float32)
    first = sess.run(None, {"x": x})[0]
    second = sess.run(None, {"x": x * 2})[0]
    # No copy: the array views the engine's tensor (it does not own its data)...
    assert not first.flags["OWNDATA"] and first.flags["C_CONTIGUOUS"]
    # ...and each run's outputs are its own: a later run does not overwrite them.
    np.testing.assert_array_equal(first, reference_add_relu(x))
    del sess
    gc.collect()
    np.testing.assert_array_equal(second, reference_add_relu(x * 2))


def test_inputs_in_any_layout(add_relu_model):
    sess = octet.InferenceSession(add_relu_model)
    base = np.arange(8, dtype=np.float32).reshape(2, 4)
    strided = base[::2]  # a view with a row stride: copied to C order
    readonly = np.array([[1, -1, 1, -1]], dtype=np.float32)
    readonly.setflags(write=False)
    np.testing.assert_array_equal(sess.run(None, {"x": strided})[0], reference_add_relu(strided))
    np.testing.assert_array_equal(sess.run(None, {"x": readonly})[0], reference_add_relu(readonly))
    fortran = np.asfortranarray(base.T[:, :1].T)
    np.testing.assert_array_equal(sess.run(None, {"x": fortran})[0], reference_add_relu(fortran))


def test_errors_are_octet_errors_with_the_engine_message(add_relu_model):
    sess = octet.InferenceSession(add_relu_model)
    x = np.zeros((1, 4), dtype=np.float32)
    with pytest.raises(octet.Error, match="input 'x' has numpy dtype float64 but the model expects f32"):
        sess.run(None, {"x": x.astype(np.float64)})
    with pytest.raises(octet.Error, match="compiled for f32 \\[1,4\\]"):
        sess.run(None, {"x": np.zeros((2, 4), dtype=np.float32)})
    with pytest.raises(octet.Error, match="missing input 'x'"):
        sess.run(None, {})
    with pytest.raises(octet.Error, match="'z' is not an input of the model"):
        sess.run(None, {"x": x, "z": x})
    with pytest.raises(octet.Error, match="'nope' is not an output"):
        sess.run(["nope"], {"x": x})
    with pytest.raises(octet.Error, match="numpy dtype >f4 but the model expects f32"):
        sess.run(None, {"x": x.astype(">f4")})
    with pytest.raises(octet.Error, match="numpy dtype object"):
        sess.run(None, {"x": object()})
    assert issubclass(octet.Error, RuntimeError)
    with pytest.raises(octet.Error, match="cannot open|No such file|does not exist"):
        octet.InferenceSession("/nonexistent/model.onnx")
    with pytest.raises(octet.Error):
        octet.InferenceSession(b"not an onnx model")
    with pytest.raises(ValueError, match="precision"):
        octet.InferenceSession(add_relu_model, precision="int4")
    with pytest.raises(octet.Error, match="isa|ISA"):
        octet.InferenceSession(add_relu_model, isa="sse9")
    # The session still works after every refusal.
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], reference_add_relu(x))


def test_symbolic_dims_bind_per_run(conv_model):
    sess = octet.InferenceSession(conv_model)
    assert sess.get_inputs()[0].shape == ["batch", 3, 12, 12]
    assert sess.get_outputs()[1].shape == ["batch", 5]
    single = random_feeds(3)
    batch = {"x": np.concatenate([f["x"] for f in single])}
    logits3 = sess.run(["logits"], batch)[0]
    assert logits3.shape == (3, 5)
    for i, feed in enumerate(single):
        np.testing.assert_allclose(sess.run(["logits"], feed)[0][0], logits3[i], rtol=1e-5, atol=1e-6)
    bound = octet.InferenceSession(conv_model, dim_values={"batch": 2})
    assert bound.run(["logits"], {"x": batch["x"][:2]})[0].shape == (2, 5)


def test_isa_cap_and_describe(add_relu_model):
    sess = octet.InferenceSession(add_relu_model, isa="ref", threads=1)
    assert sess.isa == "ref"
    assert "Relu" in sess.describe()
    with pytest.raises(ValueError, match="threads"):
        octet.InferenceSession(add_relu_model, threads=0)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_compiled_file_round_trip_is_bit_identical(conv_model, tmp_path, precision):
    calibration = random_feeds(4) if precision == "int8" else None
    sess = octet.InferenceSession(conv_model, precision=precision, calibration=calibration, threads=2)
    path = tmp_path / "conv.ocm"
    sess.save_compiled(path)
    loaded = octet.InferenceSession.load_compiled(path, threads=1)
    assert [(a.name, a.shape) for a in loaded.get_inputs()] == [(a.name, a.shape) for a in sess.get_inputs()]
    assert loaded.isa == sess.isa
    for feeds in random_feeds(3, seed=7):
        for a, b in zip(sess.run(None, feeds), loaded.run(None, feeds)):
            np.testing.assert_array_equal(a, b)


def test_damaged_compiled_file_is_an_octet_error(conv_model, tmp_path):
    path = tmp_path / "conv.ocm"
    octet.InferenceSession(conv_model).save_compiled(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(octet.Error, match="checksum"):
        octet.InferenceSession.load_compiled(path)
