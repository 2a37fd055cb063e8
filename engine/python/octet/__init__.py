"""octet: INT8 / FP32 inference for ONNX models on x86 CPUs.

The session API follows onnxruntime.InferenceSession, so that a script written for ONNX
Runtime runs on octet by changing its import and its constructor:

    import octet
    sess = octet.InferenceSession("model.onnx")                    # FP32
    sess = octet.InferenceSession("model.onnx", precision="int8",  # INT8, calibrated here
                                  calibration=[{"input": x} for x in samples])
    logits, = sess.run(None, {"input": x})

Arrays in and out are not copied where the dtype and layout allow, and the GIL is released
while a model runs. One InferenceSession may be used from many threads at once, and after
fork (multiprocessing workers).
"""

import os
import threading
import weakref

from ._octet import CompiledModel as _CompiledModel
from ._octet import Error
from ._octet import Model as _Model

__all__ = ["Error", "InferenceSession", "NodeArg", "QuantizationReport", "quantize"]

_ONNX_TYPES = {
    "f32": "tensor(float)", "f64": "tensor(double)", "f16": "tensor(float16)", "bf16": "tensor(bfloat16)",
    "u8": "tensor(uint8)", "s8": "tensor(int8)", "u16": "tensor(uint16)", "s16": "tensor(int16)",
    "u32": "tensor(uint32)", "s32": "tensor(int32)", "u64": "tensor(uint64)", "s64": "tensor(int64)",
    "boolean": "tensor(bool)", "string": "tensor(string)",
}
_CALIBRATION_METHODS = ("minmax", "percentile", "entropy", "mse")


class NodeArg:
    """A graph input or output, as onnxruntime's NodeArg: name, type ("tensor(float)") and shape,
    whose entries are ints, the names of symbolic dimensions, or None where unknown."""

    def __init__(self, info):
        self.name = info["name"]
        self.type = _ONNX_TYPES.get(info["dtype"], "tensor(" + info["dtype"] + ")")
        self.shape = [
            name if name else (dim if dim >= 0 else None)
            for dim, name in zip(info["shape"], info["dim_names"] or [""] * len(info["shape"]))
        ]

    def __repr__(self):
        return "NodeArg(name=%r, type=%r, shape=%r)" % (self.name, self.type, self.shape)


class QuantizationReport(list):
    """The per-layer report of an INT8 model quantized by octet: one dict per quantized
    activation (tensor, op, node, scale, zero_point, sqnr_db, fp32_fallback, note).
    str() gives the table, lowest SQNR first."""

    def __str__(self):
        if not self:
            return "no quantization report (an FP32 model, or one quantized by another tool)"
        rows = sorted(self, key=lambda r: r["sqnr_db"] if r["sqnr_db"] == r["sqnr_db"] else float("inf"))
        width = max(len(r["tensor"]) for r in rows)
        lines = ["%-*s  %-18s  %9s  %12s  %4s" % (width, "tensor", "producer", "SQNR (dB)", "scale", "zp")]
        for r in rows:
            note = "  FP32: " + r["note"] if r["fp32_fallback"] else ""
            lines.append("%-*s  %-18s  %9.2f  %12.6g  %4d%s" % (
                width, r["tensor"], r["op"], r["sqnr_db"], r["scale"], r["zero_point"], note))
        return "\n".join(lines)


def _calibration_samples(calibration):
    """Feed dicts from a list or iterable of dicts, or from an object with get_next() returning
    a dict or None (onnxruntime.quantization's CalibrationDataReader)."""
    if calibration is None:
        return []
    if hasattr(calibration, "get_next"):
        samples = []
        while True:
            feed = calibration.get_next()
            if feed is None:
                return samples
            samples.append(feed)
    return list(calibration)


_live_sessions = weakref.WeakSet()


