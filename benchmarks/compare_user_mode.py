#!/usr/bin/env python3
"""hwloop vs SCALE-Sim v3 in its fixed-bandwidth (USER) mode, on SCALE-Sim's golden GEMM.

Reads the harness runs saved in ``tests/data/golden_user/`` (regenerate them with
``tests/data/regenerate_golden_user.py``) and prints, per dataflow and bandwidth:

* SCALE-Sim's total and stall cycles and ifmap DRAM reads;
* ``hwloop --scalesim-compat`` (a replica of SCALE-Sim's USER-mode buffers; equal);
* the same replica with the stall defect fixed (a positive prefetch stall is added once, a
  negative one ignored): the difference is the defect's size;
* hwloop's own model (``docs/memory-timing.md``), which fetches the stall-free engine's words.

Usage: ``python benchmarks/compare_user_mode.py [--out benchmarks/results/user_mode.md]``
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.sim.memory import simulate_scalesim_user
from hwloop.traces import Layer

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "golden_user"
GEMM = Layer.gemm("Test 1", 256, 128, 256)  # SCALE-Sim's CI golden GEMM (M, N, K)


def rows() -> list[dict]:
    out = []
    for dataflow in ("os", "ws", "is"):
        for bw in (10, 50):
            ref = json.loads((GOLDEN / f"gemm_golden_32x32_{dataflow}_bw{bw}.json").read_text())
            ref = ref["layers"][0]
            accel = get_preset("scalesim_default").with_overrides(dataflow=dataflow, bandwidth=bw)
            compat = simulate(GEMM, accel, scalesim_compat=True).layers.iloc[0]
            fixed = simulate_scalesim_user(GEMM, accel, fix_stall_defect=True)
            own = simulate(GEMM, accel).layers.iloc[0]
            out.append({
                "dataflow": dataflow, "bw": bw,
                "scalesim": (ref["total_cycles"], ref["stall_cycles"], ref["dram_ifmap_reads"]),
                "compat": (int(compat.total_cycles), int(compat.stall_cycles),
                           int(compat.dram_ifmap_reads)),
                "fixed": (fixed["total_cycles"], fixed["stall_cycles"], fixed["dram_ifmap_reads"]),
                "hwloop": (int(own.total_cycles), int(own.stall_cycles), int(own.dram_ifmap_reads)),
            })
    return out


def table(data: list[dict]) -> str:
    lines = ["| dataflow, bw | SCALE-Sim total / stalls / ifmap DRAM words | hwloop --scalesim-compat "
             "| defect fixed | defect's stalls | hwloop model |",
             "|---|---|---|---|---|---|"]
    for r in data:
        fmt = lambda t: f"{t[0]:,} / {t[1]:,} / {t[2]:,}"  # noqa: E731
        lines.append(f"| {r['dataflow'].upper()}, {r['bw']} | {fmt(r['scalesim'])} | "
                     f"{fmt(r['compat'])} | {fmt(r['fixed'])} | "
                     f"{r['scalesim'][1] - r['fixed'][1]:,} | {fmt(r['hwloop'])} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args()
    data = rows()
    text = table(data)
    ok = all(r["compat"] == r["scalesim"] for r in data)
    equal = sum(r["compat"] == r["scalesim"] for r in data)
    text += f"\n\nverdict: --scalesim-compat equals SCALE-Sim on {equal}/{len(data)} runs\n"
    print(text)
    if args.out:
        pathlib.Path(args.out).write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
