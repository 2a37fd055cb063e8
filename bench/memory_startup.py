#!/usr/bin/env python3
"""Memory and start-up targets of issue 22, octet beside ONNX Runtime in the same run.

    /usr/bin/python3 bench/memory_startup.py [--octet-run build/release/tools/octet_run]
        [--models-dir build/models] [--models resnet-50,mobilenet-v2,densenet-121]
        [--startup-models resnet-50] [--parts a,b,c,d] [--runs 3] [--startup-runs 10]
        [--hold 3] [--ort-dir build/peers] [--skip-ort] [--cache-dir DIR] [--out FILE.md]

Python 3 standard library only; ONNX Runtime runs in bench/peers/ort_startup.mjs (node +
onnxruntime-node, bench/peers/install_ort.sh). Prints Markdown on stdout, progress on stderr.

(a) Peak RSS of one inference at 2 threads (/usr/bin/time %M): octet = `octet_run --model M
    --test-data D --threads 2 [--precision int8]`; ORT = `node ort_startup.mjs` (one session,
    intraOpNumThreads 2, one run on the same test data) minus node's own baseline (node with the
    binding loaded, no session), measured in the same round. INT8 is octet's QDQ export for both
    engines, made once per model into the cache dir (`octet_run --precision int8
    --calibration-dir <model dir> --export-qdq`): calibrated on the model's own test data set,
    which is fine for memory and start-up (not for accuracy). Medians of --runs; octet and ORT
    alternate within each round, the order swapping every round. Target octet/ORT <= 0.6x.
(b) Time until the first inference is ready, each a median of --startup-runs separate
    processes, alternating: octet compiling from ONNX (`--timing`: ready_ms = load + compile +
    session creation), octet loading a compiled file (`--compiled F --timing`, F written once by
    `--save-compiled F`), ORT's InferenceSession.create. Targets: compiled >= 20x sooner than
    from ONNX and >= 10x sooner than ORT.
(c) Sharing: two `octet_run --compiled F --test-data D --threads 2 --hold S` processes, the
    second started once the first holds; /proc/<pid>/smaps_rollup of both while both hold.
    "adds" = the second's USS (Private_Clean + Private_Dirty: the pages only it has, which its
    exit would free); target <= 0.3x of the first's RSS.
(d) Idle CPU: utime + stime of all threads (/proc/<pid>/task/*/stat) of an `octet_run --hold`
    process (default options) over ~1 s of its hold; target 0 ticks (thread-pool spin off).
    Without --hold in octet_run, the same engine through the Python binding (build/.../python),
    said so in the row.

Flags octet_run does not have yet ("unknown argument") make their rows "n/a (octet_run lacks
--X)"; a missing model, test data set or ONNX Runtime skips the row saying why.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_MODELS = "resnet-50,mobilenet-v2,densenet-121"
PRECISIONS = ("fp32", "int8")
MIB = 1024.0


# ------------------------------------------------------------------- pure parsing helpers

def parse_kb_lines(text):
    """'Key:   123 kB' lines (smaps_rollup, meminfo) -> {Key: 123}; other lines are ignored."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([A-Za-z_()0-9]+):\s+(\d+)(?:\s+kB)?\s*$", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def parse_smaps_rollup(text):
    """/proc/<pid>/smaps_rollup -> {'Rss': kB, 'Pss': kB, ..., 'Uss': Private_Clean + Private_Dirty}."""
    fields = parse_kb_lines(text)
    if "Rss" not in fields:
        raise ValueError("smaps_rollup without an Rss line")
    fields["Uss"] = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return fields


def parse_meminfo(text):
    return parse_kb_lines(text)


def parse_task_stat(text):
    """/proc/<pid>[/task/<tid>]/stat -> {'comm', 'state', 'utime', 'stime'} (ticks). The command
    name may hold spaces and parentheses: the fields start after the LAST ')'."""
    close = text.rfind(")")
    if close < 0:
        raise ValueError("stat line without ')': %r" % text[:80])
    comm = text[text.find("(") + 1:close]
    rest = text[close + 1:].split()
    if len(rest) < 13:
        raise ValueError("stat line too short: %r" % text[:80])
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return {"comm": comm, "state": rest[0], "utime": int(rest[11]), "stime": int(rest[12])}


