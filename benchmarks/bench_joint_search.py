#!/usr/bin/env python3
"""Joint network x accelerator search against network-first-then-hardware, on digits.

The joint space is the CNN family (depth, width, kernel, weight/act bits) times the hardware
(array kind systolic/bitfusion, rows, cols, dataflow); the objectives are held-out digits
accuracy (trained for real in torch) and energy (simulated for the network on that hardware).
Both arms search the same CNN family (:data:`NETWORK`) and run the same number of trials:

- (A) joint: one two-objective search over the whole space, ``--budget`` trials, with
  ``--sampler`` (default :data:`JOINT_SAMPLER`, Optuna's multi-objective TPE).
- (B) sequential: TPE searches the network alone for accuracy on the fixed default
  accelerator (half the budget); the best-accuracy network is kept (ties: fewest MACs, then
  fewest weight + activation bits, i.e. the cheapest of the tied networks); TPE then searches
  the hardware alone for energy with that network (the other half).

For each seed it reports the joint Pareto front, the sequential design, whether a joint
design dominates it (accuracy >= and energy <) and the cheapest joint design that does.
Accuracy depends only on the network (a fixed training seed), and the simulator is
deterministic, so both arms and all seeds share one cache of trained networks and simulated
points: a network is trained once per run of this script, and no arm sees another's trials.
Needs torch, scikit-learn and optuna.

Usage: ``python benchmarks/bench_joint_search.py [--budget 120] [--seeds 0 1 2 3 4]
[--sampler tpe] [--out benchmarks/results/bench_joint_search_DATE]``
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sqlite3
import tempfile
import time

from hwloop.search import load_space, run_search
from hwloop.search.plugins.digits._network_space import build_network, net_spec

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: The CNN family both arms search. Width 64 is in it: an accuracy-only search often keeps a
#: wide network that is no more accurate than a narrower, cheaper one.
NETWORK = {"net_depth": [1, 2, 3], "net_width": [4, 8, 16, 32, 64], "net_kernel": [1, 3],
           "weight_bits": [2, 4, 8], "act_bits": [2, 4, 8]}
HARDWARE = {"array_kind": ["systolic", "bitfusion"], "rows": [4, 8, 16, 32],
            "cols": [4, 8, 16, 32], "dataflow": ["os", "ws", "is"]}
#: The joint arm's sampler (a name of ``hwloop.search``'s strategies).
JOINT_SAMPLER = "tpe"
#: Accuracy a joint design may give up and still be reported as "within 1 pp".
NEAR = 0.01
CACHE_NAME = "cache.db"  # the oracle's store inside each search's folder


def space_file(folder: pathlib.Path, name: str, params: dict[str, list]) -> pathlib.Path:
    path = folder / f"{name}.toml"
    path.write_text("".join(f"[params.{k}]\nvalues = {json.dumps(v)}\n" for k, v in
                            params.items()))
    return path


class SharedCache:
    """One oracle store (trained accuracies, simulated points) for every search of a run:
    copied into a search's folder before it starts and copied back after it ends (the
    searches run one after another). Cached values are the values a search would compute, so
    sharing changes no result, only the time."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def search(self, space, objectives: list[str], sampler: str, trials: int, seed: int,
               out_dir: pathlib.Path):
        out_dir.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _copy_db(self.path, out_dir / CACHE_NAME)
        result = run_search(space, None, objectives, sampler, trials, seed=seed,
                            out_dir=out_dir)
        _copy_db(out_dir / CACHE_NAME, self.path)
        return result


