"""INT8 from Python: calibration sources and methods, 7-bit weights, the SQNR report, QDQ export."""
import numpy as np
import pytest

import octet
from conftest import random_feeds


class Reader:
    """onnxruntime.quantization's CalibrationDataReader protocol: get_next() until None."""

    def __init__(self, feeds):
        self.feeds = iter(feeds)

    def get_next(self):
        return next(self.feeds, None)


def test_calibration_from_list_generator_and_reader_agree(conv_model):
    calibration = random_feeds(8)
    feed = random_feeds(1, seed=9)[0]
    from_list = octet.InferenceSession(conv_model, precision="int8", calibration=calibration).run(None, feed)
    from_generator = octet.InferenceSession(conv_model, precision="int8",
                                            calibration=(f for f in calibration)).run(None, feed)
    from_reader = octet.InferenceSession(conv_model, precision="int8", calibration=Reader(calibration)).run(None, feed)
    for a, b, c in zip(from_list, from_generator, from_reader):
        assert a.tobytes() == b.tobytes() == c.tobytes()
    fp32 = octet.InferenceSession(conv_model).run(None, feed)
    peak = np.abs(fp32[1]).max()
    assert np.abs(from_list[1] - fp32[1]).max() < 0.1 * peak + 1e-3


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy", "mse"])
def test_every_calibration_method(conv_model, method):
    sess = octet.InferenceSession(conv_model, precision="int8", calibration=random_feeds(8),
                                  calibration_method=method, percentile=99.9)
    report = sess.quantization_report()
    assert report and all(np.isfinite(r["sqnr_db"]) for r in report if r["scale"] > 0)
    assert "SQNR (dB)" in str(report)


def test_seven_bit_weights_are_exact_across_isas(conv_model):
    calibration, feed = random_feeds(8), random_feeds(1, seed=4)[0]
    ref = octet.InferenceSession(conv_model, precision="int8", calibration=calibration, weight_bits=7, isa="ref")
    auto = octet.InferenceSession(conv_model, precision="int8", calibration=calibration, weight_bits=7)
    for a, b in zip(ref.run(None, feed), auto.run(None, feed)):
        assert a.tobytes() == b.tobytes(), "7-bit weights differ between ref and " + auto.isa
    eight = octet.InferenceSession(conv_model, precision="int8", calibration=calibration)
    assert eight.run(["logits"], feed)[0].tobytes() != ref.run(["logits"], feed)[0].tobytes()
    with pytest.raises(ValueError, match="weight_bits"):
        octet.InferenceSession(conv_model, precision="int8", calibration=calibration, weight_bits=4)


def test_quantize_writes_a_qdq_model_that_runs_the_same(conv_model, tmp_path):
    calibration, feed = random_feeds(8), random_feeds(1, seed=5)[0]
    qdq_path = tmp_path / "conv.qdq.onnx"
    report = octet.quantize(conv_model, qdq_path, calibration)
    assert qdq_path.exists() and isinstance(report, octet.QuantizationReport) and len(report) > 0
    calibrated = octet.InferenceSession(conv_model, precision="int8", calibration=calibration)
    reloaded = octet.InferenceSession(str(qdq_path), precision="int8")  # already quantized: no calibration
    for a, b in zip(calibrated.run(None, feed), reloaded.run(None, feed)):
        assert a.tobytes() == b.tobytes()
    # The QDQ model keeps the symbolic batch: it runs any batch without recompiling by hand.
    batch = {"x": np.concatenate([f["x"] for f in random_feeds(3, seed=6)])}
    assert reloaded.run(["logits"], batch)[0].shape == (3, 5)


def test_int8_errors(conv_model):
    with pytest.raises(octet.Error, match="calibration"):
        octet.InferenceSession(conv_model, precision="int8")
    with pytest.raises(ValueError, match="calibration_method"):
        octet.InferenceSession(conv_model, precision="int8", calibration=random_feeds(1), calibration_method="kl")
    with pytest.raises(octet.Error, match="'y' is not an input"):
        octet.InferenceSession(conv_model, precision="int8", calibration=[{"y": np.zeros(3, np.float32)}])
    with pytest.raises(octet.Error, match="dict"):
        octet.InferenceSession(conv_model, precision="int8", calibration=[np.zeros(3, np.float32)])
    calibrated = octet.InferenceSession(conv_model, precision="int8", calibration=random_feeds(2))
    with pytest.raises(octet.Error, match="calibrated with"):
        calibrated.run(None, {"x": np.zeros((2, 3, 12, 12), np.float32)})
    with pytest.raises(octet.Error, match="not compiled for INT8"):
        octet.InferenceSession(conv_model).export_qdq("/tmp/never-written.onnx")
