#!/usr/bin/env python3
"""ResNet-18 on analog in-memory-compute chips beside digital systolic arrays.

Runs the built-in ResNet-18 (8-bit weights and activations) on the analog presets
(``pcm_chip``, ``rram_chip``) and on the digital ``scalesim_default`` (32x32 OS) and
``google_tpu_v1`` (256x256 WS) presets, and prints cycles, time, energy with its largest
components, and area side by side. Every design prices its buffers and DRAM with the same
energy table (``horowitz_45nm``); see ``docs/analog.md`` for what the analog numbers include.

Usage: ``python benchmarks/analog_vs_systolic.py [--out benchmarks/results/analog_vs_systolic.txt]``
"""
from __future__ import annotations

import argparse
from pathlib import Path

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.traces import builtin_network

PRESETS = ("pcm_chip", "rram_chip", "scalesim_default", "google_tpu_v1")


def compare(network: str = "resnet18") -> str:
    net = builtin_network(network)
    lines = [f"{network}: {net.macs:,} MACs, {len(net)} layers, 8-bit weights and activations",
             f"{'preset':18s} {'kind':8s} {'cycles':>12s} {'time ms':>9s} {'energy uJ':>10s} "
             f"{'pJ/MAC':>7s} {'area mm2':>9s}  largest energy components (uJ)"]
    for name in PRESETS:
        accel = get_preset(name)
        totals = simulate(net, accel).totals
        top = sorted(totals["energy_breakdown"].items(), key=lambda kv: -kv[1])[:4]
        parts = ", ".join(f"{key} {value / 1e6:,.0f}" for key, value in top)
        lines.append(f"{name:18s} {accel.array.kind:8s} {totals['total_cycles']:12,d} "
                     f"{totals['time_s'] * 1e3:9.3f} {totals['energy_pj'] / 1e6:10,.0f} "
                     f"{totals['energy_pj'] / totals['macs']:7.2f} {totals['area_mm2']:9.2f}  "
                     f"{parts}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="resnet18")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"
                                              / "analog_vs_systolic.txt"))
    args = parser.parse_args()
    text = compare(args.network)
    print(text)
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
