#!/usr/bin/env python3
"""Search efficiency on an enumerable ResNet-18 hardware space (issue 6).

1. Exhaustive optimum: every statically feasible point of ``SPACE`` (rows x cols x dataflow x
   ifmap_kb x filter_kb, DRAM at ``BANDWIDTH`` words/cycle, an area cap) is simulated once
   through the cached :class:`hwloop.search.Oracle` (``--jobs`` processes share the cache).
2. For seeds ``--first-seed`` .. ``--first-seed`` + N-1 (0..N-1 by default), each of
   ``--strategies`` (``gp``, ``tpe`` and ``random`` by default) runs
   :func:`hwloop.search.run_search` with a budget of ``--budget`` (15%) of the space's points
   as trials, against the same cache (so only the exhaustive pass simulates). The samplers
   see only their own trials' values and constraint violations; the optimum is used only
   afterwards, to score them.
3. Per seed: the best feasible latency found and its gap to the optimum; per strategy: the
   fraction of seeds within ``--tolerance`` (2%).

Usage: ``python benchmarks/bench_search.py [--seeds 10] [--first-seed 0]
[--strategies gp,tpe,random] [--cache PATH] [--out benchmarks/results/NAME]`` (writes
NAME.txt and NAME.json). With ``--cache`` an existing cache is reused, so the exhaustive pass
only reads it.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import pathlib
import shutil
import sqlite3
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from hwloop.arch import PRESETS
from hwloop.search import Oracle, load_space, run_search
from hwloop.traces import builtin_network

ROOT = pathlib.Path(__file__).resolve().parents[1]
BANDWIDTH = 10  # words per cycle per DRAM port: SRAM size then matters for latency
SPACE = """# ResNet-18, 7 x 7 x 3 x 2 x 2 = 588 points
[params.rows]
low = 16
high = 64
step = 8
[params.cols]
low = 16
high = 64
step = 8
[params.dataflow]
values = ["os", "ws", "is"]
[params.ifmap_kb]
values = [64, 256]
[params.filter_kb]
values = [64, 256]
[constraints]
max_area_mm2 = 1.8
"""
STRATEGIES = ("gp", "tpe", "random")


def _base():
    return PRESETS["scalesim_default"].with_overrides(bandwidth=BANDWIDTH)


def _feasible_points(space):
    base = _base()
    for point in space.grid():
        accel = base.with_overrides(**point)
        if not any(v > 0 for v in space.constraints.static_violations(accel).values()):
            yield point


def _evaluate_chunk(space_path: str, cache: str, objective: str, points: list[dict]):
    oracle = Oracle(builtin_network("resnet18"), _base(), cache)
    values = [oracle.evaluate(p)[objective] for p in points]
    oracle.close()
    return values


def exhaustive(space_path, cache, objective, jobs):
    """(optimum, its point, feasible points, seconds) by simulating every feasible point."""
    space = load_space(space_path)
    points = list(_feasible_points(space))
    started = time.perf_counter()
    chunks = [points[i::jobs] for i in range(jobs)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(_evaluate_chunk, [str(space_path)] * jobs, [str(cache)] * jobs,
                                [objective] * jobs, chunks))
    pairs = [(v, p) for chunk, vals in zip(chunks, results) for p, v in zip(chunk, vals)]
    best, point = min(pairs, key=lambda pair: pair[0])
    with sqlite3.connect(cache) as db:  # fold the WAL into the file, which is then copied
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return best, point, len(points), time.perf_counter() - started


def search_runs(space_path, cache, objective, trials, seeds, work, strategies=STRATEGIES):
    """{strategy: [(best value, seconds, simulations), ...] per seed in ``seeds``}."""
    space = load_space(space_path)
    network = builtin_network("resnet18")
    runs: dict[str, list] = {name: [] for name in strategies}
    for name in strategies:
        for seed in seeds:
            out = work / f"{name}{seed}"
            out.mkdir()
            shutil.copy(cache, out / "cache.db")  # the oracle cache the exhaustive pass filled
            started = time.perf_counter()
            result = run_search(space, network, [objective], name, trials, seed=seed,
                                out_dir=out, base=_base())
            best = result.best[objective] if result.best else math.inf
            runs[name].append((best, time.perf_counter() - started, result.simulations))
    return runs


def report(args, space_size, feasible, optimum, point, runs, trials, seconds_exh):
    lines = [f"hwloop search benchmark ({datetime.date.today()}), ResNet-18, "
             f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}",
             f"space: {space_size} points, {feasible} meet max_area_mm2; "
             f"DRAM {BANDWIDTH} words/cycle; objective {args.objective}",
             f"exhaustive optimum: {optimum:,.0f} at {point} ({seconds_exh:.0f} s, "
             f"{feasible} simulations)",
             f"budget: {trials} trials = {trials / space_size:.1%} of the space; "
             f"within {args.tolerance:.0%} = best <= {optimum * (1 + args.tolerance):,.0f}", "",
             f"{'seed':>4}  " + "  ".join(f"{n + ' best':>12} {'gap':>7}"
                                          for n in args.strategies)]
    for i, seed in enumerate(range(args.first_seed, args.first_seed + args.seeds)):
        cells = []
        for name in args.strategies:
            best = runs[name][i][0]
            cells.append(f"{best:>12,.0f} {best / optimum - 1:>7.2%}")
        lines.append(f"{seed:>4}  " + "  ".join(cells))
    summary = {}
    for name in args.strategies:
        gaps = [r[0] / optimum - 1 for r in runs[name]]
        hits = sum(g <= args.tolerance for g in gaps)
        exact = sum(g == 0 for g in gaps)
        seconds = sum(r[1] for r in runs[name]) / len(gaps)
        summary[name] = {"within": hits, "exact": exact, "seeds": len(gaps),
                         "median_gap": sorted(gaps)[len(gaps) // 2], "mean_seconds": seconds}
        lines.append(f"{name:>6}: within {args.tolerance:.0%} in {hits}/{len(gaps)} seeds "
                     f"({hits / len(gaps):.0%}), exact optimum in {exact}, median gap "
                     f"{summary[name]['median_gap']:.2%}, {seconds:.1f} s per search")
    return "\n".join(lines), summary


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("name at least one sampler")
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds FIRST_SEED .. FIRST_SEED+SEEDS-1 (10 for held-out seeds)")
    parser.add_argument("--strategies", type=_names, default=STRATEGIES,
                        help=f"comma-separated samplers (default {','.join(STRATEGIES)})")
    parser.add_argument("--budget", type=float, default=0.15, help="fraction of the space")
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--objective", default="latency")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cache", type=pathlib.Path, default=None,
                        help="keep the oracle cache here (reused by a later run)")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="write OUT.txt and OUT.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        space_path = work / "space.toml"
        space_path.write_text(SPACE)
        cache = (args.cache or work / "cache.db").resolve()
        space = load_space(space_path)
        optimum, point, feasible, seconds_exh = exhaustive(space_path, cache, args.objective,
                                                           args.jobs)
        trials = int(args.budget * space.size)
        started = time.perf_counter()
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        runs = search_runs(space_path, cache, args.objective, trials, seeds, work,
                           args.strategies)
        seconds_search = time.perf_counter() - started
    text, summary = report(args, space.size, feasible, optimum, point, runs, trials,
                           seconds_exh)
    text += f"\nsearch runs: {seconds_search:.0f} s in all (cache hits only)"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".txt").write_text(text + "\n")
        data = {"space": SPACE, "bandwidth": BANDWIDTH, "objective": args.objective,
                "optimum": optimum, "optimum_point": point, "feasible_points": feasible,
                "space_size": space.size, "trials": trials, "tolerance": args.tolerance,
                "runs": {n: [{"seed": args.first_seed + i, "best": r[0], "seconds": r[1],
                              "simulations": r[2]}
                             for i, r in enumerate(runs[n])] for n in args.strategies},
                "summary": summary, "exhaustive_seconds": seconds_exh,
                "search_seconds": seconds_search}
        args.out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