def _after_fork_in_child():
    for session in list(_live_sessions):
        session._forget_sessions_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class InferenceSession:
    """Loads an ONNX model (a path or its bytes) and compiles it for this CPU.

    precision: "fp32", or "int8": an FP32 model is quantized by octet from `calibration`
        (feed dicts: a list, an iterable or a CalibrationDataReader); a model that is already
        quantized (QDQ or QOperator) needs none.
    isa: cap the kernels' ISA level ("ref", "avx2", "avx2_fast", "avx512", "avx512_fast",
        "vnni"); None = the best this CPU has (or the OCTET_MAX_ISA environment variable).
    threads: intra-op threads per run; None = one per core.
    calibration_method: "minmax", "percentile", "entropy" or "mse"; percentile for "percentile".
    weight_bits: 8, or 7 (exact on vpmaddubsw: the same integers and near-full speed on every
        x86 level; see README).
    dim_values: values for symbolic dimensions ({"batch": 4}). FP32 and pre-quantized models
        bind the symbolic dimensions a run's inputs carry and compile once per binding; a model
        quantized from `calibration` keeps the binding of its calibration samples.
    providers: accepted for onnxruntime compatibility; only "CPUExecutionProvider".
    """

    def __init__(self, path_or_bytes, sess_options=None, providers=None, provider_options=None, *,
                 precision="fp32", isa=None, threads=None, calibration=None, calibration_method="minmax",
                 percentile=99.99, weight_bits=8, dim_values=None, optimize=True):
        if sess_options is not None:
            raise ValueError("octet.InferenceSession takes its options as keyword arguments, not SessionOptions")
        for p in providers or []:
            name = p[0] if isinstance(p, tuple) else p
            if name != "CPUExecutionProvider":
                raise ValueError("octet runs on the CPU only: provider %r is not available" % (name,))
        if precision not in ("fp32", "int8"):
            raise ValueError("precision must be 'fp32' or 'int8', got %r" % (precision,))
        if calibration_method not in _CALIBRATION_METHODS:
            raise ValueError("calibration_method must be one of %s, got %r" % (_CALIBRATION_METHODS, calibration_method))
        if weight_bits not in (7, 8):
            raise ValueError("weight_bits must be 7 or 8, got %r" % (weight_bits,))
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError("threads must be a positive int or None, got %r" % (threads,))
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            self._model = _Model.load_from_bytes(bytes(path_or_bytes))
        else:
            self._model = _Model.load(os.fspath(path_or_bytes))
        self._inputs = [NodeArg(i) for i in self._model.inputs()]
        self._outputs = [NodeArg(o) for o in self._model.outputs()]
        samples = _calibration_samples(calibration)
        self._options = dict(precision=precision, isa=isa or "auto", threads=threads or 0,
                             calibration=samples, calibration_method=calibration_method,
                             percentile=float(percentile), weight_bits=weight_bits, optimize=bool(optimize))
        self._dim_values = dict(dim_values or {})
        # Where the inputs carry symbolic dimensions: (input name, axis, dimension name).
        self._symbolic = [(i.name, axis, d) for i in self._inputs for axis, d in enumerate(i.shape)
                          if isinstance(d, str)]
        self._calibrated = precision == "int8" and bool(samples)
        if self._calibrated and self._symbolic and isinstance(samples[0], dict):
            # The calibration samples' shapes are the binding the quantization was made for.
            first = samples[0]
            for name, axis, dim in self._symbolic:
                if name in first and dim not in self._dim_values:
                    self._dim_values[dim] = int(first[name].shape[axis])
        for _, _, dim in self._symbolic:
            self._dim_values.setdefault(dim, 1)  # the engine's own default for an unbound dimension
        self._lock = threading.Lock()
        self._compiled = {}
        self._default = self._compile(self._dim_values)
        _live_sessions.add(self)

    @classmethod
    def load_compiled(cls, path, *, threads=None):
        """A session over a compiled-model file (save_compiled; C++ CompiledModel::load): the
        packed weights are mapped read-only and used in place, so it is ready in milliseconds and
        processes running one file share its memory. Its shapes, precision and ISA are the file's."""
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError("threads must be a positive int or None, got %r" % (threads,))
        self = cls.__new__(cls)
        compiled = _CompiledModel.load(os.fspath(path), threads or 0)
        self._model = None
        self._inputs = [NodeArg(i) for i in compiled.inputs()]
        self._outputs = [NodeArg(o) for o in compiled.outputs()]
        self._options = None
        self._dim_values = {}
        self._symbolic = []  # a compiled file has every dimension fixed
        self._calibrated = False
        self._lock = threading.Lock()
        self._compiled = {(): compiled}
        self._default = compiled
        _live_sessions.add(self)
        return self

    def save_compiled(self, path):
        """Writes the compiled model (for the shapes of the first compile) as a compiled-model
        file that InferenceSession.load_compiled maps back in milliseconds."""
        self._default.save(os.fspath(path))

    def _compile(self, dim_values):
        key = tuple(sorted(dim_values.items()))
        with self._lock:
            found = self._compiled.get(key)
        if found is not None:
            return found
        compiled = _CompiledModel.compile(self._model, dim_values=dim_values, **self._options)
        with self._lock:
            return self._compiled.setdefault(key, compiled)

    def _compiled_for(self, feeds):
        if not self._symbolic:
            return self._default
        binding = dict(self._dim_values)
        for name, axis, dim in self._symbolic:
            value = feeds.get(name)
            shape = getattr(value, "shape", None)
            if shape is not None and axis < len(shape):
                binding[dim] = int(shape[axis])
        if binding == self._dim_values:
            return self._default
        if self._calibrated:
            raise Error("this INT8 session was calibrated with %s; inputs with %s need a session calibrated "
                        "with samples of those shapes" % (self._dim_values, binding))
        return self._compile(binding)

    def _forget_sessions_after_fork(self):
        self._lock = threading.Lock()
        for compiled in self._compiled.values():
            compiled.forget_sessions_after_fork()

    def run(self, output_names, input_feed, run_options=None):
        """Runs the model on input_feed (input name -> numpy array); returns the outputs named
        in output_names (every output, in model order, when None or empty) as a list of arrays."""
        if run_options is not None:
            raise ValueError("octet takes no RunOptions")
        compiled = self._compiled_for(input_feed) if self._symbolic else self._default
        return compiled.run(output_names or None, input_feed)

    def get_inputs(self):
        return list(self._inputs)

    def get_outputs(self):
        return list(self._outputs)

    def get_providers(self):
        return ["CPUExecutionProvider"]

    # octet's own -------------------------------------------------------------------------

    @property
    def isa(self):
        """The ISA level the kernels were chosen for."""
        return self._default.isa()

    def describe(self):
        """One line per node of the compiled program: name, op, output shape, kernel."""
        return self._default.describe()

    def quantization_report(self):
        """Per-layer SQNR of an INT8 model quantized by octet (a QuantizationReport)."""
        return QuantizationReport(self._default.quantization_report())

    def export_qdq(self, path):
        """Writes the INT8 model as QDQ ONNX (ONNX Runtime runs it with the same quantization)."""
        self._default.export_qdq(os.fspath(path))

    @property
    def arena_bytes(self):
        return self._default.arena_bytes()

    @property
    def weights_bytes(self):
        return self._default.weights_bytes()

    def _time_cpp_run(self, input_feed, calls):
        """Per-call microseconds of the C++ API itself on these feeds (bench/python_overhead.py)."""
        return self._compiled_for(input_feed).time_cpp_run(input_feed, calls)


def quantize(model, output_path, calibration, *, calibration_method="minmax", percentile=99.99, weight_bits=8,
             isa=None):
    """Quantizes an FP32 ONNX model from calibration feed dicts and writes it as QDQ ONNX to
    output_path, as onnxruntime.quantization.quantize_static does. Returns the per-layer
    QuantizationReport (print it for the table)."""
    session = InferenceSession(model, precision="int8", isa=isa, calibration=calibration,
                               calibration_method=calibration_method, percentile=percentile,
                               weight_bits=weight_bits)
    session.export_qdq(output_path)
    return session.quantization_report()
