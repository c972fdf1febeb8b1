#!/usr/bin/env python3
"""One big array or several small cores: ResNet-18 and a transformer block.

The same 4,096 PEs as one 64x64 array, four 32x32 cores or sixteen 16x16 cores (each core
with SCALE-Sim's default 64 KiB buffers per operand, so the chip's SRAM grows with its
cores), WS, the default partition (``auto``: per layer, the split with the fewest cycles),
with unlimited DRAM and with a shared DRAM of ``--bandwidth`` words per cycle per port.
Reports latency (cycles, plus the prefetch before cycle 0 with a finite DRAM), energy, EDP,
area, DRAM words and the partitions the layers chose.

Usage: ``python benchmarks/study_multicore.py [--bandwidth 16]
[--out benchmarks/results/study_multicore_DATE]`` (a few seconds).
"""
from __future__ import annotations

import argparse
import collections
import json
import pathlib
import platform
import time

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.traces import builtin_network

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHIPS = ((64, 1), (32, 4), (16, 16))  # (array side, cores): 4,096 PEs each
NETWORKS = ("resnet18", "transformer_block")


def run(network: str, side: int, cores: int, bandwidth: int | None) -> dict:
    accel = get_preset("scalesim_default").with_overrides(
        rows=side, cols=side, dataflow="ws", cores=cores, bandwidth=bandwidth)
    started = time.perf_counter()
    report = simulate(builtin_network(network), accel)
    seconds = time.perf_counter() - started
    totals, layers = report.totals, report.layers
    prefetch = int(layers["prefetch_cycles"].fillna(0).sum()) if bandwidth else 0
    chosen = collections.Counter(layers["partition"].dropna()) if cores > 1 else {}
    return {"network": network, "array": f"{side}x{side}", "cores": cores,
            "bandwidth": bandwidth, "cycles": int(totals["total_cycles"]),
            "prefetch_cycles": prefetch, "energy_uj": totals["energy_pj"] / 1e6,
            "edp": totals["edp"], "area_mm2": totals["area_mm2"],
            "dram_words": int(totals["dram_ifmap_reads"] + totals["dram_filter_reads"]
                              + totals["dram_ofmap_writes"]),
            "partitions": dict(chosen), "seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bandwidth", type=int, default=16)
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results" /
                        f"study_multicore_{time.strftime('%Y-%m-%d')}")
    args = parser.parse_args()
    rows = [run(net, side, cores, bw) for net in NETWORKS for bw in (None, args.bandwidth)
            for side, cores in CHIPS]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_name(args.out.name + ".json").write_text(json.dumps(
        {"rows": rows, "machine": f"{platform.machine()}, Python {platform.python_version()}"},
        indent=1))
    lines = [f"# One array or several cores ({time.strftime('%Y-%m-%d')})", "",
             "4,096 PEs each way, WS, 64 KiB buffers per operand per core, partition auto. "
             "`vs 1`: the ratio to the single 64x64 array on the same DRAM.", "",
             "| network | DRAM (words/cycle/port) | chip | cycles | + prefetch | vs 1 | "
             "energy (uJ) | vs 1 | area (mm^2) | DRAM words | partitions |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        base = next(b for b in rows if b["network"] == r["network"]
                    and b["bandwidth"] == r["bandwidth"] and b["cores"] == 1)
        whole = r["cycles"] + r["prefetch_cycles"]
        parts = ", ".join(f"{k} {v}" for k, v in sorted(r["partitions"].items())) or "-"
        lines.append(
            f"| {r['network']} | {r['bandwidth'] or 'unlimited'} | {r['cores']} x "
            f"{r['array']} | {r['cycles']:,} | {r['prefetch_cycles']:,} | "
            f"{whole / (base['cycles'] + base['prefetch_cycles']):.3f} | "
            f"{r['energy_uj']:,.0f} | {r['energy_uj'] / base['energy_uj']:.3f} | "
            f"{r['area_mm2']:.2f} | {r['dram_words']:,} | {parts} |")
    text = "\n".join(lines) + "\n"
    args.out.with_name(args.out.name + ".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
