#!/usr/bin/env python3
"""Turns bench_kernels' --benchmark_format=json output into the markdown tables of the kernels
issue: one table per GEMM family, a row per shape (and threads:2 variant), a column per impl,
each cell "GOPS (pct_peak) ratio-to-onednn". Medians are used when the run has aggregates.

  build/release/bench/bench_kernels --benchmark_repetitions=3 \
      --benchmark_report_aggregates_only=true --benchmark_format=json > kernels.json
  python3 bench/bench_kernels/table.py kernels.json
"""
import json
import sys

IMPL_ORDER = ["ref", "vnni", "avx512", "avx512_fast", "avx2", "avx2_fast", "onednn"]


def load(path):
    with open(path) as f:
        doc = json.load(f)
    has_median = any(b.get("aggregate_name") == "median" for b in doc["benchmarks"])
    figures = {}
    for b in doc["benchmarks"]:
        if has_median and b.get("aggregate_name") != "median":
            continue
        if "GOPS" not in b:
            continue
        name = b.get("run_name", b["name"]).replace("/real_time", "")
        figures[name] = (b["GOPS"], b.get("pct_peak"))
    return doc.get("context", {}), figures


def shape_key(shape):
    dims, _, threads = shape.partition("/")
    return (threads, [int(d) for d in dims.split("x")])


def table(family, figures):
    cells = {}
    for name, value in figures.items():
        parts = name.split("/")
        if parts[0] != family or len(parts) < 3:
            continue
        impl, shape = parts[1], "/".join(parts[2:])
        cells.setdefault(shape, {})[impl] = value
    if not cells:
        return ""
    impls = [i for i in IMPL_ORDER if any(i in row for row in cells.values())]
    lines = [f"| {family} shape | " + " | ".join(impls) + " |",
             "|---" * (len(impls) + 1) + "|"]
    for shape in sorted(cells, key=shape_key):
        row = cells[shape]
        base = row.get("onednn", (None, None))[0]
        out = []
        for impl in impls:
            if impl not in row:
                out.append("")
                continue
            gops, pct = row[impl]
            cell = f"{gops:.0f}"
            if pct is not None:
                cell += f" ({pct:.0f}%)"
            if base and impl != "onednn":
                cell += f" {gops / base:.2f}x"
            out.append(cell)
        lines.append(f"| {shape} | " + " | ".join(out) + " |")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: table.py BENCH_KERNELS.json")
    context, figures = load(sys.argv[1])
    peaks = [f"{name} {figures[name][0]:.1f}" for name in sorted(figures) if name.startswith("peak/")]
    if peaks:
        print("Measured peaks (1 core): " + ", ".join(peaks) + ". Cells: GOPS (pct_peak) ratio to onednn.\n")
    for family in ("gemm_u8s8", "gemm_f32"):
        text = table(family, figures)
        if text:
            print(text)


if __name__ == "__main__":
    main()
