#!/usr/bin/env python3
"""Hardware-aware NAS with plug-ins: a MobileNet-like family on a 32x32-class accelerator space.

The network family is ``examples/nas/mobilenet_family.py`` (inverted-residual blocks on
scikit-learn's 8x8 digits: ``depth``, width multiplier ``width``, depthwise ``kernel``,
``expansion``), named in the space file as a workload family; its accuracy is the plug-in
objective ``mobilenet_family:accuracy`` (trained for real on the digits, which ship with
scikit-learn: nothing is downloaded). The hardware is SCALE-Sim's 32x32 default with rows,
cols, dataflow, buffers and DRAM bandwidth searched, at most 1,024 PEs (``max_pes``).
Objectives: accuracy (maximised) and EDP (minimised). Three arms at equal budgets, per seed:

- **joint**: one two-objective TPE search over network x hardware (``--budget`` trials);
- **sequential** (network first, then hardware): TPE over the network alone for accuracy on
  the base accelerator (half the budget); the most accurate network (ties: fewest MACs) is
  kept; TPE over the hardware alone for EDP with that network (the other half);
- **predicted** (HAO-style): the joint search, but accuracy is
  ``accuracy_predictor:predicted_accuracy``, a scikit-learn regressor fitted on a fixed sample
  of measured networks; its designs are then scored with their measured accuracy.

Each arm's designs are scored on measured accuracy and simulated EDP: the hypervolume of
their Pareto front (accuracy x log10 EDP, against a reference point shared by all arms of a
run), whether a joint design dominates the sequential one, and how many networks the arm
trained. Every search and seed shares one cache of trained networks and simulated points
(copied in and out of each search's folder), so a network is trained once per run.

Usage: ``python benchmarks/study_nas.py [--budget 60] [--seeds 0 1 2]
[--out benchmarks/results/study_nas_DATE]`` (writes ``.json``, ``.md`` and ``.png``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import sys
import tempfile
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "nas"
sys.path[:0] = [str(EXAMPLES), str(ROOT / "benchmarks")]

from bench_joint_search import SharedCache  # noqa: E402

from hwloop.search import Oracle, load_space  # noqa: E402

NETWORK = {"depth": [1, 2, 3, 4], "width": [0.5, 1.0, 1.5, 2.0], "kernel": [3, 5, 7],
           "expansion": [1, 3, 6]}
HARDWARE = {"rows": [16, 32, 64], "cols": [16, 32, 64], "dataflow": ["os", "ws", "is"],
            "ifmap_kb": [16, 64], "filter_kb": [16, 64], "bandwidth": [4, 16]}
HEADER = """preset = "scalesim_default"
[workload]
family = "mobilenet_family:build"
[objectives.accuracy]
function = "mobilenet_family:accuracy"
direction = "maximize"
[objectives.predicted]
function = "accuracy_predictor:predicted_accuracy"
direction = "maximize"
[constraints]
max_pes = 1024
"""


def space_file(folder: pathlib.Path, name: str, params: dict[str, list]) -> pathlib.Path:
    path = folder / f"{name}.toml"
    path.write_text(HEADER + "".join(f"[params.{k}]\nvalues = {json.dumps(v)}\n"
                                     for k, v in params.items()))
    return path


def designs(rows: list[dict], accuracy: str = "accuracy") -> list[dict]:
    """The feasible trials as designs: network, hardware, accuracy, EDP."""
    keys = (*NETWORK, *HARDWARE)
    return [{**{k: r[k] for k in keys if k in r}, "accuracy": r[accuracy], "edp": r["edp"]}
            for r in rows if r["feasible"]]


def joint(folder, cache, budget: int, seed: int, accuracy: str) -> dict:
    space = load_space(space_file(folder, f"joint-{accuracy}", {**NETWORK, **HARDWARE}))
    result = cache.search(space, [accuracy, "edp"], "tpe", budget, seed,
                          folder / f"joint-{accuracy}")
    found = designs(result.trials, accuracy)
    return {"designs": found, "networks": len({_net(d) for d in found}),
            "seconds": result.seconds}


def sequential(folder, cache, budget: int, seed: int) -> dict:
    first = budget // 2
    space = load_space(space_file(folder, "network", NETWORK))
    stage1 = cache.search(space, ["accuracy"], "tpe", first, seed, folder / "seq-network")
    net = best_network(stage1.trials)
    fixed = {k: [net[k]] for k in NETWORK}
    space = load_space(space_file(folder, "hardware", {**fixed, **HARDWARE}))
    stage2 = cache.search(space, ["edp"], "tpe", budget - first, seed, folder / "seq-hardware")
    oracle = Oracle(None, space.base_accelerator(), cache.path, family=space.family)
    found = [{**r, "edp": oracle.evaluate(r)["edp"]} for r in stage1.trials if r["feasible"]]
    found = designs(found) + designs([{**r, "accuracy": net["accuracy"]}
                                      for r in stage2.trials])
    oracle.close()
    design = {**{k: stage2.best[k] for k in (*NETWORK, *HARDWARE)}, "accuracy": net["accuracy"],
              "edp": stage2.best["edp"]}
    return {"designs": found, "design": design, "networks": len({_net(d) for d in found}),
            "seconds": stage1.seconds + stage2.seconds}


def best_network(rows: list[dict]) -> dict:
    """The most accurate network of the first stage; ties go to the one with fewest MACs."""
    import mobilenet_family

    from hwloop.traces import network_from_torch

    feasible = [r for r in rows if r["feasible"]]
    top = max(r["accuracy"] for r in feasible)
    tied = [r for r in feasible if r["accuracy"] == top]
    return min(tied, key=lambda r: network_from_torch(*mobilenet_family.build(r)).macs)


def measured(found: list[dict]) -> list[dict]:
    """Predicted-accuracy designs scored with their measured accuracy (cached per network
    in this process; the predictor's own sample is in its JSON cache)."""
    import mobilenet_family

    scored = []
    for d in found:
        key = _net(d)
        if key not in _MEASURED:
            _MEASURED[key] = mobilenet_family.accuracy({k: d[k] for k in NETWORK})
        scored.append({**d, "predicted": d["accuracy"], "accuracy": _MEASURED[key]})
    return scored


_MEASURED: dict[tuple, float] = {}


def predictor_sample() -> list[dict]:
    import accuracy_predictor

    count = int(os.environ.get("HWLOOP_NAS_TRAIN_POINTS", accuracy_predictor.TRAIN_POINTS))
    return accuracy_predictor.training_sample(count)


def front(found: list[dict]) -> list[dict]:
    """Designs no other design beats on both accuracy (up) and EDP (down)."""
    ranked = sorted(found, key=lambda d: (-d["accuracy"], d["edp"]))
    kept: list[dict] = []
    for d in ranked:
        if not kept or d["edp"] < kept[-1]["edp"]:
            kept.append(d)
    return kept


def hypervolume(points: list[dict], ref_accuracy: float, ref_log_edp: float) -> float:
    """Area the designs dominate in (accuracy up, log10 EDP down) from the reference point:
    over the front in rising accuracy (and rising EDP), each design adds the slab of
    accuracies between its predecessor's and its own, at its own EDP."""
    area, last = 0.0, ref_accuracy
    for d in sorted(front(points), key=lambda d: d["accuracy"]):
        log_edp = math.log10(d["edp"])
        if d["accuracy"] > last and log_edp < ref_log_edp:
            area += (d["accuracy"] - last) * (ref_log_edp - log_edp)
            last = d["accuracy"]
    return area


def _net(d: dict) -> tuple:
    return tuple(d[k] for k in NETWORK)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=60, help="trials of each arm")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results" /
                        f"study_nas_{time.strftime('%Y-%m-%d')}")
    args = parser.parse_args()
    started = time.perf_counter()
    runs = []
    scratch = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        os.environ.setdefault("HWLOOP_NAS_CACHE", str(pathlib.Path(tmp) / "predictor.json"))
        cache = SharedCache(pathlib.Path(tmp) / "shared-cache.db")
        for seed in args.seeds:
            folder = pathlib.Path(tmp) / f"seed{seed}"
            folder.mkdir()
            a = joint(folder, cache, args.budget, seed, "accuracy")
            b = sequential(folder, cache, args.budget, seed)
            c = joint(folder, cache, args.budget, seed, "predicted")
            c["designs"] = measured(c["designs"])
            # what the search trained: the predictor's sample (the rest is only scored)
            c["networks"] = len(predictor_sample())
            runs.append({"seed": seed, "joint": a, "sequential": b, "predicted": c})
            print(f"seed {seed}: {time.perf_counter() - started:.0f} s", flush=True)
    summary = score(runs)
    summary.update(budget=args.budget, seeds=args.seeds, network_space=NETWORK,
                   hardware_space=HARDWARE, seconds=time.perf_counter() - started,
                   machine=_machine())
    write(summary, runs, args.out)
    return 0


