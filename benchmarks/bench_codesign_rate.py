#!/usr/bin/env python3
"""How many ResNet-18 design points a co-design search evaluates per minute (issue 18).

A random search over array shape, the three buffers and the DRAM bandwidth (5,120 points),
run with ``hwloop.search.run_search`` on ``--workers`` processes from an empty cache, once
with ``mapping = "auto"`` (the per-layer mapper as the inner loop, optimising EDP) and once
with ``mapping = "scalesim"`` (SCALE-Sim's implicit schedule), the same trials and seed.
Reported: simulated points per minute of wall time for each, their ratio, and ZigZag's time
for one mapping search of the same network (``benchmarks/results/mapper_<date>.json``, the
newest written by ``bench_mapper.py``; its date is printed with it).

Run: ``python benchmarks/bench_codesign_rate.py [--trials 300] [--workers 2]``; writes
``benchmarks/results/bench_codesign_rate_<date>.json`` and ``.txt``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from hwloop.search import load_space, run_search
from hwloop.traces import builtin_network

RESULTS = Path(__file__).resolve().parent / "results"
SPACE = """# ResNet-18 co-design: 4 x 4 x 4 x 4 x 4 x 5 = 5,120 points
[params.rows]
values = [8, 16, 32, 64]
[params.cols]
values = [8, 16, 32, 64]
[params.ifmap_kb]
values = [16, 32, 64, 128]
[params.filter_kb]
values = [16, 32, 64, 128]
[params.ofmap_kb]
values = [16, 32, 64, 128]
[params.bandwidth]
values = [4, 8, 16, 32, 64]
[params.mapping]
values = ["MAPPING"]
"""


def run_arm(mapping: str, trials: int, workers: int, seed: int, storage: str) -> dict:
    """One search from an empty cache: (simulated points, seconds, points per minute).
    ``storage``: ``sqlite`` (the default study.db) or ``journal`` (``journal:///``)."""
    network = builtin_network("resnet18")
    with tempfile.TemporaryDirectory() as tmp:
        space_file = Path(tmp) / "space.toml"
        space_file.write_text(SPACE.replace("MAPPING", mapping))
        url = f"journal://{Path(tmp).resolve()}/study.log" if storage == "journal" else None
        start = time.perf_counter()
        result = run_search(load_space(space_file), network, ["edp"], "random", trials,
                            seed=seed, workers=workers, out_dir=Path(tmp) / "out",
                            storage=url)
        seconds = time.perf_counter() - start
    best = result.best or {}
    return {"mapping": mapping, "storage": storage, "trials": trials, "workers": workers,
            "simulated": result.simulations, "seconds": seconds,
            "points_per_minute": 60.0 * result.simulations / seconds,
            "best_edp": best.get("edp")}


def zigzag_reference() -> dict | None:
    """ZigZag's time for one mapping search of ResNet-18, from the newest mapper benchmark."""
    found = sorted(RESULTS.glob("mapper_20*.json"))
    if not found:
        return None
    data = json.loads(found[-1].read_text())
    totals = data.get("totals", {})
    return {"file": found[-1].name,
            "zigzag_search_s": totals.get("zigzag_search_s"),
            "zigzag_process_s": totals.get("zigzag_process_s"),
            "hwloop_mapper_s": totals.get("hwloop_s")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--storages", default="journal,sqlite",
                        help="comma-separated arms' storages (journal,sqlite)")
    args = parser.parse_args()
    # a first small search compiles the kernels and fills Numba's cache, untimed
    run_arm("auto", 2, 1, args.seed + 1, "sqlite")
    arms = [run_arm(mapping, args.trials, args.workers, args.seed, storage)
            for storage in args.storages.split(",") for mapping in ("auto", "scalesim")]
    auto, plain = arms[:2]
    zigzag = zigzag_reference()
    lines = [f"ResNet-18 co-design search, random sampler, {args.trials} trials, "
             f"{args.workers} processes, empty cache ({platform.processor() or platform.machine()},"
             f" {os.cpu_count()} CPUs)"]
    for arm in arms:
        lines.append(f"  {arm['storage']:7s} mapping = {arm['mapping']:8s}: {arm['simulated']} points in "
                     f"{arm['seconds']:.1f} s = {arm['points_per_minute']:,.0f} points/min "
                     f"(best EDP {arm['best_edp']:.4g})")
    lines.append(f"  {auto['storage']} storage: the mapper costs "
                 f"{plain['points_per_minute'] / auto['points_per_minute']:.1f}x the points/min "
                 "of SCALE-Sim's schedule"
                 + ("; sqlite storage (the default) caps both" if "sqlite" in args.storages
                    else ""))
    if zigzag and zigzag["zigzag_search_s"]:
        per_point = 60.0 / auto["points_per_minute"]
        lines.append(f"  ZigZag maps ResNet-18 once in {zigzag['zigzag_search_s']:.1f} s of search "
                     f"({zigzag['file']}): {zigzag['zigzag_search_s'] / per_point:,.0f}x one "
                     f"co-design point here ({per_point * 1e3:.0f} ms of wall time per point)")
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"bench_codesign_rate_{datetime.date.today().isoformat()}"
    stem.with_suffix(".json").write_text(json.dumps({"arms": arms, "zigzag": zigzag,
                                                      "args": vars(args)}, indent=1) + "\n")
    stem.with_suffix(".txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
