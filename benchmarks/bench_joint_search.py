#!/usr/bin/env python3
"""Joint network x accelerator search against network-first-then-hardware, on digits.

The joint space is the CNN family (depth, width, kernel, weight/act bits) times the hardware
(array kind systolic/bitfusion, rows, cols, dataflow); the objectives are held-out digits
accuracy (trained for real in torch) and energy (simulated for the network on that hardware).

- (A) joint: NSGA-II over the whole space, ``--budget`` trials.
- (B) sequential, the same total budget: TPE searches the network alone for accuracy on the
  fixed default accelerator (half the budget); the best-accuracy network is kept (ties: fewest
  MACs); TPE then searches the hardware alone for energy with that network (the other half).

For each seed it reports the joint Pareto front, the sequential design, and whether a joint
design dominates it (accuracy >= and energy <). Needs torch, scikit-learn and optuna.

Usage: ``python benchmarks/bench_joint_search.py [--budget 120] [--seeds 0 1 2]
[--out benchmarks/results/bench_joint_search_DATE]``
"""
from __future__ import annotations

import argparse
import json
import pathlib
import tempfile
import time

from hwloop.search import load_space, run_search
from hwloop.search._network_space import build_network, net_spec

ROOT = pathlib.Path(__file__).resolve().parents[1]
NETWORK = {"net_depth": [1, 2, 3], "net_width": [4, 8, 16, 32], "net_kernel": [1, 3],
           "weight_bits": [2, 4, 8], "act_bits": [2, 4, 8]}
#: Accuracy a joint design may give up and still be reported as "within 1 pp".
NEAR = 0.01
HARDWARE = {"array_kind": ["systolic", "bitfusion"], "rows": [4, 8, 16, 32],
            "cols": [4, 8, 16, 32], "dataflow": ["os", "ws", "is"]}


def space_file(folder: pathlib.Path, name: str, params: dict[str, list]) -> pathlib.Path:
    path = folder / f"{name}.toml"
    path.write_text("".join(f"[params.{k}]\nvalues = {json.dumps(v)}\n" for k, v in
                            params.items()))
    return path


def joint(folder: pathlib.Path, budget: int, seed: int) -> dict:
    space = load_space(space_file(folder, "joint", {**NETWORK, **HARDWARE}))
    result = run_search(space, None, ["accuracy", "energy"], "nsga2", budget, seed=seed,
                        out_dir=folder / "joint")
    nets = {tuple(r[k] for k in NETWORK) for r in result.trials}
    return {"front": [_design(r) for r in result.pareto], "trials": len(result.trials),
            "networks_trained": len(nets), "seconds": result.seconds}


def sequential(folder: pathlib.Path, budget: int, seed: int) -> dict:
    first = budget // 2
    space = load_space(space_file(folder, "network", NETWORK))
    stage1 = run_search(space, None, ["accuracy"], "tpe", first, seed=seed,
                        out_dir=folder / "seq-network")
    best_acc = max(r["accuracy"] for r in stage1.trials if r["feasible"])
    tied = [r for r in stage1.trials if r["feasible"] and r["accuracy"] == best_acc]
    net = min(tied, key=lambda r: build_network(net_spec(r)).macs)
    fixed = {k: [net[k]] for k in NETWORK}
    space = load_space(space_file(folder, "hardware", {**fixed, **HARDWARE}))
    stage2 = run_search(space, None, ["energy"], "tpe", budget - first, seed=seed,
                        out_dir=folder / "seq-hardware")
    design = {**_design(stage2.best), "accuracy": net["accuracy"]}  # hardware cannot change it
    return {"design": design, "network_trials": len(stage1.trials),
            "hardware_trials": len(stage2.trials),
            "seconds": stage1.seconds + stage2.seconds}


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
    parser.add_argument("--budget", type=int, default=120)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--report", type=pathlib.Path, metavar="JSON",
                        help="only rewrite the report of an earlier run's JSON (same stem)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results" /
                        f"bench_joint_search_{time.strftime('%Y-%m-%d')}")
    args = parser.parse_args()
    if args.report:
        summary = json.loads(args.report.read_text())
        for run in summary["runs"]:
            run["comparison"] = compare(run["joint"]["front"], run["sequential"]["design"])
        write(summary, args.report.with_suffix(""))
        return 0
    runs = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            folder = pathlib.Path(tmp)
            a, b = joint(folder, args.budget, seed), sequential(folder, args.budget, seed)
        runs.append({"seed": seed, "joint": a, "sequential": b,
                     "comparison": compare(a["front"], b["design"])})
        print(report_seed(runs[-1]), flush=True)
    summary = {"budget": args.budget, "network_space": NETWORK, "hardware_space": HARDWARE,
               "runs": runs, "dominated_in": sum(r["comparison"]["dominated"] for r in runs)}
    write(summary, args.out)
    return 0


def write(summary: dict, out: pathlib.Path) -> None:
    runs = summary["runs"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_name(out.name + ".json").write_text(json.dumps(summary, indent=2) + "\n")
    text = "\n\n".join(report_seed(r) for r in runs)
    text += (f"\n\njoint dominates the network-first design in {summary['dominated_in']} of "
             f"{len(runs)} seeds (budget {summary['budget']} trials each way)\n")
    out.with_name(out.name + ".txt").write_text(text)
    print(text.splitlines()[-1])


def report_seed(run: dict) -> str:
    seq, cmp_ = run["sequential"]["design"], run["comparison"]
    lines = [f"seed {run['seed']}: joint front ({len(run['joint']['front'])} designs, "
             f"{run['joint']['networks_trained']} networks trained, "
             f"{run['joint']['seconds']:.0f} s); sequential {run['sequential']['seconds']:.0f} s",
             f"  {'accuracy':>8} {'energy_pJ':>12}  design"]
    for d in run["joint"]["front"]:
        lines.append(f"  {d['accuracy']:8.4f} {d['energy']:12.4g}  {_name(d)}")
    lines.append(f"  sequential: {seq['accuracy']:.4f} {seq['energy']:.4g}  {_name(seq)}")
    if cmp_["dominated"]:
        d = cmp_["best_dominating"]
        lines.append(f"  dominated by {cmp_['dominating_designs']} joint design(s); best "
                     f"{d['accuracy']:.4f} at {cmp_['energy_ratio']:.3f}x the energy")
    else:
        lines.append("  not dominated by any joint design")
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
