"""(e) SCALE-Sim on a sample of the synthetic network, extrapolated to the whole network.

SCALE-Sim v3 needs hours for the few hundred layers of ``_synthetic.py`` at 32x32 (about
0.15-0.25 ms per simulated cycle), so it runs on ``K`` of them. The sample is stratified by MACs,
so it spans small and large layers. Layers whose estimated SCALE-Sim time fits the budget are
preferred. Measured here, in this run:

* SCALE-Sim per layer (the harness's ``layer_sim_s``), its ``wall_s`` and its start-up
  (``wall_s - run_scale_s``: interpreter, imports, parsing, reports) on the sample;
* hwloop on the same sampled layers, both steady state in-process and as a whole process;
* hwloop's per-layer counters against SCALE-Sim's (compat mode, as in (d)).

Extrapolated: SCALE-Sim on all ``N`` layers. That is SCALE-Sim's cost per simulated cycle on
the sample (sum of ``layer_sim_s`` / sum of ``total_cycles``) times the ``total_cycles`` that
hwloop computes for every layer, plus the start-up measured once. The ratio divides this by
hwloop's measured whole-process time on the full network from (c). Its lower variant uses the
sample's cheapest per-cycle cost instead. Both leave out SCALE-Sim's per-layer time outside
``layer_sim_s``, so they err on SCALE-Sim's side.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import _scalesim_compare as peer_cmp
from _synthetic import HEADER, Shape, synthetic_layers
from _timing import time_calls

ROWS = COLS = 32
DATAFLOW = "os"
#: Pessimistic SCALE-Sim cost per simulated cycle at 32x32 (measured 0.13-0.23 ms), used
#: only to pick the sample and to predict how long the run will take.
ASSUMED_S_PER_CYCLE = 2.5e-4
#: Preferred largest sampled layer (ResNet-18's largest is 118 MMACs).
PREFERRED_MAX_MACS = 64 * 2**20


def _accelerator():
    from hwloop.arch import get_preset

    return get_preset("scalesim_default").with_overrides(rows=ROWS, cols=COLS, dataflow=DATAFLOW)


def choose_sample(layers: list[tuple[str, Shape]], cycles: list[int], k: int, seed: int,
                  budget_s: float) -> list[int]:
    """Indices of ``k`` layers: one per MAC stratum, preferring layers that fit the budget.

    The layers are sorted by MACs and cut into ``k`` strata of (nearly) equal size. From each
    stratum a seeded draw picks one layer among those of at most ``PREFERRED_MAX_MACS`` whose
    estimated SCALE-Sim time is within ``budget_s / k``. A stratum with no such layer gives
    its layer with the fewest cycles. The result is in network order.
    """
    n = len(layers)
    if not 0 < k <= n:
        raise ValueError(f"--scalesim-sample {k}: need 1..{n} (the synthetic network's layers)")
    rng = random.Random(seed)
    cap = budget_s / k / ASSUMED_S_PER_CYCLE
    by_macs = sorted(range(n), key=lambda i: (layers[i][1].macs, i))
    chosen = []
    for s in range(k):
        stratum = by_macs[s * n // k:(s + 1) * n // k]
        fits = [i for i in stratum
                if layers[i][1].macs <= PREFERRED_MAX_MACS and cycles[i] <= cap]
        chosen.append(rng.choice(fits) if fits else min(stratum, key=lambda i: cycles[i]))
    return sorted(chosen)


def write_sample(path: Path, layers: list[tuple[str, Shape]], indices: list[int]) -> Path:
    rows = [HEADER] + [f"{layers[i][0]}, " + ", ".join(str(v) for v in layers[i][1]) + ","
                       for i in indices]
    path.write_text("\n".join(rows) + "\n")
    return path


def _full_network_cycles(topology: Path) -> list[int]:
    """hwloop's ``total_cycles`` per layer of the full network, at the peer's configuration."""
    from hwloop.sim import simulate
    from hwloop.traces import load_topology

    report = simulate(load_topology(topology), _accelerator(), scalesim_compat=True)
    return [int(c) for c in report.layers["total_cycles"]]


def _hwloop_steady(topology: Path, repeat: int) -> dict[str, Any]:
    """In-process steady-state ``simulate`` (compat mode) on the sample, whole and per layer."""
    from hwloop.sim import simulate
    from hwloop.traces import load_topology

    network, accel = load_topology(topology), _accelerator()
    whole = time_calls(lambda: simulate(network, accel, scalesim_compat=True), repeat)
    per_layer = [time_calls(lambda layer=layer: simulate(layer, accel, scalesim_compat=True),
                            repeat)["median_s"] for layer in network]
    return {"sample": whole, "per_layer_median_s": per_layer,
            "amortised_per_layer_s": whole["median_s"] / len(network)}


def measure(args, workdir: Path, env: dict[str, str], process: dict[str, Any]) -> dict[str, Any]:
    """Run SCALE-Sim on the sample, check it, time hwloop, and extrapolate.

    ``process`` is (c)'s result; its synthetic network (``--synthetic-layers``, ``--seed``) is
    the one sampled, and its whole-process median is the hwloop side of the extrapolated ratio.
    """
    missing = peer_cmp.missing_prerequisite(args.scalesim_harness, args.scalesim_python)
    if missing:
        return {"skipped": missing}
    from _synthetic import write_topology

    n, k = args.synthetic_layers, args.scalesim_sample
    layers = synthetic_layers(n, args.seed)
    full = write_topology(workdir / "synthetic_full.csv", n, args.seed)
    cycles = _full_network_cycles(full)
    indices = choose_sample(layers, cycles, k, args.seed, args.scalesim_sample_budget)
    sample = write_sample(workdir / "synthetic_sample.csv", layers, indices)
    predicted = sum(cycles[i] for i in indices) * ASSUMED_S_PER_CYCLE
    print(f"  running SCALE-Sim on {k} of the {n} synthetic layers, {ROWS}x{COLS} {DATAFLOW} "
          f"(predicted <= {predicted:.0f} s + start-up) ...", flush=True)
    peer = peer_cmp.run_harness(args.scalesim_harness, args.scalesim_python, sample, ROWS, COLS,
                                DATAFLOW, args.scalesim_timeout)
    check = peer_cmp.verify(peer)
    hw_sample_process = peer_cmp.hwloop_process_time(peer, args.cli_repeat, env)
    steady = _hwloop_steady(sample, args.repeat)

    peer_layers = peer["layers"]
    rows = []
    for j, (i, theirs) in enumerate(zip(indices, peer_layers)):
        sim_s = float(theirs["layer_sim_s"])
        rows.append({"index": i, "name": layers[i][0], "macs": layers[i][1].macs,
                     "hwloop_total_cycles": cycles[i], "scalesim_total_cycles": theirs["total_cycles"],
                     "scalesim_layer_sim_s": sim_s,
                     "scalesim_s_per_cycle": sim_s / max(theirs["total_cycles"], 1),
                     "hwloop_steady_s": steady["per_layer_median_s"][j]})
    sim_sum = sum(r["scalesim_layer_sim_s"] for r in rows)
    cyc_sum = sum(r["scalesim_total_cycles"] for r in rows)
    rate = sim_sum / cyc_sum
    rate_low = min(r["scalesim_s_per_cycle"] for r in rows)
    startup = peer["wall_s"] - peer["run_scale_s"]
    outside = peer["run_scale_s"] - sim_sum  # SCALE-Sim per-layer work not in layer_sim_s
    network_cycles = sum(cycles)
    estimate = rate * network_cycles + startup
    estimate_low = rate_low * network_cycles + startup
    hw_whole = process["synthetic"]["median_s"]
    return {
        "measured": {
            "sample_topology": [f"{name}, " + ", ".join(map(str, shape)) + ","
                                for name, shape in (layers[i] for i in indices)],
            "sample_indices": indices, "layers": rows, "verification": check,
            "peer_source": peer["_source"], "config": peer["config"],
            "scalesim_wall_s": peer["wall_s"], "scalesim_run_scale_s": peer["run_scale_s"],
            "scalesim_startup_s": startup, "scalesim_layer_sim_sum_s": sim_sum,
            "scalesim_outside_layer_sim_s": outside, "scalesim_peak_rss_mb": peer.get("peak_rss_mb"),
            "scalesim_s_per_cycle": rate, "scalesim_s_per_cycle_min": rate_low,
            "scalesim_s_per_cycle_max": max(r["scalesim_s_per_cycle"] for r in rows),
            "hwloop_sample_process": hw_sample_process,
            "sample_wall_ratio": peer["wall_s"] / hw_sample_process["median_s"],
            "hwloop_sample_steady": steady,
            "per_layer_ratio": sim_sum / sum(r["hwloop_steady_s"] for r in rows),
            "hwloop_full_process_s": hw_whole,
        },
        "extrapolated": {
            "method": "scalesim_s_per_cycle (sum layer_sim_s / sum total_cycles on the sample) x "
                      "sum of hwloop total_cycles over all layers + scalesim_startup_s",
            "network_layers": n, "network_cycles": network_cycles,
            "scalesim_whole_s": estimate, "scalesim_whole_low_s": estimate_low,
            "ratio": estimate / hw_whole, "ratio_low": estimate_low / hw_whole,
            "left_out_outside_layer_sim_s": outside / k * n,
        },
        "sample": {"k": k, "seed": args.seed, "budget_s": args.scalesim_sample_budget,
                   "predicted_s": predicted},
    }


def _ratio(x: float) -> str:
    return f"{x:.1f}x" if x < 10 else f"{x:,.0f}x"


def print_report(d: dict[str, Any]) -> None:
    print("\n(e) SCALE-Sim v3 on a MAC-stratified sample of the synthetic network, "
          f"{ROWS}x{COLS} {DATAFLOW.upper()}, CALC")
    if "skipped" in d:
        print(f"    SKIPPED: {d['skipped']}")
        return
    m, e = d["measured"], d["extrapolated"]
    v = m["verification"]
    verdict = peer_cmp.verdict(v)
    print(f"    {d['sample']['k']} of {e['network_layers']} layers (seed {d['sample']['seed']}); "
          f"SCALE-Sim numbers {m['peer_source']}")
    print(f"    check (hwloop --scalesim-compat): {verdict}")
    print("    MEASURED per layer (SCALE-Sim layer_sim_s; hwloop in-process steady median, compat):")
    print(f"      {'layer':16s} {'MMACs':>7s} {'cycles':>9s} {'SCALE-Sim':>10s} {'ms/cycle':>9s}"
          f" {'hwloop':>10s} {'ratio':>9s}")
    for r in m["layers"]:
        print(f"      {r['name']:16s} {r['macs'] / 2**20:7.1f} {r['scalesim_total_cycles']:9d}"
              f" {r['scalesim_layer_sim_s']:9.2f}s {r['scalesim_s_per_cycle'] * 1e3:9.3f}"
              f" {r['hwloop_steady_s'] * 1e3:8.2f}ms"
              f" {_ratio(r['scalesim_layer_sim_s'] / r['hwloop_steady_s']):>9s}")
    steady = m["hwloop_sample_steady"]
    print(f"      sum of layer_sim_s {m['scalesim_layer_sim_sum_s']:.1f} s; hwloop amortised "
          f"{steady['amortised_per_layer_s'] * 1e3:.2f} ms/layer (whole sample in-process, median "
          f"{steady['sample']['median_s'] * 1e3:.1f} ms)")
    print(f"    MEASURED whole process on the sample: SCALE-Sim wall_s {m['scalesim_wall_s']:.1f} s"
          f" (start-up = wall_s - run_scale_s = {m['scalesim_startup_s']:.2f} s) vs `hwloop "
          f"simulate --topology sample.csv --scalesim-compat -q` "
          f"{m['hwloop_sample_process']['median_s']:.3f} s => {_ratio(m['sample_wall_ratio'])}")
    print(f"    MEASURED hwloop whole process on all {e['network_layers']} layers (c): "
          f"{m['hwloop_full_process_s']:.3f} s")
    print(f"    EXTRAPOLATED SCALE-Sim on all {e['network_layers']} layers: "
          f"{m['scalesim_s_per_cycle'] * 1e3:.3f} ms/cycle (sample: sum layer_sim_s / sum cycles)"
          f" x {e['network_cycles']:,} cycles (hwloop, every layer) + {m['scalesim_startup_s']:.2f}"
          f" s start-up = {e['scalesim_whole_s']:,.0f} s ({e['scalesim_whole_s'] / 3600:.1f} h)")
    print(f"      with the sample's lowest cost, {m['scalesim_s_per_cycle_min'] * 1e3:.3f} ms/cycle:"
          f" {e['scalesim_whole_low_s']:,.0f} s ({e['scalesim_whole_low_s'] / 3600:.1f} h)")
    print(f"    => EXTRAPOLATED whole-process ratio SCALE-Sim / hwloop: {_ratio(e['ratio'])}"
          f" (lowest-cost variant {_ratio(e['ratio_low'])})")
    print(f"      left out (favours SCALE-Sim): its run_scale time outside layer_sim_s, "
          f"{m['scalesim_outside_layer_sim_s']:.2f} s on the sample, ~"
          f"{e['left_out_outside_layer_sim_s']:.0f} s scaled to all layers")
