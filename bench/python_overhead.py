#!/usr/bin/env python3
"""What the Python package adds per call over the C++ API: octet.InferenceSession.run against
Session::run on the same compiled model and inputs, in one process. The two alternate in short
rounds (--per-round calls of each), so that the machine's slow spells hit both; prints each
API's median per call (microseconds) and the median over rounds of the per-round difference.
The paired column subtracts from each Python call its own engine time (Session::run timed
inside the binding): what the binding adds to that very call, without the model's run-to-run
noise. The last column is a floor for any binding that returns numpy arrays: the time numpy
takes to make one empty array of the first output's shape right after the model has run (the
run evicts the interpreter's and numpy's data from the caches; the C++ loop has none to lose).

    PYTHONPATH=build/release/python python3 bench/python_overhead.py [--calls 10000]
        [--per-round 100] [--threads 1] [--zoo ../shared/zoo] [models...]
        (default models: mnist-8 squeezenet1.1)
"""
import argparse
import json
import pathlib
import platform
import statistics
import time

import numpy
import onnx
from onnx import numpy_helper

import octet
from octet import _octet


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
    parser.add_argument("--per-round", type=int, default=100, help="calls of each API per round")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    zoo = pathlib.Path(args.zoo)
    entries = {e["name"]: e for e in json.loads((zoo / "manifest.json").read_text())["entries"]}
    per_round = max(1, args.per_round)
    rounds = max(1, args.calls // per_round)
    print("CPU %s; %d calls per API in %d alternating rounds of %d, %d intra-op thread(s)" % (
        cpu_name(), per_round * rounds, rounds, per_round, args.threads))
    print("| model | ISA | C++ Session::run median (us) | Python run median (us) | Python adds, median of rounds (us) "
          "| Python adds, paired per call: median / p90 (us) | np.empty of the output after a run (us) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        session = octet.InferenceSession(str(zoo / entries[name]["file"]), threads=args.threads)
        feeds = test_inputs(zoo / "models" / name)
        for _ in range(50):  # warm-up: sessions made, caches and pool warm
            session.run(None, feeds)
        session._time_cpp_run(feeds, 50)
        cpp, py, differences, paired = [], [], [], []
        for _ in range(rounds):
            round_cpp = session._time_cpp_run(feeds, per_round)
            round_py = []
            for _ in range(per_round):
                t0 = time.perf_counter()
                session.run(None, feeds)
                round_py.append((time.perf_counter() - t0) * 1e6)
                paired.append(round_py[-1] - _octet.last_engine_run_us())
            cpp += round_cpp
            py += round_py
            differences.append(statistics.median(round_py) - statistics.median(round_cpp))
        first = session.run(None, feeds)[0]
        floor = []
        for _ in range(min(rounds, 200)):
            session._time_cpp_run(feeds, 1)
            t0 = time.perf_counter()
            numpy.empty(first.shape, first.dtype)
            floor.append((time.perf_counter() - t0) * 1e6)
        paired.sort()
        print("| %s | %s | %.1f | %.1f | %.1f | %.2f / %.2f | %.1f |" % (
            name, session.isa, statistics.median(cpp), statistics.median(py), statistics.median(differences),
            statistics.median(paired), paired[int(0.9 * (len(paired) - 1))], statistics.median(floor)))


if __name__ == "__main__":
    main()
