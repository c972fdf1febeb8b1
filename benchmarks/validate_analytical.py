#!/usr/bin/env python3
"""hwloop's analytical model against its cycle-level engine over random design points.

Draws ``--points`` (layer, array, dataflow, bandwidth) points: layers from ResNet-18, AlexNet
and MobileNet-V2, arrays 8..128 on a side, OS/WS/IS, buffers 16/64/256 KiB, and half the
points stall-free (unlimited DRAM), half at 1..64 words per cycle per port with 0 or 20
cycles of DRAM latency. Each point runs through ``hwloop.sim.simulate_layer`` and
``hwloop.sim.analytical.analytical_model``; the report gives MAPE, worst case and Kendall
tau overall, per dataflow and per regime, sorts the finite-bandwidth misses by cause (DRAM
traffic estimate off, or timing: the engine's double-buffer blocks versus the roofline),
lists the worst points, and times the vectorised model on a million random pairs.

    # writes benchmarks/results/validate_analytical.{txt,csv,png}
    python benchmarks/validate_analytical.py
    python benchmarks/validate_analytical.py --points 100 --out /tmp/v   # a quick look
"""
from __future__ import annotations

import argparse
import pathlib
import random
import sys
import time

import numpy as np
import pandas as pd

from hwloop.arch import get_preset
from hwloop.sim import simulate_layer
from hwloop.sim.analytical import INPUTS, analytical_arrays, analytical_model, kendall_tau
from hwloop.traces import builtin_network

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
NETWORKS = ("resnet18", "alexnet", "mobilenet_v2")
SIDES = (8, 12, 16, 24, 32, 48, 64, 96, 128)
BANDWIDTHS = (1, 2, 4, 8, 16, 32, 64)
#: A traffic estimate within this share of the engine's counts as right (cause analysis).
TRAFFIC_OK = 0.10


def draw_points(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    layers = [(net, layer) for net in NETWORKS for layer in builtin_network(net).layers]
    points = []
    for i in range(count):
        net, layer = rng.choice(layers)
        finite = i % 2 == 1
        points.append({"network": net, "layer": layer, "rows": rng.choice(SIDES),
                       "cols": rng.choice(SIDES), "dataflow": rng.choice(("os", "ws", "is")),
                       "kb": rng.choice((16, 64, 256)),
                       "bandwidth": rng.choice(BANDWIDTHS) if finite else None,
                       "latency": rng.choice((0, 20)) if finite else 0})
    return points


def run_points(points: list[dict]) -> pd.DataFrame:
    base = get_preset("scalesim_default")
    rows = []
    for p in points:
        accel = base.with_overrides(rows=p["rows"], cols=p["cols"], dataflow=p["dataflow"],
                                    ifmap_kb=p["kb"], filter_kb=p["kb"], ofmap_kb=p["kb"],
                                    bandwidth=p["bandwidth"], dram_latency=p["latency"] or None)
        sim = simulate_layer(p["layer"], accel)
        est = analytical_model(p["layer"], accel).iloc[0]
        rows.append({"network": p["network"], "layer": p["layer"].name,
                     "kind": p["layer"].kind.value, "rows": p["rows"], "cols": p["cols"],
                     "dataflow": p["dataflow"], "buffer_kb": p["kb"],
                     "bandwidth": p["bandwidth"] or 0, "dram_latency": p["latency"],
                     "regime": "finite" if p["bandwidth"] else "stall-free",
                     "simulated": sim["total_cycles"], "predicted": float(est["total_cycles"]),
                     "compute": int(est["compute_cycles"]), "memory": float(est["memory_cycles"]),
                     "stall_cycles": sim["stall_cycles"],
                     "sim_ifmap": sim["dram_ifmap_reads"], "est_ifmap": int(est["dram_ifmap_reads"]),
                     "sim_filter": sim["dram_filter_reads"],
                     "est_filter": int(est["dram_filter_reads"]),
                     "sim_energy_pj": sim["energy_pj"], "est_energy_pj": float(est["energy_pj"])})
    frame = pd.DataFrame(rows)
    frame["error_pct"] = (frame["predicted"] - frame["simulated"]) / frame["simulated"] * 100
    frame["energy_error_pct"] = ((frame["est_energy_pj"] - frame["sim_energy_pj"])
                                 / frame["sim_energy_pj"] * 100)
    traffic = np.maximum(_rel(frame["est_ifmap"], frame["sim_ifmap"]),
                         _rel(frame["est_filter"], frame["sim_filter"]))
    frame["traffic_error"] = traffic
    frame["cause"] = np.where(frame["regime"] == "stall-free", "exact (closed form)",
                              np.where(traffic > TRAFFIC_OK, "DRAM traffic estimate",
                                       "timing (blocks vs roofline)"))
    return frame


def _rel(est, sim):
    return (est - sim).abs() / sim.clip(lower=1)


def _stats(frame: pd.DataFrame) -> str:
    err = frame["error_pct"].abs()
    tau = kendall_tau(list(frame["predicted"]), list(frame["simulated"]))
    return (f"{len(frame):5d} points  MAPE {err.mean():7.2f}%  median {err.median():6.2f}%  "
            f"worst {err.max():8.2f}%  within 10%: {100 * (err <= 10).mean():5.1f}%  "
            f"tau {tau if tau is None else round(tau, 4)}  "
            f"energy MAPE {frame['energy_error_pct'].abs().mean():6.2f}%")


def throughput(pairs: int = 1_000_000, repeats: int = 3, seed: int = 0) -> float:
    """Pairs per minute of the vectorised model (cycles, traffic and all), best of a few."""
    rng = np.random.default_rng(seed)
    fh = rng.choice([1, 3, 5, 7], pairs)
    inputs = {"ifmap_h": fh + rng.integers(0, 224, pairs), "ifmap_w": fh + rng.integers(0, 224, pairs),
              "filter_h": fh, "filter_w": fh, "channel_group": rng.integers(1, 1024, pairs),
              "num_filters": rng.integers(1, 1024, pairs), "stride_h": rng.integers(1, 3, pairs),
              "stride_w": rng.integers(1, 3, pairs), "groups": 1,
              "rows": rng.integers(8, 129, pairs), "cols": rng.integers(8, 129, pairs),
              "dataflow": rng.integers(0, 3, pairs), "ifmap_words": 65536, "filter_words": 65536,
              "ofmap_words": 65536, "active_fraction": 0.5,
              "ifmap_bw": rng.choice([np.inf, 1.0, 8.0, 64.0], pairs), "filter_bw": 8.0,
              "ofmap_bw": 8.0, "latency": 20}
    assert set(inputs) == set(INPUTS)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        analytical_arrays(**inputs)
        best = min(best, time.perf_counter() - start)
    return pairs / best * 60


def write_plot(frame: pd.DataFrame, path: pathlib.Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 5), layout="constrained")
    axes = fig.subplots(1, 2)
    colors = {"os": "tab:blue", "ws": "tab:orange", "is": "tab:green"}
    for ax, regime in zip(axes, ("stall-free", "finite")):
        part = frame[frame["regime"] == regime]
        for df, color in colors.items():
            sel = part[part["dataflow"] == df]
            ax.scatter(sel["simulated"], sel["predicted"], s=10, alpha=0.6, color=color,
                       label=df.upper())
        lo, hi = frame[["simulated", "predicted"]].min().min() / 1.5, \
            frame[["simulated", "predicted"]].max().max() * 1.5
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, label="y = x")
        ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi),
               xlabel="simulated cycles (cycle level)", ylabel="analytical cycles",
               title=f"{regime}: MAPE {part['error_pct'].abs().mean():.2f}%, "
                     f"worst {part['error_pct'].abs().max():.1f}%")
        ax.legend(loc="upper left", fontsize="small")
    fig.savefig(path, dpi=110)