ARMS = ("joint", "sequential", "predicted")
#: Accuracy a design may give up against the network-first design and still count as "as
#: accurate" (1 percentage point).
NEAR = 0.01


def score(runs: list[dict]) -> dict:
    """Hypervolumes against one reference point for every arm and seed, and dominance of
    the sequential design."""
    every = [d for run in runs for arm in ARMS for d in run[arm]["designs"]]
    ref_accuracy = min(d["accuracy"] for d in every) - 0.01
    ref_log_edp = max(math.log10(d["edp"]) for d in every) + 0.1
    rows = []
    for run in runs:
        row: dict[str, Any] = {"seed": run["seed"]}
        for arm in ARMS:
            row[f"{arm}_hv"] = hypervolume(run[arm]["designs"], ref_accuracy, ref_log_edp)
            row[f"{arm}_networks"] = run[arm]["networks"]
            row[f"{arm}_best_accuracy"] = max(d["accuracy"] for d in run[arm]["designs"])
        seq = run["sequential"]["design"]
        beating = [d for d in run["joint"]["designs"]
                   if d["accuracy"] >= seq["accuracy"] and d["edp"] < seq["edp"]]
        row["sequential_design"] = seq
        row["joint_dominates_sequential"] = bool(beating)
        row["best_dominating_edp_ratio"] = (min(d["edp"] for d in beating) / seq["edp"]
                                            if beating else None)
        for arm in ("joint", "predicted"):  # the cheapest design within 1 pp of seq's accuracy
            near = [d for d in run[arm]["designs"] if d["accuracy"] >= seq["accuracy"] - NEAR]
            row[f"{arm}_within_1pp_edp_ratio"] = (min(d["edp"] for d in near) / seq["edp"]
                                                  if near else None)
        row["fronts"] = {arm: front(run[arm]["designs"]) for arm in ARMS}
        rows.append(row)
    return {"reference": {"accuracy": ref_accuracy, "log10_edp": ref_log_edp}, "runs": rows}