def parse_time_maxrss(text):
    """GNU time's -f %M output (-o FILE) -> kB. The number is the last line; time writes
    'Command exited with non-zero status N' or 'Command terminated by signal N' above it."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if re.fullmatch(r"\d+", line):
            return int(line)
        if line:
            break
    raise ValueError("no %%M figure in /usr/bin/time output: %r" % text[-200:])


OCTET_METRICS = {"load_ms": float, "compile_ms": float, "ready_ms": float, "first_run_ms": float,
                 "peak_rss_kb": int, "steady_rss_kb": int}


def parse_octet_metrics(text):
    """octet_run --timing / --memory lines ('ready_ms 12.5', 'peak_rss_kb 1234'; '=' or ':'
    accepted) -> {name: value}; every other line is ignored."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([a-z_]+)\s*[:=]?\s+(-?[0-9.]+(?:[eE][-+]?\d+)?)\s*(?:ms|kB|kb)?\s*$", line)
        if m and m.group(1) in OCTET_METRICS:
            try:
                out[m.group(1)] = OCTET_METRICS[m.group(1)](m.group(2))
            except ValueError:
                pass
    return out


def cpu_info(text):
    """/proc/cpuinfo -> (model name, best ISA among avx512_vnni, avx512f, avx2, 'none')."""
    name, flags = "unknown", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and name == "unknown":
            name = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    for isa in ("avx512_vnni", "avx512f", "avx2"):
        if isa in flags:
            return name, isa
    return name, "none"


def flag_rejected(returncode, stderr, flag):
    """True when octet_run refused `flag` as unknown (exit 2, 'unknown argument ... --flag')."""
    if returncode != 2:
        return False
    for line in stderr.splitlines():
        low = line.lower()
        if ("unknown" in low or "unrecognized" in low) and re.search(re.escape(flag) + r"(?![-\w])", line):
            return True
    return False


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def mib(kb):
    return "n/a" if kb is None else "%.1f" % (kb / MIB)


def ratio(a, b):
    return None if a is None or b is None or b <= 0 else a / b


def fmt_ratio(r):
    return "n/a" if r is None else "%.2fx" % r


def verdict(ok):
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        row = list(row) + [""] * (len(header) - len(row))
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def short_error(text, limit=160):
    lines = [l.strip() for l in (text or "").strip().splitlines() if l.strip()]
    msg = lines[-1] if lines else "no message"
    return msg if len(msg) <= limit else msg[:limit - 3] + "..."


# ------------------------------------------------------------------- processes

def log(msg):
    sys.stderr.write("memory_startup: %s\n" % msg)
    sys.stderr.flush()


class Failed(Exception):
    """A row cannot be measured; the message says why (it goes into the table)."""


def run(cmd, timeout=900):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failed("timed out after %d s: %s" % (timeout, " ".join(map(str, cmd[:3]))))
    except OSError as e:
        raise Failed("cannot start %s: %s" % (cmd[0], e))


def peak_rss(cmd, ok_codes=(0,)):
    """Runs cmd under /usr/bin/time -f %M; returns (peak RSS kB, CompletedProcess)."""
    with tempfile.NamedTemporaryFile("r", prefix="memory_startup_time_", suffix=".txt") as f:
        proc = run(["/usr/bin/time", "-f", "%M", "-o", f.name] + [str(c) for c in cmd])
        if proc.returncode not in ok_codes:
            raise Failed("exit %d: %s" % (proc.returncode, short_error(proc.stderr)))
        return parse_time_maxrss(open(f.name).read()), proc


def read_text(path):
    with open(path) as f:
        return f.read()


def task_ticks(pid):
    """{tid: utime + stime} and {tid: state} of every thread of pid (threads may come and go)."""
    ticks, states = {}, {}
    base = "/proc/%d/task" % pid
    for tid in os.listdir(base):
        try:
            st = parse_task_stat(read_text("%s/%s/stat" % (base, tid)))
        except (OSError, ValueError):
            continue
        ticks[int(tid)] = st["utime"] + st["stime"]
        states[int(tid)] = st["state"]
    return ticks, states


