#!/usr/bin/env python3
"""ResNet-18 with N:M weight sparsity: hwloop against SCALE-Sim v3's own sparse runs.

Every layer but conv1 gets 1:4, 2:4 or no sparsity (N:M pruning usually leaves the first
layer dense: both tools run it dense, as ``4:4``). For each ratio, on a ``--rows x --cols``
WS array (SCALE-Sim's default buffers):

- hwloop (``--sparse``, ELLPACK-block filters): latency, energy, DRAM bytes (the filter's
  with its metadata), and its wall time;
- hwloop under ``scalesim_compat`` against SCALE-Sim 3.0.0 (``SparsitySupport : true``,
  layer-wise), run through the reference harness as ``tests/data/regenerate_sparse.py``
  runs it: cycles and every DRAM counter, layer for layer, and SCALE-Sim's filter + metadata
  words (its SPARSE_REPORT) beside hwloop's bytes.

Needs the harness's interpreter (``SCALESIM_PYTHON``; see ``../shared/peers/scalesim``).
Usage: ``python benchmarks/study_sparsity.py [--rows 64 --cols 64]
[--out benchmarks/results/study_sparsity_DATE]`` (SCALE-Sim takes a few minutes a ratio).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "data"))

from regenerate_sparse import run_path  # noqa: E402

from hwloop.arch import get_preset  # noqa: E402
from hwloop.sim import simulate  # noqa: E402
from hwloop.traces import load_topology  # noqa: E402

RATIOS = ("4:4", "2:4", "1:4")
COUNTERS = ("total_cycles", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
            "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes")


def topology(folder: pathlib.Path, ratio: str) -> pathlib.Path:
    """ResNet-18's SCALE-Sim topology with a Sparsity column (conv1 dense)."""
    source = ROOT / "traces" / "networks" / "resnet18.csv"
    lines = [line.rstrip().rstrip(",") for line in source.read_text().splitlines()
             if line.strip()]
    out = [lines[0] + ", Sparsity,"]
    for line in lines[1:]:
        name = line.split(",")[0].strip()
        out.append(f"{line}, {'4:4' if name == 'conv1' else ratio},")
    path = folder / f"resnet18_{ratio.replace(':', 'of')}.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def measure(path: pathlib.Path, rows: int, cols: int) -> dict:
    network = load_topology(path)
    accel = get_preset("scalesim_default").with_overrides(rows=rows, cols=cols, dataflow="ws",
                                                          sparse=True)
    started = time.perf_counter()
    report = simulate(network, accel)
    seconds = time.perf_counter() - started
    compat = simulate(network, accel, scalesim_compat=True)
    reference, sparse = run_path(path, rows, cols, "ws", (64, 64, 64), "ellpack_block")
    mismatches = [(layer["name"], key, got[key], layer[key])
                  for layer, (_, got) in zip(reference["layers"], compat.layers.iterrows())
                  for key in COUNTERS if abs(float(got[key]) - float(layer[key])) > 1e-6]
    totals = report.totals
    return {"latency_cycles": totals["total_cycles"], "energy_pj": totals["energy_pj"],
            "macs": totals["macs"],
            "dram_bytes": {op: totals[f"dram_{op}_bytes"] for op in ("ifmap", "filter", "ofmap")},
            "hwloop_s": seconds, "scalesim_s": reference["run_scale_s"],
            "scalesim_cycles": sum(layer["total_cycles"] for layer in reference["layers"]),
            "scalesim_filter_metadata_words": sum(float(s["Filter Metadata Storage"])
                                                  for s in sparse),
            "scalesim_dram_filter_words": sum(layer["dram_filter_reads"]
                                              for layer in reference["layers"]),
            "counters_compared": len(reference["layers"]) * len(COUNTERS),
            "mismatches": mismatches}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--cols", type=int, default=64)
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results" /
                        f"study_sparsity_{time.strftime('%Y-%m-%d')}")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ratio in RATIOS:
            results[ratio] = measure(topology(pathlib.Path(tmp), ratio), args.rows, args.cols)
            print(ratio, "done", flush=True)
    summary = {"rows": args.rows, "cols": args.cols, "dataflow": "ws", "ratios": results,
               "machine": f"{platform.processor() or platform.machine()}, "
                          f"Python {platform.python_version()}"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_name(args.out.name + ".json").write_text(json.dumps(summary, indent=1))
    text = report(summary)
    args.out.with_name(args.out.name + ".md").write_text(text)
    print(text)
    return 0


def report(summary: dict) -> str:
    dense = summary["ratios"]["4:4"]
    lines = [f"# ResNet-18 with N:M weight sparsity ({time.strftime('%Y-%m-%d')})", "",
             f"{summary['rows']}x{summary['cols']} WS, SCALE-Sim's default buffers, conv1 "
             "dense; hwloop with ELLPACK-block filters. `vs dense`: the ratio to 4:4.", "",
             "| ratio | latency (cycles) | vs dense | energy (uJ) | vs dense | DRAM ifmap / "
             "filter / ofmap (KB) | filter vs dense | MACs |",
             "|---|---:|---:|---:|---:|---|---:|---:|"]
    for ratio, r in summary["ratios"].items():
        b = r["dram_bytes"]
        lines.append(f"| {ratio} | {r['latency_cycles']:,} | "
                     f"{r['latency_cycles'] / dense['latency_cycles']:.3f} | "
                     f"{r['energy_pj'] / 1e6:.1f} | {r['energy_pj'] / dense['energy_pj']:.3f} | "
                     f"{b['ifmap'] / 1e3:,.0f} / {b['filter'] / 1e3:,.0f} / "
                     f"{b['ofmap'] / 1e3:,.0f} | "
                     f"{b['filter'] / dense['dram_bytes']['filter']:.3f} | {r['macs']:,} |")
    lines += ["", "Against SCALE-Sim 3.0.0's sparse runs (hwloop under `scalesim_compat`):", "",
              "| ratio | SCALE-Sim cycles | counters compared | mismatches | SCALE-Sim filter "
              "DRAM words + metadata words (32-bit) | SCALE-Sim run | hwloop run |",
              "|---|---:|---:|---:|---|---:|---:|"]
    for ratio, r in summary["ratios"].items():
        lines.append(f"| {ratio} | {r['scalesim_cycles']:,} | {r['counters_compared']} | "
                     f"{len(r['mismatches'])} | {r['scalesim_dram_filter_words']:,} + "
                     f"{r['scalesim_filter_metadata_words']:,.0f} | {r['scalesim_s']:.1f} s | "
                     f"{r['hwloop_s'] * 1e3:.0f} ms |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