def _copy_db(source: pathlib.Path, target: pathlib.Path) -> None:
    """Copy an SQLite file (WAL included) with SQLite's backup API."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def joint(folder: pathlib.Path, cache: SharedCache, budget: int, seed: int,
          sampler: str) -> dict:
    space = load_space(space_file(folder, "joint", {**NETWORK, **HARDWARE}))
    result = cache.search(space, ["accuracy", "energy"], sampler, budget, seed,
                          folder / "joint")
    nets = {tuple(r[k] for k in NETWORK) for r in result.trials}
    return {"sampler": sampler, "front": [_design(r) for r in result.pareto],
            "trials": len(result.trials), "networks_visited": len(nets),
            "top_accuracy": max((r["accuracy"] for r in result.trials if r["feasible"]),
                                default=None),
            "seconds": result.seconds}


def sequential(folder: pathlib.Path, cache: SharedCache, budget: int, seed: int) -> dict:
    first = budget // 2
    space = load_space(space_file(folder, "network", NETWORK))
    stage1 = cache.search(space, ["accuracy"], "tpe", first, seed, folder / "seq-network")
    net = best_network(stage1.trials)
    fixed = {k: [net[k]] for k in NETWORK}
    space = load_space(space_file(folder, "hardware", {**fixed, **HARDWARE}))
    stage2 = cache.search(space, ["energy"], "tpe", budget - first, seed,
                          folder / "seq-hardware")
    design = {**_design(stage2.best), "accuracy": net["accuracy"]}  # hardware cannot change it
    return {"design": design, "network_trials": len(stage1.trials),
            "networks_visited": len({tuple(r[k] for k in NETWORK) for r in stage1.trials}),
            "hardware_trials": len(stage2.trials),
            "seconds": stage1.seconds + stage2.seconds}


def best_network(rows) -> dict:
    """The most accurate network of the first stage; ties go to the cheapest-looking one
    (fewest MACs, then fewest weight + activation bits), which is known without hardware."""
    feasible = [r for r in rows if r["feasible"]]
    best_acc = max(r["accuracy"] for r in feasible)
    tied = [r for r in feasible if r["accuracy"] == best_acc]
    return min(tied, key=lambda r: (build_network(net_spec(r)).macs,
                                    r["weight_bits"] + r["act_bits"], r["weight_bits"]))


def _design(row: dict) -> dict:
    keys = (*NETWORK, *HARDWARE, "accuracy", "energy")
    return {k: row[k] for k in keys if k in row}


def compare(front: list[dict], seq: dict) -> dict:
    dominating = [d for d in front if d["accuracy"] >= seq["accuracy"]
                  and d["energy"] < seq["energy"]]
    best = min(dominating, key=lambda d: d["energy"], default=None)
    near = min((d for d in front if d["accuracy"] >= seq["accuracy"] - NEAR),
               key=lambda d: d["energy"], default=None)
    return {"dominated": bool(dominating), "dominating_designs": len(dominating),
            "best_dominating": best,
            "energy_ratio": None if best is None else best["energy"] / seq["energy"],
            "best_within_1pp": near,
            "energy_ratio_within_1pp": None if near is None else near["energy"] / seq["energy"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=120,
                        help="trials of each arm (the sequential one splits them in half)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--sampler", default=JOINT_SAMPLER, help="the joint arm's sampler")
    parser.add_argument("--report", type=pathlib.Path, metavar="JSON",
                        help="only rewrite the report of an earlier run's JSON (same stem)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results" /
                        f"bench_joint_search_{time.strftime('%Y-%m-%d')}")
    args = parser.parse_args()
    if args.report:
        summary = json.loads(args.report.read_text())
        for run in summary["runs"]:
            run["comparison"] = compare(run["joint"]["front"], run["sequential"]["design"])
        summary["dominated_in"] = sum(r["comparison"]["dominated"] for r in summary["runs"])
        write(summary, args.report.with_suffix(""))
        return 0
    runs = []
    started = time.perf_counter()
    # /dev/shm where there is one: Optuna's SQLite storage commits every trial.
    scratch = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        cache = SharedCache(pathlib.Path(tmp) / "shared-cache.db")
        for seed in args.seeds:
            folder = pathlib.Path(tmp) / f"seed{seed}"
            folder.mkdir()
            a = joint(folder, cache, args.budget, seed, args.sampler)
            b = sequential(folder, cache, args.budget, seed)
            runs.append({"seed": seed, "joint": a, "sequential": b,
                         "comparison": compare(a["front"], b["design"])})
            print(report_seed(runs[-1]), flush=True)
    summary = {"budget": args.budget, "joint_sampler": args.sampler,
               "network_space": NETWORK, "hardware_space": HARDWARE,
               "seconds": time.perf_counter() - started, "runs": runs,
               "dominated_in": sum(r["comparison"]["dominated"] for r in runs)}
    write(summary, args.out)
    return 0


def write(summary: dict, out: pathlib.Path) -> None:
    runs = summary["runs"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_name(out.name + ".json").write_text(json.dumps(summary, indent=2) + "\n")
    text = "\n\n".join(report_seed(r) for r in runs)
    text += "\n\n" + "\n".join(table(runs))
    text += (f"\n\njoint dominates the network-first design in {summary['dominated_in']} of "
             f"{len(runs)} seeds (budget {summary['budget']} trials each way, joint sampler "
             f"{summary.get('joint_sampler', 'nsga2')})\n")
    out.with_name(out.name + ".txt").write_text(text)
    print(text.rstrip().splitlines()[-1])


def table(runs: list[dict]) -> list[str]:
    """One line per seed: the sequential design and the best joint design dominating it."""
    lines = [f"{'seed':>4} {'seq acc':>8} {'seq energy':>11}  {'dominated':>9} "
             f"{'joint acc':>9} {'joint energy':>12} {'ratio':>6}"]
    for run in runs:
        seq, cmp_ = run["sequential"]["design"], run["comparison"]
        best = cmp_["best_dominating"]
        tail = (f"{'yes':>9} {best['accuracy']:9.4f} {best['energy']:12.4g} "
                f"{cmp_['energy_ratio']:6.3f}" if best is not None else
                f"{'no':>9} {'-':>9} {'-':>12} {'-':>6}")
        lines.append(f"{run['seed']:>4} {seq['accuracy']:8.4f} {seq['energy']:11.4g}  {tail}")
    return lines


def report_seed(run: dict) -> str:
    seq, cmp_, joint_ = run["sequential"]["design"], run["comparison"], run["joint"]
    visited = joint_.get("networks_visited", joint_.get("networks_trained"))
    lines = [f"seed {run['seed']}: joint front ({len(joint_['front'])} designs, "
             f"{visited} networks visited, {joint_['seconds']:.0f} s); sequential "
             f"{run['sequential']['seconds']:.0f} s",
             f"  {'accuracy':>8} {'energy_pJ':>12}  design"]
    for d in joint_["front"]:
        lines.append(f"  {d['accuracy']:8.4f} {d['energy']:12.4g}  {_name(d)}")
    lines.append(f"  sequential: {seq['accuracy']:.4f} {seq['energy']:.4g}  {_name(seq)}")
    if cmp_["dominated"]:
        d = cmp_["best_dominating"]
        lines.append(f"  dominated: yes, by {cmp_['dominating_designs']} joint design(s); "
                     f"best {d['accuracy']:.4f} at {d['energy']:.4g} pJ, "
                     f"{cmp_['energy_ratio']:.3f}x the energy ({_name(d)})")
    else:
        lines.append("  dominated: no")
    near = cmp_["best_within_1pp"]
    if near is not None:
        lines.append(f"  cheapest joint design within 1 pp: {near['accuracy']:.4f} at "
                     f"{cmp_['energy_ratio_within_1pp']:.3f}x the energy")
    return "\n".join(lines)


def _name(d: dict) -> str:
    return (f"d{d['net_depth']} w{d['net_width']} k{d['net_kernel']} "
            f"{d['weight_bits']}w/{d['act_bits']}a | {d['array_kind']} "
            f"{d['rows']}x{d['cols']} {d['dataflow']}")


if __name__ == "__main__":
    raise SystemExit(main())
