#!/usr/bin/env python3
"""How far is the pruned mapper from the best mapping? (a study, not a timed test)

On a test set of small layers (GEMMs and convs, on 8x8 arrays with buffers small enough that
tiling matters), the mapper (``--mapping auto``) is compared with:

* stall-free: an exhaustive search over every tile size of every dimension, every order and
  every dataflow (the bound is the exact cost there, so the exhaustive optimum is exact);
* with a finite DRAM: the exhaustive search's own answer (its bound-ordered exact search), and
  the best of ``--random`` random valid mappings simulated exactly.

Writes ``benchmarks/results/mapper_gap_<date>.json`` and prints the worst and mean gaps.
Run: ``python benchmarks/mapper_gap.py [--random 200]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import random
import statistics
import time
from pathlib import Path

from tqdm import tqdm

from hwloop.arch import MAPPING_ORDERS, Dram, Mapping, Sram, SystolicArray
from hwloop.arch.presets import SCALESIM_DEFAULT
from hwloop.sim.tiling import MAPPER_OBJECTIVES, best_mapping, mapped_layer_row, objective_of
from hwloop.traces import InputError, Layer

RESULTS = Path(__file__).resolve().parent / "results"


def test_set() -> list[Layer]:
    """Small layers whose whole tile space can be enumerated."""
    gemms = [Layer.gemm(f"g{m}x{n}x{k}", m, n, k)
             for m, n, k in ((48, 40, 56), (64, 24, 100), (30, 70, 33), (17, 90, 64), (100, 20, 20))]
    convs = [Layer(name=f"c{h}_{f}_{c}_{k}_s{s}", ifmap_h=h, ifmap_w=h, filter_h=f, filter_w=f,
                   channels=c, num_filters=k, stride_h=s, stride_w=s)
             for h, f, c, k, s in ((10, 3, 16, 16, 1), (12, 3, 8, 24, 1), (13, 3, 12, 12, 2),
                                   (9, 1, 32, 20, 1), (11, 5, 6, 10, 1))]
    return gemms + convs


def accelerators() -> dict[str, object]:
    small = dataclasses.replace(SCALESIM_DEFAULT, array=SystolicArray(rows=8, cols=8),
                                sram=Sram(ifmap_kb=1, filter_kb=1, ofmap_kb=1))
    return {"stall-free": small, "bw2": dataclasses.replace(small, dram=Dram(bandwidth=2)),
            "bw8-lat10": dataclasses.replace(small, dram=Dram(bandwidth=8, latency_cycles=10))}


def random_mapping(layer: Layer, rng: random.Random) -> Mapping:
    pixels, filters, window = layer.gemm_mnk
    if layer.kind.value == "gemm":
        sizes = {"tile_m": pixels, "tile_n": filters, "tile_k": window}
    else:
        sizes = {"tile_p": layer.ofmap_h, "tile_q": layer.ofmap_w, "tile_c": layer.channel_group,
                 "tile_n": filters}
    return Mapping(dataflow=rng.choice(("os", "ws", "is")), order=rng.choice(MAPPING_ORDERS),
                   **{name: rng.randint(1, size) for name, size in sizes.items()})


def best_random(layer: Layer, accel, objective: str, count: int, rng: random.Random) -> float:
    best = float("inf")
    found = 0
    while found < count:
        try:
            row = mapped_layer_row(layer, accel, random_mapping(layer, rng))
        except InputError:
            continue
        found += 1
        best = min(best, objective_of(row, objective))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--random", type=int, default=200, help="random mappings per case")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cases = [(layer, name, accel, objective) for layer in test_set()
             for name, accel in accelerators().items() for objective in MAPPER_OBJECTIVES]
    rows = []
    for layer, name, accel, objective in tqdm(cases, desc="mapper gap", unit="case"):
        start = time.perf_counter()
        mapping, row = best_mapping(layer, accel, objective)
        mapper_s = time.perf_counter() - start
        start = time.perf_counter()
        whole, whole_row = best_mapping(layer, accel, objective, exhaustive=True)
        exhaustive_s = time.perf_counter() - start
        mine, theirs = objective_of(row, objective), objective_of(whole_row, objective)
        sampled = best_random(layer, accel, objective, args.random, rng)
        rows.append({"layer": layer.name, "dram": name, "objective": objective,
                     "mapper": mapping.describe(), "mapper_cost": mine, "mapper_s": mapper_s,
                     "exhaustive": whole.describe(), "exhaustive_cost": theirs,
                     "exhaustive_s": exhaustive_s, "best_random_cost": sampled,
                     "gap_to_exhaustive_pct": 100.0 * (mine / theirs - 1.0),
                     "gap_to_random_pct": 100.0 * (mine / sampled - 1.0)})
    summary = {}
    for dram in accelerators():
        gaps = [r["gap_to_exhaustive_pct"] for r in rows if r["dram"] == dram]
        random_gaps = [r["gap_to_random_pct"] for r in rows if r["dram"] == dram]
        summary[dram] = {"cases": len(gaps), "max_gap_pct": max(gaps),
                         "mean_gap_pct": statistics.mean(gaps),
                         "max_gap_to_best_random_pct": max(random_gaps)}
        print(f"{dram:11s} {len(gaps)} cases: gap to exhaustive max {max(gaps):+.3f}% mean "
              f"{statistics.mean(gaps):+.3f}%; to the best of {args.random} random mappings "
              f"max {max(random_gaps):+.3f}%")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"mapper_gap_{datetime.date.today().isoformat()}.json"
    out.write_text(json.dumps({"summary": summary, "random_per_case": args.random,
                               "cases": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
