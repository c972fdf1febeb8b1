#!/usr/bin/env python3
"""hwloop's PCM noise model vs IBM aihwkit 1.2.0 on the default digits network.

Reads aihwkit's runs saved in ``tests/data/aihwkit/digits_pcm.json`` (regenerate them with
``tests/data/aihwkit/regenerate.py``; aihwkit ran on the very weights hwloop trains) and runs
hwloop's model on the same network, times and number of seeds. For each configuration and time
it prints both simulators' test accuracy (mean and standard deviation over seeds) and relative
output error ``||z_analog - z_digital|| / ||z_digital||`` (mean over seeds), and checks issue 7's
criteria on the perfect-IO configuration: accuracy within max(0.5 points, 2x aihwkit's seed
spread), output error within 20% of aihwkit's (``perfect_io``, 5 seeds as in the issue; the
300-seed run shows the agreement once sampling noise is small).

The seeds are the same numbers, not the same random draws (each simulator has its own
generator), so the comparison is statistical.

Usage: ``python benchmarks/compare_aihwkit.py [--out benchmarks/results/aihwkit_compare.txt]``
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from dataclasses import replace

from hwloop.sim.noise import AnalogNoise, accuracy_over_time, default_network

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "aihwkit" / "digits_pcm.json"
KEYS = ("1s", "1h", "1d", "1y")
CONFIGS = {
    "perfect_io": AnalogNoise.perfect_io(),
    "perfect_io_300_seeds": AnalogNoise.perfect_io(),
    "default": AnalogNoise(),
    "default_no_drift_comp": replace(AnalogNoise(), drift_compensation=False),
}


def compare() -> tuple[list[str], bool]:
    golden = json.loads(GOLDEN.read_text())
    data, model = default_network("digits")
    lines = [f"aihwkit {golden['aihwkit_version']} (torch {golden['torch_version']}) vs hwloop, "
             f"digits test set ({golden['n_test']} images), digital accuracy "
             f"{100 * golden['digital_accuracy']:.2f}%",
             "accuracy in %, mean +- std over seeds; err = relative output error (mean)", ""]
    ok = True
    for name, noise in CONFIGS.items():
        ref = golden["configs"][name]
        times = [ref["times"][k]["t_inference_s"] for k in KEYS]
        ours = accuracy_over_time(model, data, noise, times_s=times, seeds=ref["seeds"])
        lines.append(f"[{name}] {ref['seeds']} seeds")
        lines.append(f"{'t':>3} | {'aihwkit acc':>13} {'hwloop acc':>13} {'diff':>6} {'tol':>5} | "
                     f"{'aihwkit err':>11} {'hwloop err':>10} {'ratio':>6}")
        for i, key in enumerate(KEYS):
            r = ref["times"][key]
            diff = 100 * (ours.accuracy_mean[i] - r["accuracy_mean"])
            tol = max(0.5, 2 * 100 * r["accuracy_std"])
            ratio = ours.output_error_mean[i] / r["output_error_mean"]
            mark = ""
            if name.startswith("perfect_io"):
                passed = abs(diff) <= tol and abs(ratio - 1) <= 0.2
                ok &= passed
                mark = "  ok" if passed else "  FAIL"
            lines.append(
                f"{key:>3} | {100 * r['accuracy_mean']:6.2f} +- {100 * r['accuracy_std']:4.2f} "
                f"{100 * ours.accuracy_mean[i]:6.2f} +- {100 * ours.accuracy_std[i]:4.2f} "
                f"{diff:+6.2f} {tol:5.2f} | {r['output_error_mean']:11.4f} "
                f"{ours.output_error_mean[i]:10.4f} {ratio:6.2f}{mark}")
        lines.append("")
    lines.append("perfect-IO criteria (issue 7): " + ("all met" if ok else "NOT met"))
    lines.append("default configs: aihwkit draws output noise from its C++ generator, which "
                 "Python cannot seed (its numbers move by ~0.1-0.3 points between runs); "
                 "aihwkit 1.2 does not remap weights (weight_scaling_omega = 0), so its output "
                 "noise and ADC act on the raw weights (max |w| 0.52 / 0.67 here), while hwloop "
                 "puts max |w| at full scale: hwloop's default has less output-noise error.")
    return lines, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "aihwkit_compare.txt"))
    args = parser.parse_args()
    lines, ok = compare()
    text = "\n".join(lines) + "\n"
    pathlib.Path(args.out).write_text(text)
    sys.stdout.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
