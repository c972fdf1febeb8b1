"""``hwloop map``: the mapper's best mapping of every layer, printed and written as a mapping
file that ``hwloop simulate --mapping FILE`` runs to the same totals as ``--mapping auto``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hwloop.arch import Mapping, MappingFile, mapping_toml
from hwloop.sim.arrays import add_kind_options
from hwloop.traces import InputError

from ._common import check_outputs, locate_hardware_error
from ._options import (
    _add_precision_options,
    _shape,
    _with_widths,
    add_chip_options,
    add_hardware_options,
    add_vector_options,
)
from ._output import add_output_options, write_outputs


def register_map(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "map", help="the best dataflow, tiles and loop order of every layer (the mapper)",
        description="Run the mapper on every layer (each distinct shape once) for --optimize, "
                    "print the mapped report, and write the mappings as a mapping file "
                    "(docs/mappings.md). `hwloop simulate --mapping FILE` on the same "
                    "hardware gives exactly these totals.")
    workload = p.add_mutually_exclusive_group()
    workload.add_argument("--network", metavar="NAME", help="built-in network (default resnet18)")
    workload.add_argument("--topology", metavar="FILE.csv", help="SCALE-Sim topology CSV")
    workload.add_argument("--model", metavar="FILE.onnx", help="ONNX model (needs onnx)")
    p.add_argument("--model-input-shape", metavar="N,C,H,W", type=_shape, action="append",
                   help="fix a --model input with symbolic dimensions")
    add_hardware_options(p, preset_help="named accelerator (see hwloop simulate --list-presets)")
    _add_precision_options(p)
    add_vector_options(p)
    add_chip_options(p)
    add_kind_options(p)
    p.add_argument("--out", metavar="MAP.toml", help="write the mappings as a mapping file")
    add_output_options(p, "mapped report", plot="plot per-layer cycles and utilisation",
                       quiet="print totals only")
    p.set_defaults(run=run_map)


def run_map(args: argparse.Namespace) -> int:
    from hwloop.sim.engine import map_network, simulate
    from hwloop.sim.report import OutputFiles

    from ._simulate import _accelerator, _workload

    if args.precision_switch:
        raise InputError("the mapper maps one precision; drop it", field="--precision-switch")
    if args.dataflow == "auto":
        raise InputError("the mapper chooses each layer's dataflow; drop --dataflow auto",
                         field="--dataflow")
    check_outputs({"--out": args.out, "--json": args.json, "--csv": args.csv,
                   "--plot": args.plot})
    network, source = _workload(args)
    accel = _accelerator(args, source)
    network = _with_widths(network, args.weight_bits, args.act_bits)
    optimize = args.optimize or "latency"
    try:
        mappings = map_network(network, accel, optimize)
        text = mapping_toml(mappings)
        mapped = MappingFile(source=args.out or "<hwloop map>", default=Mapping(),
                             layers=tuple(mappings), text=text)
        report = simulate(network, accel, source=source, mapping=mapped,
                          progress=sys.stderr.isatty())
    except InputError as exc:
        raise locate_hardware_error(exc, args) from None
    report.config["mapping"] = f"auto ({optimize})"
    with OutputFiles() as files:
        if args.out:
            files.add(args.out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"),
                      "--out")
        write_outputs(report, args, files)
    return 0

