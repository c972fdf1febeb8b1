"""``hwloop analog-accuracy``: parse, call :func:`run_analog_accuracy`, print a table (and write
JSON and a plot when asked).

Registered through the ``hwloop.commands`` entry point; torch, scikit-learn and matplotlib
are imported only when the command runs.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace

from hwloop.traces import InputError

DATASETS = ("digits",)
DEFAULT_TIMES = "1,3600,86400,31536000"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``analog-accuracy`` subcommand (a ``hwloop.commands`` entry point)."""
    p = subparsers.add_parser(
        "analog-accuracy", help="accuracy over time of a network on PCM crossbars",
        description="Train the default network on a small data set, map its layers onto PCM "
                    "differential pairs (aihwkit's statistical PCM model: programming noise, "
                    "drift, 1/f read noise; 7-bit DAC, 9-bit ADC with output noise; global "
                    "drift compensation) and measure test accuracy at each time over seeds.")
    p.add_argument("--dataset", default="digits", metavar="NAME",
                   help=f"data set: {', '.join(DATASETS)} (default digits)")
    p.add_argument("--times", default=DEFAULT_TIMES, metavar="LIST",
                   help=f"comma-separated seconds after programming (default {DEFAULT_TIMES})")
    p.add_argument("--seeds", default="5", metavar="N", help="noise seeds 0..N-1 (default 5)")
    p.add_argument("--perfect-io", action="store_true",
                   help="ideal DAC/ADC and no output noise (only the PCM weight noise)")
    p.add_argument("--dac-bits", metavar="BITS", help="input DAC resolution (default 7)")
    p.add_argument("--adc-bits", metavar="BITS", help="output ADC resolution (default 9)")
    p.add_argument("--no-drift-compensation", action="store_true",
                   help="switch global drift compensation off")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON (the per-seed "
                   "accuracies and output errors too)")
    p.add_argument("--plot", metavar="PATH.png", help="plot accuracy against time")
    p.set_defaults(run=run)


def _parse_times(text: str) -> list[float]:
    times = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise InputError(f"not a number of seconds: {part.strip()!r}", field="--times") from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"inference times must be finite and >= 0 s, got {part.strip()}",
                             field="--times")
        times.append(value)
    return times


def _parse_seeds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"must be a positive integer, got {text!r}", field="--seeds")
    return value


def _parse_bits(option: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 2 <= value <= 32:
        raise InputError(f"must be an integer from 2 to 32, got {text!r}", field=option)
    return value


def run(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    from ._common import check_outputs

    times = _parse_times(args.times)
    seeds = _parse_seeds(args.seeds)
    bits = {"dac_bits": _parse_bits("--dac-bits", args.dac_bits),
            "adc_bits": _parse_bits("--adc-bits", args.adc_bits)}
    bits = {name: value for name, value in bits.items() if value is not None}
    if args.dataset not in DATASETS:
        raise InputError(f"unknown data set {args.dataset!r}; known: {', '.join(DATASETS)}",
                         field="--dataset")
    check_outputs({"--json": args.json, "--plot": args.plot})
    missing = [name for name in ("torch", "sklearn") if find_spec(name) is None]
    if missing:
        raise InputError(f"needs {' and '.join(missing)}: pip install 'hwloop[torch]' "
                         "scikit-learn", field="analog-accuracy")
    from tqdm import tqdm

    from hwloop.sim.noise import AnalogNoise, run_analog_accuracy

    noise = AnalogNoise.perfect_io() if args.perfect_io else AnalogNoise()
    if bits:
        noise = replace(noise, converters=replace(noise.converters, **bits))
    if args.no_drift_compensation:
        noise = replace(noise, drift_compensation=False)
    with tqdm(total=seeds * len(times), desc="analog-accuracy", unit="read", delay=1.0,
              leave=False, disable=not sys.stderr.isatty()) as bar:
        result = run_analog_accuracy(args.dataset, times_s=times, seeds=seeds, noise=noise,
                                     progress=bar.update)
    _write(result, args)
    if args.json:  # the JSON holds the detail; one line says where
        means = ", ".join(f"{100 * m:.2f}" for m in result.accuracy_mean)
        print(f"digital {100 * result.digital_accuracy:.2f}%; analog at {args.times} s: "
              f"{means}% -> {args.json}")
    else:
        print(result.table())
    return 0


def _write(result, args: argparse.Namespace) -> None:
    """The JSON (strict: NaN is ``null``) and the plot that were asked for, all or none."""
    from hwloop.sim.noise import plot_accuracy_over_time
    from hwloop.sim.report import OutputFiles, strict_json

    from ._output import add_figure

    with OutputFiles() as files:
        if args.json:
            text = strict_json(result.to_dict(), indent=2)
            files.add(args.json, lambda tmp: tmp.write_text(text), "--json")
        if args.plot:
            add_figure(files, plot_accuracy_over_time(result), args.plot, "--plot")
        files.commit()