def ticks_between(before, after):
    """CPU ticks consumed between two task_ticks() samples: threads in both count their
    difference, threads that appeared count all of theirs (exited ones are lost)."""
    return sum(t - before.get(tid, 0) for tid, t in after.items())


class Held:
    """A process started with stdout line-buffered into a file, waited for until it holds:
    its output shows that the run is over (PASS/FAIL line, first_run_ms, peak_rss_kb, or the
    marker the caller gives), or, failing that, it has been idle (no CPU tick, every thread
    sleeping) for 0.5 s after at least 1 s."""
    MARKERS = re.compile(r"^(PASS|FAIL) \(rtol|^first_run_ms\b|^peak_rss_kb\b|^steady_rss_kb\b|^held$", re.M)

    def __init__(self, cmd):
        self.out = tempfile.NamedTemporaryFile("w+", prefix="memory_startup_out_", suffix=".txt")
        self.err = tempfile.NamedTemporaryFile("w+", prefix="memory_startup_err_", suffix=".txt")
        prefix = ["stdbuf", "-oL"] if shutil.which("stdbuf") else []
        self.start = time.monotonic()
        self.proc = subprocess.Popen(prefix + [str(c) for c in cmd], stdout=self.out, stderr=self.err, text=True)
        self.pid = self.proc.pid

    def stdout(self):
        return read_text(self.out.name)

    def stderr(self):
        return read_text(self.err.name)

    def wait_holding(self, timeout=300):
        idle_since, last = None, None
        while time.monotonic() - self.start < timeout:
            if self.proc.poll() is not None:
                return False
            if self.MARKERS.search(self.stdout()):
                return True
            try:
                ticks, states = task_ticks(self.pid)
            except OSError:
                time.sleep(0.05)
                continue
            total = sum(ticks.values())
            sleeping = all(s == "S" for s in states.values())
            if last is not None and total == last and sleeping:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= 0.5 and time.monotonic() - self.start >= 1.0:
                    return True
            else:
                idle_since = None
            last = total
            time.sleep(0.05)
        raise Failed("did not reach its hold within %d s" % timeout)

    def finish(self, timeout=120):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        self.err.close()


# ------------------------------------------------------------------- the benchmark

