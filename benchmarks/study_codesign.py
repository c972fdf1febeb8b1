#!/usr/bin/env python3
"""The seed study, reproduced: hardware x mapping co-design by constrained search, against a
hand-tuned baseline and against hardware-only search, at equal trial budgets (issue 18).

Workloads (built-in networks): ``resnet18``; ``mlp`` (784-1024-1024-1024-10 as GEMMs at batch
64); ``transformer_block`` (one BERT-base encoder block, 512 tokens); ``dqn`` (the Atari DQN of
Mnih et al., Nature 2015: 84x84x4 input, three convs, two FC layers).

Per workload two arms search the same hardware space (``SPACE``: array rows and columns, the
three SRAM buffers, DRAM bandwidth) on the ``eyeriss`` preset (its 200 MHz clock and energy
table), under an area cap equal to the ``eyeriss`` preset's own area, for EDP:

* co-design: ``mapping = "auto"``: every design point runs the per-layer mapper (tiling, loop
  order, dataflow) for EDP, the inner loop of the bilevel scheme;
* hardware only: ``mapping = "scalesim"``: SCALE-Sim's implicit schedule.

Each arm runs each of ``--strategies`` (Optuna's constrained GP-BO ``gp`` and ``nsga2``, both
told the area violation) for ``--trials`` trials (rejected points count) from seeds 0 ..
``--seeds``-1. The baseline is the ``eyeriss`` preset as shipped (12x14 WS, 36 KiB buffers,
stall-free DRAM) with SCALE-Sim's schedule. Two references are simulated besides: the same
eyeriss with the mapper (mapping alone), and each hardware-only run's best hardware re-run with
the mapper (hardware first, then map).

Writes ``benchmarks/results/study_codesign_<date>.json`` (every run: best EDP, best point,
trials, seconds), ``.md`` (the tables) and ``.png`` (best EDP so far against trials).

Run: ``python benchmarks/study_codesign.py`` (defaults: 60 trials, 3 seeds, gp and nsga2, all
four workloads; about 10 minutes on 2 cores); a long run e.g. ``--trials 200 --seeds 5
--workers 2``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import statistics
import sys
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
from hwloop.traces import builtin_network, list_networks  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
WORKLOADS = ("resnet18", "mlp", "transformer_block", "dqn")
STRATEGIES = ("gp", "nsga2")
ARMS = ("auto", "scalesim")  # co-design, hardware only
BASE = "eyeriss"
#: 5^6 = 15,625 points; with the area cap at eyeriss's 0.429 mm^2, 28.5% of them are feasible
#: (a space where 4% were left NSGA-II's first generation, 50 random points, nearly empty).
SPACE = """preset = "eyeriss"
[params.rows]
values = [8, 12, 16, 24, 32]
[params.cols]
values = [8, 12, 16, 24, 32]
[params.ifmap_kb]
values = [8, 16, 32, 64, 128]
[params.filter_kb]
values = [8, 16, 32, 64, 128]
[params.ofmap_kb]
values = [8, 16, 32, 64, 128]
[params.bandwidth]
values = [4, 8, 16, 32, 64]
[params.mapping]
values = ["MAPPING"]
[constraints]
max_area_mm2 = AREA
"""
HARDWARE = ("rows", "cols", "ifmap_kb", "filter_kb", "ofmap_kb", "bandwidth")
#: How to read the tables (the same for every run; the numbers are in the tables).
NOTES = """## Reading it

* **Why the gains exceed the paper's** (-18% ResNet, -40% DQN): most of them are the mapping
  itself. The column "eyeriss + mapper" is the baseline hardware unchanged with
  `--mapping auto`: SCALE-Sim's implicit schedule writes every row fold's partial sums to DRAM
  and refetches ifmaps through its set-window scratchpads, and explicit tiles with a chosen
  loop order avoid most of that. The paper's baselines were hand-tuned *mappings*; here the
  hand-tuned baseline keeps SCALE-Sim's schedule, so "vs hand-tuned" measures hardware and
  mapping together against that schedule, not the paper's absolute numbers.