def write(summary: dict, runs: list[dict], out: pathlib.Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_name(out.name + ".json").write_text(json.dumps(summary, indent=1, default=str))
    lines = [f"# NAS study: MobileNet-like family x 32x32-class accelerator ({time.strftime('%Y-%m-%d')})",
             "", f"Budget {summary['budget']} trials per arm, seeds {summary['seeds']}, "
             f"{summary['seconds']:.0f} s in all; machine: {summary['machine']}.", "",
             "Hypervolume of each arm's designs in (measured accuracy, log10 EDP), one "
             "reference point for all (higher is better); networks the arm trained (for "
             "`predicted`: its predictor's sample; its designs are scored with measured "
             "accuracy afterwards); does a joint design dominate the network-first design?",
             "",
             "`within 1 pp`: EDP of the arm's cheapest design at most 1 percentage point less "
             "accurate than the network-first design, over that design's EDP.", "",
             "| seed | joint HV | sequential HV | predicted HV | joint nets | seq nets | "
             "pred nets | joint dominates seq | best dominating EDP / seq EDP | joint within "
             "1 pp | predicted within 1 pp |",
             "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in summary["runs"]:
        ratio = r["best_dominating_edp_ratio"]
        lines.append(f"| {r['seed']} | {r['joint_hv']:.4f} | {r['sequential_hv']:.4f} | "
                     f"{r['predicted_hv']:.4f} | {r['joint_networks']} | "
                     f"{r['sequential_networks']} | {r['predicted_networks']} | "
                     f"{'yes' if r['joint_dominates_sequential'] else 'no'} | "
                     f"{_ratio(ratio)} | {_ratio(r['joint_within_1pp_edp_ratio'])} | "
                     f"{_ratio(r['predicted_within_1pp_edp_ratio'])} |")
    for arm in ARMS:
        values = [r[f"{arm}_hv"] for r in summary["runs"]]
        mean = sum(values) / len(values)
        lines.append(f"\n{arm}: mean hypervolume {mean:.4f} (min {min(values):.4f}, "
                     f"max {max(values):.4f})")
    out.with_name(out.name + ".md").write_text("\n".join(lines) + "\n")
    _plot(summary, runs, out.with_name(out.name + ".png"))
    print("\n".join(lines))


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _plot(summary: dict, runs: list[dict], path: pathlib.Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(runs), 4), layout="constrained")
    axes = fig.subplots(1, len(runs), squeeze=False)[0]
    for ax, run, row in zip(axes, runs, summary["runs"]):
        for arm, colour in zip(ARMS, ("C3", "C0", "C2")):
            pts = row["fronts"][arm]
            ax.step([d["edp"] for d in pts], [d["accuracy"] for d in pts], "o-",
                    where="post", color=colour, label=f"{arm} ({row[f'{arm}_hv']:.3f})")
        seq = row["sequential_design"]
        ax.plot([seq["edp"]], [seq["accuracy"]], "k*", ms=12, label="network-first design")
        ax.set_xscale("log")
        ax.set_xlabel("EDP (pJ x cycles)")
        ax.set_ylabel("measured accuracy")
        ax.set_title(f"seed {run['seed']}")
        ax.legend(fontsize="small")
        ax.grid(True, alpha=0.3)
    fig.savefig(path, dpi=110)


def _machine() -> str:
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}")


if __name__ == "__main__":
    raise SystemExit(main())