class Bench:
    def __init__(self, args):
        self.args = args
        self.octet = pathlib.Path(args.octet_run)
        self.models_dir = pathlib.Path(args.models_dir)
        self.cache = pathlib.Path(args.cache_dir)
        self.weight_bits = args.weight_bits
        self.ort_script = REPO / "bench" / "peers" / "ort_startup.mjs"
        self.ort_problem = None  # why ONNX Runtime is not measured, or None
        self.ort_version = None
        self.missing_flags = {}  # flag -> True when octet_run refused it
        self.compiled = {}  # (model, precision) -> path or Failed

    # --- set-up

    def check_ort(self):
        if self.args.skip_ort:
            self.ort_problem = "skipped (--skip-ort)"
            return
        node = shutil.which("node")
        if not node:
            self.ort_problem = "node not found (apt-get install nodejs)"
            return
        proc = run([node, self.ort_script, "--baseline"] + self.ort_dir_args(), timeout=120)
        if proc.returncode != 0:
            self.ort_problem = short_error(proc.stderr)
            return
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        self.ort_version = report.get("ort_version")
        if not report.get("binding_mapped"):
            log("warning: the ORT baseline process has no onnxruntime_binding mapped")

    def ort_dir_args(self):
        return ["--ort-dir", self.args.ort_dir] if self.args.ort_dir else []

    def model_files(self, model):
        """(onnx file, test data dir, calibration dir) or Failed naming what is missing."""
        onnx = self.models_dir / (model + ".onnx")
        data = self.models_dir / model / "test_data_set_0"
        if not onnx.is_file():
            raise Failed("model file %s not found" % onnx)
        if not (data / "input_0.pb").is_file():
            raise Failed("test data %s/input_0.pb not found" % data)
        return onnx, data, self.models_dir / model

    def model_for(self, model, precision):
        """The file both engines run: the ONNX model (FP32) or octet's QDQ export (INT8)."""
        onnx, data, calib = self.model_files(model)
        if precision == "fp32":
            return onnx, data
        self.cache.mkdir(parents=True, exist_ok=True)
        qdq = self.cache / (model + (".w7" if self.weight_bits == 7 else "") + ".qdq.onnx")
        newest_input = max(onnx.stat().st_mtime, self.octet.stat().st_mtime)
        if not qdq.is_file() or qdq.stat().st_mtime < newest_input:
            log("exporting %s INT8 QDQ -> %s (calibration: %s/test_data_set_*)" % (model, qdq, calib))
            tmp = qdq.with_suffix(".tmp.onnx")
            proc = run([str(self.octet), "--model", str(onnx), "--test-data", str(data), "--precision", "int8",
                        "--calibration-dir", str(calib), "--weight-bits", str(self.weight_bits),
                        "--export-qdq", str(tmp)])
            if proc.returncode not in (0, 1) or not tmp.is_file():
                raise Failed("QDQ export failed: exit %d: %s" % (proc.returncode, short_error(proc.stderr)))
            tmp.replace(qdq)
        return qdq, data

    def octet_cmd(self, model_file, data, precision, extra=(), threads=2):
        cmd = [str(self.octet), "--model", str(model_file), "--test-data", str(data)]
        if threads:
            cmd += ["--threads", str(threads)]
        if precision == "int8":
            cmd += ["--precision", "int8"]
        return cmd + list(extra)

    def octet_lacks(self, proc, *flags):
        for flag in flags:
            if flag_rejected(proc.returncode, proc.stderr, flag):
                self.missing_flags[flag] = True
                return flag
        return None

    def compiled_file(self, model, precision):
        """Compiles once per run of this script (the format follows octet_run) with
        --save-compiled; Failed('n/a (octet_run lacks --compiled)') when the flag is refused."""
        key = (model, precision)
        if key not in self.compiled:
            try:
                model_file, data = self.model_for(model, precision)
                self.cache.mkdir(parents=True, exist_ok=True)
                out = self.cache / ("%s.%s.octet" % (model, precision))
                if out.exists():
                    out.unlink()
                proc = run(self.octet_cmd(model_file, data, precision, ["--save-compiled", str(out)]))
                if self.octet_lacks(proc, "--save-compiled", "--compiled"):
                    raise Failed("n/a (octet_run lacks --compiled)")
                if proc.returncode not in (0, 1) or not out.is_file():
                    raise Failed("--save-compiled failed: exit %d: %s" % (proc.returncode, short_error(proc.stderr)))
                self.compiled[key] = (out, data)
            except Failed as e:
                self.compiled[key] = e
        if isinstance(self.compiled[key], Failed):
            raise self.compiled[key]
        return self.compiled[key]

    def ort_cmd(self, model_file, data=None):
        cmd = ["node", str(self.ort_script), "--model", str(model_file), "--threads", "2"]
        cmd += ["--input-from", str(data)] if data else ["--no-run"]
        return cmd + self.ort_dir_args()

    def ort_json(self, proc):
        if proc.returncode != 0:
            raise Failed("ORT: " + short_error(proc.stderr))
        return json.loads(proc.stdout.strip().splitlines()[-1])

    # --- (a) peak RSS

    def part_a(self):
        rows = []
        for model in self.args.models:
            for precision in PRECISIONS:
                label = [model, precision.upper()]
                try:
                    model_file, data = self.model_for(model, precision)
                except Failed as e:
                    rows.append(label + ["skipped: %s" % e] + [""] * 4)
                    continue
                log("(a) %s %s: %d rounds" % (model, precision, self.args.runs))
                octet_kb, ort_net_kb, base_kb, ort_err, octet_err = [], [], [], None, None
                for r in range(self.args.runs):
                    steps = ["octet", "ort"] if r % 2 == 0 else ["ort", "octet"]
                    for step in steps:
                        if step == "octet" and octet_err is None:
                            try:
                                octet_kb.append(peak_rss(self.octet_cmd(model_file, data, precision), (0, 1))[0])
                            except Failed as e:
                                octet_err = "octet_run: %s" % e
                        elif step == "ort" and self.ort_problem is None and ort_err is None:
                            try:
                                kb, proc = peak_rss(self.ort_cmd(model_file, data))
                                self.ort_json(proc)
                                base, proc = peak_rss(["node", str(self.ort_script), "--baseline"] + self.ort_dir_args())
                                ort_net_kb.append(kb - base)
                                base_kb.append(base)
                            except Failed as e:
                                ort_err = "ORT: %s" % e
                o, n = median(octet_kb), median(ort_net_kb)
                rt = ratio(o, n)
                ort_cell = mib(n) if n is not None else (ort_err or "n/a (%s)" % self.ort_problem)
                rows.append(label + [mib(o) if o is not None else octet_err, ort_cell, mib(median(base_kb)),
                                     fmt_ratio(rt), verdict(None if rt is None else rt <= 0.6)])
        return ("## (a) Peak RSS of one inference, 2 threads (MiB, median of %d)\n\n" % self.args.runs +
                md_table(["model", "precision", "octet peak RSS", "ORT peak RSS − node baseline",
                          "node baseline (node + binding)", "octet/ORT", "target ≤ 0.6x met"], rows) +
                "\n\noctet: `/usr/bin/time -f %M octet_run --model M --test-data D --threads 2 [--precision int8]` "
                "(process peak RSS, test data and output check included). ORT: peak RSS of `node "
                "bench/peers/ort_startup.mjs` (one InferenceSession, intraOpNumThreads 2, one run on the "
                "same test data) minus a node process that loaded the binding and made no session, "
                "each round. INT8 rows: octet's QDQ export for both engines.\n")

    # --- (b) time to ready

    def part_b(self):
        rows = []
        n = self.args.startup_runs
        for model in self.args.startup_models:
            for precision in PRECISIONS:
                label = [model, precision.upper()]
                try:
                    model_file, data = self.model_for(model, precision)
                except Failed as e:
                    rows.append(label + ["skipped: %s" % e] + [""] * 6)
                    continue
                log("(b) %s %s: %d rounds" % (model, precision, n))
                compiled_err = None
                try:
                    compiled, _ = self.compiled_file(model, precision)
                except Failed as e:
                    compiled, compiled_err = None, str(e)
                onnx_ms, comp_ms, first_ms, ort_ms = [], [], [], []
                onnx_err = ort_err = None
                for r in range(n):
                    steps = ["onnx", "compiled", "ort"] if r % 2 == 0 else ["ort", "compiled", "onnx"]
                    for step in steps:
                        try:
                            if step == "onnx" and onnx_err is None:
                                proc = run(self.octet_cmd(model_file, data, precision, ["--timing"]))
                                if self.octet_lacks(proc, "--timing"):
                                    raise Failed("n/a (octet_run lacks --timing)")
                                onnx_ms.append(self.octet_ready(proc))
                            elif step == "compiled" and compiled_err is None:
                                proc = run([str(self.octet), "--compiled", str(compiled), "--test-data", str(data),
                                            "--threads", "2", "--timing"])
                                lacking = self.octet_lacks(proc, "--compiled", "--timing")
                                if lacking:
                                    raise Failed("n/a (octet_run lacks %s)" % lacking)
                                comp_ms.append(self.octet_ready(proc))
                                first_ms.append(parse_octet_metrics(proc.stdout).get("first_run_ms"))
                            elif step == "ort" and self.ort_problem is None and ort_err is None:
                                ort_ms.append(self.ort_json(run(self.ort_cmd(model_file)))["create_ms"])
                        except Failed as e:
                            if step == "onnx":
                                onnx_err = str(e)
                            elif step == "compiled":
                                compiled_err = str(e)
                            else:
                                ort_err = str(e)
                o, c, t, f = median(onnx_ms), median(comp_ms), median(ort_ms), median(first_ms)
                r_onnx, r_ort = ratio(o, c), ratio(t, c)
                ort_cell = ("%.1f" % t) if t is not None else (ort_err or "n/a (%s)" % self.ort_problem)
                met = None if r_onnx is None or r_ort is None else (r_onnx >= 20 and r_ort >= 10)
                rows.append(label + [("%.1f" % o) if o is not None else onnx_err,
                                     ("%.2f" % c) if c is not None else compiled_err, ort_cell,
                                     fmt_ratio(r_onnx), fmt_ratio(r_ort),
                                     ("%.1f" % f) if f is not None else "n/a", verdict(met)])
        return ("## (b) Time until the first inference is ready (ms, median of %d processes each)\n\n" % n +
                md_table(["model", "precision", "octet from ONNX (ready_ms)", "octet from compiled file (ready_ms)",
                          "ORT InferenceSession.create", "ONNX / compiled (target ≥ 20x)",
                          "ORT / compiled (target ≥ 10x)", "octet first run after compiled load",
                          "targets met"], rows) +
                "\n\noctet: `octet_run --timing` ready_ms = load + compile + session creation, in the process "
                "(`--model M`, vs `--compiled F` written once by `--save-compiled F`); ORT: the time of "
                "`await InferenceSession.create(M)` in `node bench/peers/ort_startup.mjs --no-run` "
                "(intraOpNumThreads 2). Process start-up and library loading are outside both. The three "
                "alternate in every round (order reversed every other round). INT8: octet's QDQ export "
                "for both engines.\n")

    def octet_ready(self, proc):
        if proc.returncode not in (0, 1):
            raise Failed("octet_run: exit %d: %s" % (proc.returncode, short_error(proc.stderr)))
        ready = parse_octet_metrics(proc.stdout).get("ready_ms")
        if ready is None:
            raise Failed("octet_run --timing printed no ready_ms line")
        return ready

    # --- (c) sharing

    def part_c(self):
        rows = []
        model = self.args.startup_models[0] if self.args.startup_models else "resnet-50"
        hold = self.args.hold
        for precision in PRECISIONS:
            label = [model, precision.upper()]
            try:
                compiled, data = self.compiled_file(model, precision)
                log("(c) %s %s: two processes holding %g s" % (model, precision, hold))
                cmd = [str(self.octet), "--compiled", str(compiled), "--test-data", str(data), "--threads", "2",
                       "--hold", "%g" % hold]
                rows.append(label + self.share_once(cmd))
            except Failed as e:
                rows.append(label + [str(e)] + [""] * 5)
        return ("## (c) Two processes on one compiled file (MiB)\n\n" +
                md_table(["model", "precision", "1st RSS", "2nd USS (adds)", "2nd PSS", "2nd RSS",
                          "MemAvailable drop at 2nd start", "adds / 1st RSS (target ≤ 0.3x)"], rows) +
                "\n\n`octet_run --compiled F --test-data D --threads 2 --hold %g`, the second started once the "
                "first holds; /proc/<pid>/smaps_rollup of both read while both hold. \"adds\" is the second "
                "process's USS (Private_Clean + Private_Dirty): the memory only it uses, which another "
                "process on the same file costs the machine; pages of the file shared through the page "
                "cache count in its RSS and, halved, in its PSS. The MemAvailable drop (/proc/meminfo, "
                "just before the second starts vs while both hold) is system-wide and noisy on a shared "
                "machine.\n" % hold)

    def share_once(self, cmd):
        first = second = None
        try:
            first = Held(cmd)
            if not first.wait_holding():
                rc = first.finish()
                if flag_rejected(rc, first.stderr(), "--hold"):
                    raise Failed("n/a (octet_run lacks --hold)")
                if flag_rejected(rc, first.stderr(), "--compiled"):
                    raise Failed("n/a (octet_run lacks --compiled)")
                raise Failed("first process exited (%d) before holding: %s" % (rc, short_error(first.stderr())))
            avail_before = parse_meminfo(read_text("/proc/meminfo"))["MemAvailable"]
            second = Held(cmd)
            if not second.wait_holding():
                raise Failed("second process exited (%d) before holding: %s" % (second.finish(),
                                                                               short_error(second.stderr())))
            avail_during = parse_meminfo(read_text("/proc/meminfo"))["MemAvailable"]
            if first.proc.poll() is not None:
                raise Failed("the first process ended its hold before the second held: use a longer --hold")
            one = parse_smaps_rollup(read_text("/proc/%d/smaps_rollup" % first.pid))
            two = parse_smaps_rollup(read_text("/proc/%d/smaps_rollup" % second.pid))
            for p in (first, second):
                rc = p.finish()
                if rc not in (0, 1):
                    raise Failed("exit %d: %s" % (rc, short_error(p.stderr())))
            adds = ratio(two["Uss"], one["Rss"])
            return [mib(one["Rss"]), mib(two["Uss"]), mib(two["Pss"]), mib(two["Rss"]),
                    mib(avail_before - avail_during),
                    "%s %s" % (fmt_ratio(adds), verdict(None if adds is None else adds <= 0.3))]
        finally:
            for p in (first, second):
                if p:
                    p.close()

    # --- (d) idle CPU

    def part_d(self):
        rows = []
        model = self.args.startup_models[0] if self.args.startup_models else "resnet-50"
        hold = max(self.args.hold, 2.0)
        clk = os.sysconf("SC_CLK_TCK")
        try:
            model_file, data = self.model_for(model, "fp32")
            log("(d) %s FP32: idle CPU during --hold" % model)
            how = "`octet_run --model M --test-data D --hold %g` (default options)" % hold
            held = Held(self.octet_cmd(model_file, data, "fp32", ["--hold", "%g" % hold], threads=0))
            holding = False
            try:
                holding = held.wait_holding()
                if not holding:
                    rc = held.finish()
                    if not flag_rejected(rc, held.stderr(), "--hold"):
                        raise Failed("exited (%d) before holding: %s" % (rc, short_error(held.stderr())))
            finally:
                if not holding:
                    held.close()
            if not holding:
                self.missing_flags["--hold"] = True
                held, how = self.python_fallback(model_file, hold)
                if held is None:
                    raise Failed("n/a (octet_run lacks --hold; %s)" % how)
            try:
                ticks, threads, span = self.sample_idle(held)
            finally:
                held.close()
            rows.append([model, "FP32", how, threads, "%.2f" % span, ticks, verdict(ticks == 0)])
        except Failed as e:
            rows.append([model, "FP32", str(e), "", "", "", ""])
        return ("## (d) Idle CPU while holding after one run\n\n" +
                md_table(["model", "precision", "process", "threads", "sampled (s)",
                          "CPU ticks consumed (1 tick = %g ms)" % (1000.0 / clk), "target 0 met"], rows) +
                "\n\nutime + stime of every thread (/proc/<pid>/task/*/stat) at the start and the end of "
                "~1 s of the hold, which starts right after the first run; a thread pool that spins "
                "while idle shows here.\n")

    def sample_idle(self, held):
        before, _ = task_ticks(held.pid)
        t0 = time.monotonic()
        time.sleep(1.0)
        after, states = task_ticks(held.pid)
        span = time.monotonic() - t0
        if held.proc.poll() is not None:
            raise Failed("the process exited during the 1 s sample: use a longer --hold")
        return ticks_between(before, after), len(after), span

    def python_fallback(self, model_file, hold):
        """The same engine in a Python process (octet.InferenceSession, default options), when
        octet_run has no --hold: (Held, description) or (None, reason)."""
        pkg = pathlib.Path(self.args.python_path) if self.args.python_path else self.octet.parent.parent / "python"
        if not (pkg / "octet" / "__init__.py").is_file():
            return None, "no Python package at %s for the fallback" % pkg
        code = ("import sys, time, numpy as np, octet\n"
                "s = octet.InferenceSession(sys.argv[1])\n"
                "feeds = {i.name: np.zeros([d if isinstance(d, int) and d > 0 else 1 for d in i.shape], np.float32)"
                " for i in s.get_inputs()}\n"
                "s.run(None, feeds)\n"
                "print('held', flush=True)\n"
                "time.sleep(float(sys.argv[2]))\n")
        env_cmd = ["env", "PYTHONPATH=%s" % pkg, sys.executable, "-c", code, str(model_file), "%g" % hold]
        held = Held(env_cmd)
        if not held.wait_holding() or "held" not in held.stdout():
            rc = held.finish()
            reason = short_error(held.stderr())
            held.close()
            return None, "Python fallback failed (%d): %s" % (rc, reason)
        return held, ("octet_run lacks --hold: Python binding instead, `octet.InferenceSession(M)` "
                      "(default options), one run on zeros, then sleep")