def report(frame: pd.DataFrame, rate: float, seed: int) -> str:
    lines = [f"hwloop analytical model vs cycle-level engine: {len(frame)} random points "
             f"(seed {seed}; layers of {', '.join(NETWORKS)}; arrays {SIDES[0]}..{SIDES[-1]}; "
             "OS/WS/IS; buffers 16/64/256 KiB; stall-free, or 1..64 words/cycle/port with "
             "0 or 20 cycles latency)", "",
             "Latency = total_cycles (the engine counts from the first compute cycle; the "
             "prefetch of the first block is apart in both).", "",
             f"overall      {_stats(frame)}"]
    for regime in ("stall-free", "finite"):
        lines.append(f"{regime:12s} {_stats(frame[frame['regime'] == regime])}")
    lines.append("")
    for regime in ("stall-free", "finite"):
        for df in ("os", "ws", "is"):
            part = frame[(frame["regime"] == regime) & (frame["dataflow"] == df)]
            lines.append(f"{regime:10s} {df.upper()}  {_stats(part)}")
    finite = frame[frame["regime"] == "finite"]
    lines += ["", "Finite bandwidth, by cause (traffic estimate off by more than "
              f"{100 * TRAFFIC_OK:.0f}% on ifmap or filter, else timing):"]
    for cause, part in finite.groupby("cause"):
        err = part["error_pct"]
        lines.append(f"  {cause:28s} {len(part):4d} points  MAPE {err.abs().mean():6.2f}%  "
                     f"mean signed {err.mean():+6.2f}%  worst {err.abs().max():7.2f}%")
    stalled = finite[finite["stall_cycles"] > 0]
    lines.append(f"  points where the engine stalls: {len(stalled)}; the roofline says "
                 f"memory-bound at {int((finite['memory'] > finite['compute']).sum())}")
    lines += ["", "Ifmap/filter DRAM traffic estimate vs the engine's buffer walk (all points):",
              f"  ifmap  MAPE {100 * _rel(frame['est_ifmap'], frame['sim_ifmap']).mean():6.2f}%  "
              f"filter MAPE {100 * _rel(frame['est_filter'], frame['sim_filter']).mean():6.2f}%"]
    for df in ("os", "ws", "is"):
        part = frame[frame["dataflow"] == df]
        lines.append(f"  {df.upper()}: ifmap {100 * _rel(part['est_ifmap'], part['sim_ifmap']).mean():6.2f}%"
                     f"  filter {100 * _rel(part['est_filter'], part['sim_filter']).mean():6.2f}%")
    lines += ["", "Worst 12 points:"]
    worst = frame.reindex(frame["error_pct"].abs().sort_values(ascending=False).index).head(12)
    cols = ["layer", "kind", "rows", "cols", "dataflow", "buffer_kb", "bandwidth",
            "dram_latency", "simulated", "predicted", "error_pct", "compute", "memory",
            "sim_ifmap", "est_ifmap", "sim_filter", "est_filter", "cause"]
    lines.append(worst[cols].to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    lines += ["", f"Throughput of the vectorised model (numpy, one core, 1,000,000 random "
              f"pairs, best of 3): {rate:,.0f} layer x array pairs per minute"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "validate_analytical"),
                        help="output prefix (.txt, .csv, .png)")
    args = parser.parse_args()
    start = time.perf_counter()
    frame = run_points(draw_points(args.points, args.seed))
    rate = throughput()
    text = report(frame, rate, args.seed)
    text += f"(whole run {time.perf_counter() - start:.0f} s)\n"
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".txt").write_text(text)
    frame.to_csv(out.with_suffix(".csv"), index=False)
    write_plot(frame, out.with_suffix(".png"))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
