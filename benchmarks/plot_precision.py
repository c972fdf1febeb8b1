#!/usr/bin/env python3
"""Energy and latency versus precision for ResNet-18 on each array kind (one figure).

Every layer of the built-in ResNet-18 runs at W = A bits for W in 8, 4, 2 (and 1 where the
array can) on a 32x32 array of each kind, each layer in its best dataflow by latency.

Usage: ``python benchmarks/plot_precision.py [--out benchmarks/results/precision_resnet18]``
(writes OUT.png and OUT.csv).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import pandas as pd

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.traces import InputError, Network, builtin_network

KINDS = ("systolic", "bitfusion", "bitserial", "2in1")
WIDTHS = (8, 4, 2, 1)


def sweep() -> pd.DataFrame:
    net = builtin_network("resnet18")
    rows = []
    for kind in KINDS:
        accel = get_preset("scalesim_default").with_overrides(array_kind=kind)
        for bits in WIDTHS:
            layers = tuple(replace(layer, weight_bits=bits, act_bits=bits) for layer in net.layers)
            try:
                report = simulate(Network(name=net.name, layers=layers), accel,
                                  choose_dataflow="latency")
            except InputError:
                continue  # a width this array cannot run
            totals = report.totals
            rows.append({"array_kind": kind, "bits": bits, "total_cycles": totals["total_cycles"],
                         "energy_pj": totals.get("energy_pj"),
                         "dram_bytes": totals["dram_ifmap_bytes"] + totals["dram_filter_bytes"]
                         + totals["dram_ofmap_bytes"]})
    return pd.DataFrame(rows)


def plot(frame: pd.DataFrame):
    from matplotlib.figure import Figure

    has_energy = frame["energy_pj"].notna().any()
    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, 2)
    for kind, group in frame.groupby("array_kind", sort=False):
        axes[0].plot(group.bits, group.total_cycles, marker="o", label=kind)
        second = group.energy_pj / 1e6 if has_energy else group.dram_bytes / 2**20
        axes[1].plot(group.bits, second, marker="o", label=kind)
    axes[0].set(xlabel="weight = activation bits", ylabel="cycles", yscale="log",
                title="ResNet-18 latency, 32x32")
    axes[1].set(xlabel="weight = activation bits", yscale="log",
                ylabel="energy (uJ)" if has_energy else "DRAM traffic (MiB)",
                title="ResNet-18 energy" if has_energy else "ResNet-18 DRAM traffic")
    for ax in axes:
        ax.invert_xaxis()
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/precision_resnet18")
    args = parser.parse_args()
    frame = sweep()
    print(frame.to_string(index=False))
    frame.to_csv(f"{args.out}.csv", index=False)
    plot(frame).savefig(f"{args.out}.png", dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
