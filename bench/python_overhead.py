#!/usr/bin/env python3
"""What the Python package adds per call over the C++ API: octet.InferenceSession.run against
Session::run on the same compiled model, session and inputs, in one process, in alternating
rounds. Prints the medians (microseconds) and their difference per model.

    PYTHONPATH=build/release/python python3 bench/python_overhead.py [--calls 10000] [--rounds 5]
        [--threads 1] [--zoo ../shared/zoo] [models...]        (default: mnist-8 squeezenet1.1)
"""
import argparse
import json
import pathlib
import platform
import statistics
import time

import onnx
from onnx import numpy_helper

import octet


def test_inputs(model_dir):
    feeds = {}
    for f in sorted((model_dir / "test_data_set_0").glob("input_*.pb")):
        t = onnx.TensorProto()
        t.ParseFromString(f.read_bytes())
        feeds[t.name] = numpy_helper.to_array(t)
    return feeds


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    here = pathlib.Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["mnist-8", "squeezenet1.1"])
    parser.add_argument("--zoo", default=str(here.parent / "shared" / "zoo"))
    parser.add_argument("--calls", type=int, default=10000, help="calls per API, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    zoo = pathlib.Path(args.zoo)
    entries = {e["name"]: e for e in json.loads((zoo / "manifest.json").read_text())["entries"]}
    per_round = max(1, args.calls // args.rounds)
    print("CPU %s; %d calls per API in %d alternating rounds, %d intra-op thread(s)" % (
        cpu_name(), per_round * args.rounds, args.rounds, args.threads))
    print("| model | ISA | C++ Session::run median (us) | Python run median (us) | Python adds (us) |")
    print("|---|---|---|---|---|")
    for name in args.models:
        session = octet.InferenceSession(str(zoo / entries[name]["file"]), threads=args.threads)
        feeds = test_inputs(zoo / "models" / name)
        for _ in range(50):  # warm-up: sessions made, caches and pool warm
            session.run(None, feeds)
        session._time_cpp_run(feeds, 50)
        cpp, py = [], []
        for _ in range(args.rounds):
            cpp += session._time_cpp_run(feeds, per_round)
            for _ in range(per_round):
                t0 = time.perf_counter()
                session.run(None, feeds)
                py.append((time.perf_counter() - t0) * 1e6)
        c, p = statistics.median(cpp), statistics.median(py)
        print("| %s | %s | %.1f | %.1f | %.1f |" % (name, session.isa, c, p, p - c))


if __name__ == "__main__":
    main()
