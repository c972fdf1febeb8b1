#!/usr/bin/env python3
"""Oracle throughput: full ResNet-18 evaluations per minute, cache cold (issue 6).

Distinct design points of a hardware space (below) go through :class:`hwloop.search.Oracle`
in ``--workers`` processes sharing one fresh SQLite store, as ``hwloop search`` workers do;
the wall time from the first point to the last gives evaluations per minute. Every point is
new to the store (cache cold) and every number is exact; the workers are started and their
Numba kernels compiled on another network before the clock starts.

Two regimes, reported separately:

* ``oracle``: the oracle as shipped. It walks an ifmap buffer once per (layer, rows,
  dataflow, ifmap buffer; IS also per column count: OS and WS repeat one pass per column
  fold, so one walk serves every width) and reuses that exact walk for every other point
  sharing it (``hwloop.sim.memory._walks``); the workers share their walks
  through the store (``hwloop.sim.sharing_walks``), so each buffer is walked once between
  them. The rate depends on how a space shares those; the space here varies every buffer and
  the array.
* ``raw``: that memo is cleared after every point and the store shares no walks, so every
  point is simulated from nothing (the cost of a point no earlier point shares anything with).

With ``--bandwidth N`` the DRAM ports move N words per cycle, so every layer also streams its
demand through the buffers and times the transfers (stalls); ``--bandwidth 4,8,16,32`` makes
the bandwidth one more dimension of the space (the oracle then re-times a layer's memoised
transfer events for each bandwidth instead of re-walking its demand; ``raw`` clears that memo
too).

A sample of the points (``--check``) is re-simulated with :func:`hwloop.sim.simulate` in this
process, and the oracle's objectives must equal it.

Each regime runs ``--repeat`` times (fresh worker processes and store each time) and reports
the median run, with the slowest and the fastest: on 2 cores the workers' timing varies.

Usage: ``python benchmarks/bench_oracle.py [--points 2000] [--workers 2] [--bandwidth N]
[--raw-points 200] [--repeat 5] [--out benchmarks/results/NAME]`` (NAME.txt and NAME.json).
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import pathlib
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from hwloop.arch import PRESETS
from hwloop.search import Oracle
from hwloop.traces import builtin_network

#: The hardware space: 5 x 5 x 3 x 4 x 4 x 4 = 4,800 points.
SPACE = {"rows": [8, 16, 32, 64, 128], "cols": [8, 16, 32, 64, 128],
         "dataflow": ["os", "ws", "is"], "ifmap_kb": [32, 64, 128, 256],
         "filter_kb": [32, 64, 128, 256], "ofmap_kb": [16, 32, 64, 128]}
NETWORK = "resnet18"


def _base(bandwidth: int | None):
    base = PRESETS["scalesim_default"]
    return base if bandwidth is None else base.with_overrides(bandwidth=bandwidth)


def _warm(bandwidth: int | None) -> int:
    """Compile every kernel in this worker on a small network (not the measured one)."""
    from hwloop.sim import simulate_totals
    from hwloop.sim.memory import forget_walks

    net = builtin_network("alexnet")
    for dataflow in SPACE["dataflow"]:
        simulate_totals(net, _base(bandwidth).with_overrides(dataflow=dataflow, rows=8, cols=8))
    forget_walks()
    return os.getpid()


def _evaluate(store: str, bandwidth: int | None, points: list[dict], raw: bool) -> list[dict]:
    from hwloop.sim.memory import forget_walks

    oracle = Oracle(builtin_network(NETWORK), _base(bandwidth), store, share_walks=not raw)
    out = []
    for point in points:
        out.append(oracle.evaluate(point))
        if raw:
            forget_walks()
    oracle.close()
    return out


def measure(points: list[dict], workers: int, bandwidth: int | None, raw: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(workers) as pool:
        store = str(pathlib.Path(tmp) / "cache.db")
        list(pool.map(_warm, [bandwidth] * workers))
        chunks = [points[i::workers] for i in range(workers)]
        started = time.perf_counter()
        results = list(pool.map(_evaluate, [store] * workers, [bandwidth] * workers, chunks,
                                [raw] * workers))
        seconds = time.perf_counter() - started
        stored = Oracle(None, _base(bandwidth), store).stored()
    by_point = {json.dumps(p, sort_keys=True): r
                for chunk, res in zip(chunks, results) for p, r in zip(chunk, res)}
    return {"points": len(points), "seconds": seconds, "per_minute": 60 * len(points) / seconds,
            "ms_per_point_per_worker": 1e3 * seconds * workers / len(points),
            "stored": stored, "results": by_point}


def check(sample: list[dict], results: dict, bandwidth: int | None) -> int:
    """Points whose oracle objectives differ from a fresh full simulation (0 expected)."""
    from hwloop.search._oracle import OBJECTIVES
    from hwloop.sim import simulate

    net = builtin_network(NETWORK)
    bad = 0
    for point in sample:
        totals = simulate(net, _base(bandwidth).with_overrides(**point)).totals
        want = {name: float(totals[key]) for name, key in OBJECTIVES.items()}
        if results[json.dumps(point, sort_keys=True)] != want:
            bad += 1
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--raw-points", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bandwidth", default=None,
                        help="DRAM words per cycle per port; a comma list adds a dimension")
    parser.add_argument("--check", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs per regime (fresh processes and store each); the median "
                             "is reported, with the slowest and fastest")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    space = dict(SPACE)
    bandwidths = [int(b) for b in args.bandwidth.split(",")] if args.bandwidth else []
    if len(bandwidths) > 1:
        space["bandwidth"] = bandwidths
    args.bandwidth = bandwidths[0] if bandwidths else None  # the base (or the only) DRAM
    grid = [dict(zip(space, combo)) for combo in itertools.product(*space.values())]
    rng = random.Random(args.seed)
    rng.shuffle(grid)
    regime = ("stall-free" if not bandwidths else
              f"DRAM {'/'.join(map(str, bandwidths))} words/cycle per port")
    lines = [f"hwloop oracle throughput ({datetime.date.today()}), {NETWORK}, {regime}, "
             f"{args.workers} workers on {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}",
             f"space: {len(grid)} points ({', '.join(f'{k} {len(v)}' for k, v in space.items())})"]
    data: dict = {"space": space, "bandwidth": bandwidths, "workers": args.workers}
    for name, count, raw in (("oracle", args.points, False), ("raw", args.raw_points, True)):
        if count <= 0:
            continue
        points = grid[:min(count, len(grid))]
        runs = sorted((measure(points, args.workers, args.bandwidth, raw)
                       for _ in range(max(1, args.repeat))), key=lambda r: r["seconds"])
        run = runs[len(runs) // 2]  # the median run
        bad = sum(check(points[:args.check], r["results"], args.bandwidth) for r in runs)
        checked = args.check * len(runs)
        spread = (f" (runs: {runs[-1]['per_minute']:,.0f} to {runs[0]['per_minute']:,.0f})"
                  if len(runs) > 1 else "")
        lines.append(f"{name:>6}: {run['points']:,} distinct points in {run['seconds']:.1f} s "
                     f"=> {run['per_minute']:,.0f} evaluations/min, median of {len(runs)}"
                     f"{spread} ({run['ms_per_point_per_worker']:.2f} ms per point per worker); "
                     f"{run['stored']} stored; {checked - bad}/{checked} checked equal "
                     f"to a fresh simulate()")
        data[name] = {k: v for k, v in run.items() if k != "results"} | {
            "check_failures": bad, "runs_per_minute": [r["per_minute"] for r in runs]}
        if bad:
            lines.append(f"  CHECK FAILED on {bad} points")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".txt").write_text(text + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    return 1 if any(data.get(n, {}).get("check_failures") for n in ("oracle", "raw")) else 0


if __name__ == "__main__":
    raise SystemExit(main())
