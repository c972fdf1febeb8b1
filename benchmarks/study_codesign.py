#!/usr/bin/env python3
"""The seed study, reproduced at a small budget: hardware x mapping co-design by constrained
search, against a hand-tuned baseline and against hardware-only search (issue 18).

Per workload (ResNet-18, a 4-layer MLP at batch 64, a BERT-base encoder block, the Atari DQN
of Mnih et al. 2015: 3 convs and 2 FC), two arms search the same hardware space (array shape,
the three buffers, DRAM bandwidth) around the ``eyeriss`` preset, under an area cap equal to
Eyeriss's own area, for EDP:

* co-design: ``mapping = "auto"`` (the per-layer mapper as the inner loop);
* hardware only: ``mapping = "scalesim"`` (SCALE-Sim's implicit schedule).

Each arm runs Optuna's constrained GP-BO (``gp``) and NSGA-II (``nsga2``) for ``--trials``
trials over ``--seeds`` seeds. The baseline is the ``eyeriss`` preset itself (12x14 WS,
36 KiB buffers) with SCALE-Sim's schedule at ``BASE_BANDWIDTH`` words per cycle, the middle of
the searched range. Writes ``benchmarks/results/study_codesign_<date>.{json,md,png}``.

Run: ``python benchmarks/study_codesign.py [--trials 25] [--seeds 2]`` (a few minutes);
``--trials 200 --seeds 5`` for the long run.
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tqdm import tqdm  # noqa: E402

from hwloop.arch import get_preset  # noqa: E402
from hwloop.search import load_space, run_search  # noqa: E402
from hwloop.sim import area_mm2, simulate_totals  # noqa: E402
from hwloop.traces import builtin_network  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
WORKLOADS = ("resnet18", "mlp", "transformer_block", "dqn")
BASE_BANDWIDTH = 16
SPACE = """preset = "eyeriss"
[params.rows]
values = [8, 12, 14, 16, 24, 32]
[params.cols]
values = [8, 12, 14, 16, 24, 32]
[params.ifmap_kb]
values = [8, 16, 32, 64]
[params.filter_kb]
values = [8, 16, 32, 64]
[params.ofmap_kb]
values = [8, 16, 32, 64]
[params.bandwidth]
values = [4, 8, 16, 32]
[params.mapping]
values = ["MAPPING"]
[constraints]
max_area_mm2 = AREA
"""


def search(workload: str, mapping: str, strategy: str, seed: int, trials: int,
           area: float) -> dict:
    """One search's best feasible EDP and point."""
    with tempfile.TemporaryDirectory() as tmp:
        space_file = Path(tmp) / "space.toml"
        space_file.write_text(SPACE.replace("MAPPING", mapping).replace("AREA", repr(area)))
        start = time.perf_counter()
        result = run_search(load_space(space_file), builtin_network(workload), ["edp"],
                            strategy, trials, seed=seed, out_dir=Path(tmp) / "out",
                            storage=f"journal://{Path(tmp).resolve()}/study.log")
        seconds = time.perf_counter() - start
        curve, best = [], float("inf")
        for row in result.trials:
            if row["feasible"] and row["edp"] is not None:
                best = min(best, row["edp"])
            curve.append(best)
    found = result.best or {}
    return {"workload": workload, "mapping": mapping, "strategy": strategy, "seed": seed,
            "best_edp": found.get("edp"), "best_point": {k: found.get(k) for k in result.params},
            "curve": curve, "seconds": seconds}


def table(runs: list[dict], baselines: dict[str, float]) -> list[str]:
    lines = ["| workload | baseline EDP (eyeriss, SCALE-Sim mapping) | HW-only best (mean) | "
             "co-design best (mean, min-max) | co-design vs baseline | co-design vs HW-only |",
             "|---|---|---|---|---|---|"]
    for workload in baselines:
        hw = [r["best_edp"] for r in runs if r["workload"] == workload
              and r["mapping"] == "scalesim" and r["best_edp"]]
        co = [r["best_edp"] for r in runs if r["workload"] == workload
              and r["mapping"] == "auto" and r["best_edp"]]
        base, hw_mean, co_mean = baselines[workload], statistics.mean(hw), statistics.mean(co)
        lines.append(f"| {workload} | {base:.4g} | {hw_mean:.4g} | {co_mean:.4g} ({min(co):.4g}"
                     f"-{max(co):.4g}) | {100 * (co_mean / base - 1):+.1f}% | "
                     f"{100 * (co_mean / hw_mean - 1):+.1f}% |")
    return lines


def plot(runs: list[dict], path: Path) -> None:
    fig, axes = plt.subplots(1, len(WORKLOADS), figsize=(4 * len(WORKLOADS), 3.4))
    for ax, workload in zip(axes, WORKLOADS):
        for run in (r for r in runs if r["workload"] == workload):
            style = "-" if run["mapping"] == "auto" else "--"
            color = "tab:blue" if run["strategy"] == "gp" else "tab:orange"
            ax.plot(range(1, len(run["curve"]) + 1), run["curve"], style, color=color, lw=1)
        ax.set_yscale("log")
        ax.set_title(workload)
        ax.set_xlabel("trial")
    axes[0].set_ylabel("best feasible EDP (pJ x cycles)")
    axes[0].plot([], [], "-", color="k", label="co-design (mapping = auto)")
    axes[0].plot([], [], "--", color="k", label="hardware only (scalesim)")
    axes[0].plot([], [], color="tab:blue", label="GP-BO")
    axes[0].plot([], [], color="tab:orange", label="NSGA-II")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=25)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--strategies", default="gp,nsga2")
    args = parser.parse_args()
    eyeriss = get_preset("eyeriss")
    area = area_mm2(eyeriss)
    baseline_accel = eyeriss.with_overrides(bandwidth=BASE_BANDWIDTH)
    baselines = {w: simulate_totals(builtin_network(w), baseline_accel)["edp"] for w in WORKLOADS}
    jobs = [(w, m, s, seed) for w in WORKLOADS for m in ("auto", "scalesim")
            for s in args.strategies.split(",") for seed in range(args.seeds)]
    runs = [search(w, m, s, seed, args.trials, area)
            for w, m, s, seed in tqdm(jobs, desc="study", unit="search")]
    lines = [f"# Co-design study ({datetime.date.today().isoformat()}): EDP, {args.trials} "
             f"trials per search, {args.seeds} seeds x {args.strategies}, area <= {area:.3f} mm^2",
             "", *table(runs, baselines), "",
             "Improvements are of the mean best EDP over seeds and strategies (negative = lower "
             "EDP). Baseline: the eyeriss preset at "
             f"{BASE_BANDWIDTH} words/cycle with SCALE-Sim's mapping."]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"study_codesign_{datetime.date.today().isoformat()}"
    stem.with_suffix(".json").write_text(json.dumps({"args": vars(args), "area_mm2": area,
                                                      "baselines": baselines, "runs": runs},
                                                     indent=1) + "\n")
    stem.with_suffix(".md").write_text(text + "\n")
    plot(runs, stem.with_suffix(".png"))


if __name__ == "__main__":
    main()