* **"vs HW-only"** is what putting the mapper inside the search adds at an equal trial
  budget. "HW-only best, then mapper" maps the hardware-only search's best design
  afterwards (hardware first, then mapping): where co-design beats it, the best hardware for
  SCALE-Sim's schedule is not the best hardware for a mapped network.
* **Budgets.** NSGA-II spends its first generation (50 trials) sampling at random, so at 60
  trials it is mostly random search under the area cap (about 28% of the space is feasible);
  GP-BO's constrained acquisition keeps about 50 of 60 trials feasible. A long run
  (`--trials 200 --seeds 5`) separates the samplers better.
"""


def search(workload: str, mapping: str, strategy: str, seed: int, trials: int, area: float,
           workers: int) -> dict:
    """One search from an empty cache: its best feasible EDP and point, every trial, and the
    best EDP found after each trial (None before the first feasible one)."""
    with tempfile.TemporaryDirectory() as tmp:
        space_file = Path(tmp) / "space.toml"
        space_file.write_text(SPACE.replace("MAPPING", mapping).replace("AREA", repr(area)))
        start = time.perf_counter()
        result = run_search(load_space(space_file), builtin_network(workload), ["edp"],
                            strategy, trials, seed=seed, workers=workers,
                            out_dir=Path(tmp) / "out",
                            storage=f"journal://{Path(tmp).resolve()}/study.log")
        seconds = time.perf_counter() - start
    rows = sorted(result.trials, key=lambda r: r["trial"])
    curve, best = [], math.inf
    for row in rows:
        if row["feasible"] and row["edp"] is not None:
            best = min(best, row["edp"])
        curve.append(None if best == math.inf else best)
    found = result.best
    return {"workload": workload, "mapping": mapping, "strategy": strategy, "seed": seed,
            "best_edp": found["edp"] if found else None,
            "best_point": {k: found[k] for k in HARDWARE} if found else None,
            "best_trial": found["trial"] if found else None,
            "feasible_trials": sum(r["feasible"] for r in rows),
            "simulations": result.simulations, "seconds": round(seconds, 3),
            "trial_fields": [*HARDWARE, "edp", "feasible"],
            "trials": [[r[k] for k in HARDWARE] + [r["edp"], r["feasible"]] for r in rows],
            "curve": curve}


def mapped_afterwards(run: dict, base) -> float | None:
    """A hardware-only run's best hardware, re-run with the mapper (hardware first, then map)."""
    if run["best_point"] is None:
        return None
    accel = base.with_overrides(**run["best_point"])
    return simulate_totals(builtin_network(run["workload"]), accel, mapping="auto",
                           optimize="edp")["edp"]


def _mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def _pct(new: float | None, old: float | None) -> str:
    return "n/a" if new is None or old is None else f"{100 * (new / old - 1):+.0f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def summary(runs: list[dict], references: dict, workloads, strategies) -> dict:
    """Per (workload, strategy): each arm's best EDPs over seeds and their means."""
    out: dict = {}
    for w in workloads:
        for s in strategies:
            cell = {}
            for arm in ARMS:
                mine = [r for r in runs if (r["workload"], r["strategy"], r["mapping"]) == (w, s, arm)]
                best = [r["best_edp"] for r in mine if r["best_edp"] is not None]
                cell[arm] = {"best": best, "mean": _mean(best), "seeds": len(mine),
                             "feasible_trials": _mean([r["feasible_trials"] for r in mine])}
            after = [r["mapped_afterwards"] for r in runs if (r["workload"], r["strategy"],
                     r["mapping"]) == (w, s, "scalesim") and r.get("mapped_afterwards")]
            cell["hw_then_map"] = _mean(after)
            out[f"{w}/{s}"] = cell
    return out