# ------------------------------------------------------------------- main

def header(bench, args):
    name, isa = cpu_info(read_text("/proc/cpuinfo"))
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    load = " ".join(read_text("/proc/loadavg").split()[:3])
    lines = ["# octet memory and start-up (issue 22), ONNX Runtime beside it", "",
             "- date: %s UTC" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
             "- CPU: %s, ISA %s, %d cores; load average %s; %s" % (name, isa, os.cpu_count() or 0, load,
                                                                    platform.platform()),
             "- octet_run: %s (script at commit %s); INT8 rows: octet's QDQ export with %d-bit weights" % (
                 bench.octet, commit, bench.weight_bits),
             "- ONNX Runtime: %s" % ("onnxruntime-node %s (node %s)" % (
                 bench.ort_version, run(["node", "--version"]).stdout.strip())
                 if bench.ort_problem is None else "not measured: %s" % bench.ort_problem),
             "- models: %s (%s)" % (", ".join(args.models), bench.models_dir), ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--octet-run", default=str(REPO / "build" / "release" / "tools" / "octet_run"))
    parser.add_argument("--models-dir", default=os.environ.get("OCTET_MODELS", str(REPO / "build" / "models")),
                        help="folder with <m>.onnx and <m>/test_data_set_0 (default $OCTET_MODELS, build/models)")
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated, for (a)")
    parser.add_argument("--startup-models", default="resnet-50", help="comma-separated, for (b); (c), (d) use the first")
    parser.add_argument("--parts", default="a,b,c,d")
    parser.add_argument("--runs", type=int, default=3, help="rounds of (a), median taken")
    parser.add_argument("--startup-runs", type=int, default=10, help="processes per figure of (b), median taken")
    parser.add_argument("--hold", type=float, default=3.0, help="octet_run --hold seconds in (c) and (d)")
    parser.add_argument("--ort-dir", default=None, help="folder given to install_ort.sh (default: as ort_bench.mjs)")
    parser.add_argument("--skip-ort", action="store_true")
    parser.add_argument("--weight-bits", type=int, choices=(7, 8), default=8,
                        help="weights of the INT8 QDQ export: 8 (default) or 7 (octet's portable scheme)")
    parser.add_argument("--cache-dir", default=None, help="QDQ exports and compiled files (default build/memory_startup)")
    parser.add_argument("--python-path", default=None, help="octet Python package folder for the (d) fallback")
    parser.add_argument("--out", default=None, help="also write the Markdown to this file")
    args = parser.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    args.startup_models = [m for m in args.startup_models.split(",") if m]
    parts = set(p.strip() for p in args.parts.split(",") if p.strip())
    if not parts <= set("abcd"):
        parser.error("--parts takes a comma-separated subset of a,b,c,d")
    if args.runs < 1 or args.startup_runs < 1 or args.hold <= 0:
        parser.error("--runs and --startup-runs need a positive count, --hold a positive time")
    if args.cache_dir is None:
        args.cache_dir = str(REPO / "build" / "memory_startup")
    if not (os.path.isfile(args.octet_run) and os.access(args.octet_run, os.X_OK)):
        sys.stderr.write("memory_startup: octet_run not found or not executable at %s (build it, or pass "
                         "--octet-run PATH)\n" % args.octet_run)
        return 2
    if not os.access("/usr/bin/time", os.X_OK) and "a" in parts:
        sys.stderr.write("memory_startup: /usr/bin/time is missing (apt-get install time)\n")
        return 2
    if not os.path.isdir(args.models_dir):
        sys.stderr.write("memory_startup: models folder %s not found (pass --models-dir)\n" % args.models_dir)
        return 2

    bench = Bench(args)
    bench.check_ort()
    sections = [header(bench, args)]
    print(sections[0], flush=True)
    started = time.monotonic()
    for part, fn in (("a", bench.part_a), ("b", bench.part_b), ("c", bench.part_c), ("d", bench.part_d)):
        if part in parts:
            sections.append(fn())
            print(sections[-1], flush=True)
    tail = "Took %.0f s." % (time.monotonic() - started)
    if bench.missing_flags:
        tail += " octet_run refused: %s." % ", ".join(sorted(bench.missing_flags))
    sections.append(tail + "\n")
    print(sections[-1], flush=True)
    if args.out:
        pathlib.Path(args.out).write_text("\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
