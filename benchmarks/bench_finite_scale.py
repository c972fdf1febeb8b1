#!/usr/bin/env python3
"""What a finite-bandwidth GEMM costs as it grows (issue 19's first two targets).

For GEMMs of 1024^3, 2048x4096x4096 and 8192^3 on 32x32 and 128x128 arrays (OS and WS),
512/512/256 KiB buffers and 16 DRAM words per cycle, in one process with Numba's cache warm:
the median wall time of ``simulate_totals`` with every per-process memo of buffer walks and
events cleared before each call (``forget_walks``), and the cost ratio 8192^3 / 1024^3
(512x the folds).

The same run times the previous event path (the ifmap blocks taken from a walk of the ifmap
buffer, which costs passes x pass size) where it finishes within ``--legacy-limit`` seconds
of demand, and checks that both give the same report row, counter for counter. The engine
times such layers over periodic pieces (``hwloop.sim.memory.periodic_memory``); the same run
also times the event path it replaced (that timing switched off) and checks the totals equal.

Run: ``python benchmarks/bench_finite_scale.py [--repeat 7]``; writes
``benchmarks/results/bench_finite_scale_<date>.json`` and ``.txt``.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import platform
import statistics
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numba
import numpy as np

from hwloop.arch import Dataflow, get_preset
from hwloop.sim import simulate_totals
from hwloop.sim.memory import (
    forget_walks,
    untraced_events,
)
from hwloop.sim.schedule import schedule
from hwloop.traces import Layer

RESULTS = Path(__file__).resolve().parent / "results"
GEMMS = ((1024, 1024, 1024), (2048, 4096, 4096), (8192, 8192, 8192))
ARRAYS = ((32, "os"), (32, "ws"), (128, "os"), (128, "ws"))
BANDWIDTH = 16
#: The previous path walks passes x pass-size ifmap demands; above this many it is not run.
LEGACY_DEMANDS = 5 * 10**9


def machine() -> dict:
    """The CPU model and the library versions the timings depend on."""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                      if line.startswith("Model name")), platform.processor())
    except OSError:
        model = platform.processor()
    return {"cpu": model, "machine": platform.machine(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__}


def accelerator(size: int, dataflow: str):
    base = get_preset("scalesim_default")
    return replace(base, array=replace(base.array, rows=size, cols=size,
                                       dataflow=Dataflow(dataflow)),
                   sram=replace(base.sram, ifmap_kb=512, filter_kb=512, ofmap_kb=256),
                   dram=replace(base.dram, bandwidth=BANDWIDTH))


#: How each path is forced: the engine's (periodic timing where it applies), the event path
#: (periodic timing off), the previous path (ifmap blocks from a walk of the ifmap buffer).
PATCHES = {
    "now": (),
    "events": ("hwloop.sim.arrays._systolic.periodic_applies",),
    "previous": ("hwloop.sim.arrays._systolic.periodic_applies",
                 "hwloop.sim.memory._fast_events.distinct_windows"),
}


def timed(layer: Layer, accel, repeat: int, path: str) -> tuple[float, dict]:
    """(median seconds, report totals) of simulating ``layer`` from empty memos by ``path``
    (see :data:`PATCHES`)."""
    times, totals = [], {}
    with contextlib.ExitStack() as stack:
        for target in PATCHES[path]:
            stack.enter_context(mock.patch(target, return_value=False))
        if path != "previous":  # untimed: the path's first call on this shape
            forget_walks()
            simulate_totals(layer, accel)
        for _ in range(repeat):
            forget_walks()
            start = time.perf_counter()
            totals = simulate_totals(layer, accel)
            times.append(time.perf_counter() - start)
    return statistics.median(times), totals


def event_count(layer: Layer, accel) -> int:
    """DRAM transfers the layer's memory events hold (read blocks and ofmap halves): the
    timing costs a step per transfer."""
    sched = schedule(layer, accel.array.rows, accel.array.cols, accel.array.dataflow)
    events = untraced_events(sched.shape(), accel.sram)
    return int(events.ifmap.words.size + events.filter.words.size + events.ofmap.words.size)


def ifmap_demands(m: int, n: int, k: int, size: int) -> int:
    """Ifmap demands the previous path walked (one pass per column fold)."""
    return m * k * -(-n // size)


def run(repeat: int) -> dict:
    simulate_totals(Layer.gemm("warm", 64, 64, 64), accelerator(32, "os"))  # load the kernels
    rows = []
    for size, dataflow in ARRAYS:
        accel = accelerator(size, dataflow)
        simulate_totals(Layer.gemm("warm", 64, 64, 64), accel)
        for m, n, k in GEMMS:
            layer = Layer.gemm(f"g{m}x{n}x{k}", m, n, k)
            seconds, totals = timed(layer, accel, repeat, "now")
            events, event_totals = timed(layer, accel, repeat, "events")
            row = {"gemm": f"{m}x{n}x{k}", "array": f"{size}x{size}", "dataflow": dataflow,
                   "seconds": seconds, "total_cycles": totals["total_cycles"],
                   "stall_cycles": totals["stall_cycles"], "events": event_count(layer, accel),
                   "event_path_seconds": events, "same_as_event_path": event_totals == totals}
            if ifmap_demands(m, n, k, size) <= LEGACY_DEMANDS:
                old, old_totals = timed(layer, accel, 1, "previous")
                row["previous_seconds"] = old
                row["same_totals"] = old_totals == totals
            rows.append(row)
            print(f"{row['gemm']:>16} {row['array']:>8} {dataflow}: {seconds * 1e3:9.2f} ms "
                  f"(event path {events * 1e3:.2f} ms, same: {row['same_as_event_path']})"
                  + (f"  (previous path {row['previous_seconds'] * 1e3:,.1f} ms, "
                     f"same totals: {row['same_totals']})" if "previous_seconds" in row else ""),
                  flush=True)
    return {"date": str(datetime.date.today()), "machine": machine(), "bandwidth": BANDWIDTH,
            "buffers_kib": [512, 512, 256], "repeat": repeat, "rows": rows}


def report(results: dict) -> str:
    rows = results["rows"]
    mach = results["machine"]
    out = [f"Finite-bandwidth GEMMs ({results['date']}): simulate_totals, in-process, Numba "
           f"cache warm, walk memos cleared; 512/512/256 KiB, {results['bandwidth']} words/cycle,"
           f" median of {results['repeat']}",
           f"machine: {mach['cpu']} ({mach['machine']}), Python {mach['python']}, NumPy "
           f"{mach['numpy']}, Numba {mach['numba']}",
           "now: the engine (periodic timing where it applies); event path: the same with the "
           "periodic timing off; previous path: ifmap blocks from a walk of the ifmap buffer", "",
           f"{'GEMM':>16} {'array':>8} {'df':>3} {'now':>11} {'event path':>12} {'same':>5} "
           f"{'previous path':>15} {'same':>5} {'transfers':>10}"]
    for r in rows:
        old = r.get("previous_seconds")
        out.append(f"{r['gemm']:>16} {r['array']:>8} {r['dataflow']:>3} "
                   f"{r['seconds'] * 1e3:8.2f} ms {r['event_path_seconds'] * 1e3:9.2f} ms "
                   f"{str(r['same_as_event_path']):>5} "
                   + (f"{old * 1e3:12,.1f} ms {str(r['same_totals']):>5}"
                      if old is not None else f"{'(not run)':>15} {'':>5}")
                   + f" {r['events']:>10,}")
    out += ["", "cost ratio 8192^3 / 1024^3 (512x the folds): now; event path"]
    for size, dataflow in ARRAYS:
        mine = [r for r in rows if r["array"] == f"{size}x{size}" and r["dataflow"] == dataflow]
        by = {r["gemm"]: r for r in mine}
        big, small = by["8192x8192x8192"], by["1024x1024x1024"]
        out.append(f"  {size}x{size} {dataflow}: {big['seconds'] / small['seconds']:.1f}x; "
                   f"{big['event_path_seconds'] / small['event_path_seconds']:.1f}x "
                   f"(DRAM transfers {big['events'] / small['events']:,.0f}x)")
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed calls per case (7)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results path without suffix (default: benchmarks/results/"
                             "bench_finite_scale_<date>)")
    args = parser.parse_args()
    results = run(args.repeat)
    text = report(results)
    print(text)
    out = args.out or RESULTS / f"bench_finite_scale_{results['date']}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    out.with_suffix(".txt").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