def tables(cells: dict, references: dict, workloads, strategies, trials: int) -> list[str]:
    names = {"gp": "GP-BO", "nsga2": "NSGA-II"}
    head = ["| workload |"] + [f" {names.get(s, s)}: vs hand-tuned | {names.get(s, s)}: vs HW-only |"
                               for s in strategies]
    lines = ["".join(head), "|---|" + "---|---|" * len(strategies)]
    for w in workloads:
        row = f"| {w} |"
        for s in strategies:
            c = cells[f"{w}/{s}"]
            row += (f" {_pct(c['auto']['mean'], references[w]['baseline'])} |"
                    f" {_pct(c['auto']['mean'], c['scalesim']['mean'])} |")
        lines.append(row)
    lines += ["", "Detail (EDP in pJ x cycles; best of a search, mean over seeds, min-max in "
              "brackets; 'feasible' is the mean number of trials under the area cap, of "
              f"{trials}):", "",
              "| workload | search | baseline: eyeriss, SCALE-Sim | HW-only best | co-design best "
              "| feasible HW-only / co-design | co-design vs baseline | co-design vs HW-only | "
              "eyeriss + mapper | HW-only best, then mapper |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for w in workloads:
        ref = references[w]
        for s in strategies:
            c = cells[f"{w}/{s}"]
            hw, co = c["scalesim"], c["auto"]

            def spread(arm: dict) -> str:
                if not arm["best"]:
                    return "none feasible"
                text = f"{_num(arm['mean'])} ({_num(min(arm['best']))}-{_num(max(arm['best']))})"
                missing = arm["seeds"] - len(arm["best"])
                return text + (f", {missing} seed(s) none feasible" if missing else "")

            lines.append(
                f"| {w} | {names.get(s, s)} | {_num(ref['baseline'])} | {spread(hw)} | "
                f"{spread(co)} | {hw['feasible_trials']:.1f} / {co['feasible_trials']:.1f} | "
                f"{_pct(co['mean'], ref['baseline'])} | {_pct(co['mean'], hw['mean'])} | "
                f"{_num(ref['baseline_mapped'])} ({_pct(ref['baseline_mapped'], ref['baseline'])})"
                f" | {_num(c['hw_then_map'])} (co-design vs it: "
                f"{_pct(co['mean'], c['hw_then_map'])}) |")
    return lines


def plot(runs: list[dict], references: dict, workloads, strategies, path: Path) -> None:
    fig, axes = plt.subplots(1, len(workloads), figsize=(4.2 * len(workloads), 3.6),
                             squeeze=False)
    colours = {("auto", "gp"): "tab:blue", ("auto", "nsga2"): "tab:cyan",
               ("scalesim", "gp"): "tab:red", ("scalesim", "nsga2"): "tab:orange"}
    labels = {"auto": "co-design", "scalesim": "HW-only"}
    for ax, w in zip(axes[0], workloads):
        for arm in ARMS:
            for s in strategies:
                curves = [r["curve"] for r in runs
                          if (r["workload"], r["mapping"], r["strategy"]) == (w, arm, s)]
                if not curves:
                    continue
                n = len(curves[0])
                x, med, lo, hi = [], [], [], []
                for i in range(n):
                    values = [c[i] for c in curves if c[i] is not None]
                    if len(values) == len(curves):  # every seed has a feasible point
                        x.append(i + 1)
                        med.append(statistics.median(values))
                        lo.append(min(values))
                        hi.append(max(values))
                colour = colours.get((arm, s), None)
                ax.plot(x, med, "-" if arm == "auto" else "--", color=colour, lw=1.4,
                        label=f"{labels[arm]}, {s}")
                ax.fill_between(x, lo, hi, color=colour, alpha=0.12, lw=0)
        ax.axhline(references[w]["baseline"], color="k", lw=1, ls=":",
                   label="eyeriss, SCALE-Sim (baseline)")
        ax.axhline(references[w]["baseline_mapped"], color="0.5", lw=1, ls="-.",
                   label="eyeriss + mapper")
        ax.set_yscale("log")
        ax.set_title(w)
        ax.set_xlabel("trial")
    axes[0][0].set_ylabel("best feasible EDP so far (pJ x cycles)")
    axes[0][0].legend(fontsize=6.5)
    fig.suptitle("Median over seeds (band: min-max), from the trial where every seed has a "
                 "feasible point", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_json(path: Path, meta: dict, runs: list[dict]) -> None:
    """Valid JSON with one line per run (its trials are a few hundred numbers)."""
    body = ",\n".join("  " + json.dumps(r) for r in runs)
    head = json.dumps(meta, indent=1)[:-2]  # drop the closing "\n}"
    path.write_text(f"{head},\n \"runs\": [\n{body}\n ]\n}}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=60, help="trials per search (60)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per arm (3)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated built-in networks")
    parser.add_argument("--strategies", default=",".join(STRATEGIES),
                        help="comma-separated hwloop search samplers (gp,nsga2)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes per search (run_search's workers; 1)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output stem (default benchmarks/results/study_codesign_<date>)")
    args = parser.parse_args()
    workloads = args.workloads.split(",")
    strategies = args.strategies.split(",")
    unknown = [w for w in workloads if w not in list_networks()]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(list_networks())}")

    started = time.perf_counter()
    base = get_preset(BASE)
    area = area_mm2(base)
    references = {}
    for w in workloads:
        network = builtin_network(w)
        references[w] = {
            "baseline": simulate_totals(network, base)["edp"],
            # bandwidth is free in the space (no area or energy), so check the baseline is not
            # handicapped by the preset's stall-free DRAM: it equals the space's best bandwidth
            "baseline_bw64": simulate_totals(network, base.with_overrides(bandwidth=64))["edp"],
            "baseline_mapped": simulate_totals(network, base, mapping="auto",
                                               optimize="edp")["edp"],
        }
    jobs = [(w, arm, s, seed) for w in workloads for arm in ARMS for s in strategies
            for seed in range(args.seeds)]
    runs = []
    for w, arm, s, seed in tqdm(jobs, desc="study", unit="search", file=sys.stderr):
        run = search(w, arm, s, seed, args.trials, area, args.workers)
        if arm == "scalesim":
            run["mapped_afterwards"] = mapped_afterwards(run, base)
        runs.append(run)
    seconds = time.perf_counter() - started
    cells = summary(runs, references, workloads, strategies)
    today = datetime.date.today().isoformat()
    lines = [f"# Co-design study ({today})", "",
             f"EDP, {args.trials} trials per search, seeds 0-{args.seeds - 1}, "
             f"{', '.join(strategies)}; area <= {area:.4f} mm^2 (the eyeriss preset's); "
             f"{len(runs)} searches in {seconds / 60:.1f} min on {platform.machine()}, "
             f"--workers {args.workers}. Improvement = mean best EDP of the co-design arm "
             "(mapping = auto) over the other's (negative = lower EDP).", "",
             *tables(cells, references, workloads, strategies, args.trials), "", NOTES]
    text = "\n".join(lines)
    print(text)
    stem = args.out or RESULTS / f"study_codesign_{today}"
    stem.parent.mkdir(parents=True, exist_ok=True)
    meta = {"date": today, "args": {k: (str(v) if isinstance(v, Path) else v)
                                    for k, v in vars(args).items()},
            "space": SPACE.replace("AREA", repr(area)), "base_preset": BASE, "area_mm2": area,
            "references": references, "summary": cells, "seconds": round(seconds, 1),
            "machine": platform.machine()}
    write_json(stem.with_suffix(".json"), meta, runs)
    stem.with_suffix(".md").write_text(text + "\n")
    plot(runs, references, workloads, strategies, stem.with_suffix(".png"))
    print(f"wrote {stem}.json, .md, .png ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
