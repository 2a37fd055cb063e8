#!/usr/bin/env python3
"""A minimal HTTP endpoint around octet, with the standard library only: an example of
embedding octet in a server, not a product (no auth, no batching, no limits beyond a body cap).

    python3 examples/python/serve.py MODEL.onnx [--precision fp32|int8 --calibration DIR]
                                     [--port 8000] [--threads N]
    curl localhost:8000/v1/model                       # inputs and outputs
    curl -d '{"inputs": {"x": [[...]]}}' localhost:8000/v1/predict

The model is compiled once. The HTTP server runs each request on its own thread, and each
thread that runs the model gets its own engine session from the one InferenceSession (octet
keeps a session per concurrent caller), so requests run in parallel without locking.
--self-test starts the server on a free port, sends one request of zeros and exits.
"""
import argparse
import json
import pathlib
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import onnx
from onnx import numpy_helper

import octet

MAX_BODY = 64 << 20
NUMPY_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
                "tensor(int32)": np.int32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8,
                "tensor(bool)": np.bool_}


def make_handler(session):
    inputs = {i.name: i for i in session.get_inputs()}
    description = json.dumps({
        "inputs": [{"name": i.name, "type": i.type, "shape": i.shape} for i in session.get_inputs()],
        "outputs": [{"name": o.name, "type": o.type, "shape": o.shape} for o in session.get_outputs()],
        "isa": session.isa}).encode()

    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/v1/model":
                return self.reply(404, b'{"error": "not found"}')
            self.reply(200, description)

        def do_POST(self):
            if self.path != "/v1/predict":
                return self.reply(404, b'{"error": "not found"}')
            length = int(self.headers.get("Content-Length", 0))
            if not 0 < length <= MAX_BODY:
                return self.reply(413, b'{"error": "body missing or too large"}')
            try:
                request = json.loads(self.rfile.read(length))
                feeds = {name: np.asarray(value, dtype=NUMPY_DTYPES.get(inputs[name].type, np.float32))
                         for name, value in request["inputs"].items() if name in inputs}
                outputs = session.run(request.get("outputs"), feeds)
            except (octet.Error, ValueError, KeyError, TypeError) as e:
                return self.reply(400, json.dumps({"error": str(e)}).encode())
            names = request.get("outputs") or [o.name for o in session.get_outputs()]
            self.reply(200, json.dumps({"outputs": {n: a.tolist() for n, a in zip(names, outputs)}}).encode())

        def log_message(self, *args):
            pass

    return Handler


def calibration_samples(folder, input_name):
    """test_data_set_* folders (input_0.pb each) under folder, as feed dicts."""
    samples = []
    for pb in sorted(pathlib.Path(folder).glob("*/input_0.pb")):
        t = onnx.TensorProto()
        t.ParseFromString(pb.read_bytes())
        samples.append({input_name: numpy_helper.to_array(t)})
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "int8"])
    parser.add_argument("--calibration", help="folder of test_data_set_* to calibrate INT8 on")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads per request")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()

    kwargs = {"precision": args.precision, "threads": args.threads}
    if args.precision == "int8" and args.calibration:
        name = octet.InferenceSession(args.model).get_inputs()[0].name
        kwargs["calibration"] = calibration_samples(args.calibration, name)
    session = octet.InferenceSession(args.model, **kwargs)
    server = ThreadingHTTPServer(("127.0.0.1", 0 if args.self_test else args.port), make_handler(session))
    if not args.self_test:
        print("serving %s on http://127.0.0.1:%d/v1/predict" % (args.model, server.server_port))
        server.serve_forever()
        return
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d/v1/" % server.server_port
    info = json.loads(urllib.request.urlopen(base + "model").read())
    first = info["inputs"][0]
    zeros = np.zeros([d if isinstance(d, int) else 1 for d in first["shape"]]).tolist()
    body = json.dumps({"inputs": {first["name"]: zeros}}).encode()
    reply = json.loads(urllib.request.urlopen(urllib.request.Request(base + "predict", data=body)).read())
    for name, value in reply["outputs"].items():
        print("%s: shape %s, first values %s" % (name, list(np.shape(value)), np.ravel(value)[:3].tolist()))
    server.shutdown()


if __name__ == "__main__":
    main()
