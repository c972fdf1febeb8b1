"""``hwloop validate``: a cost model's per-layer predictions against the cycle-level engine.

Registered through the ``hwloop.commands`` entry point. The workload and hardware options
are ``hwloop simulate``'s (the same helpers); the comparison is ``sim/analytical/_validate.py``.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import replace

from hwloop.traces import InputError, Network

from ._options import _positive_int, _with_widths, add_hardware_options, memory_overrides
from ._output import add_output_files, add_output_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand (a ``hwloop.commands`` entry point)."""
    p = subparsers.add_parser(
        "validate", help="compare a cost model's per-layer predictions with the simulator",
        description="Run the cycle-level simulator on the layers and hardware of a cost "
                    "model's predictions and report per-layer error, MAPE, worst case and "
                    "Kendall tau (and energy MAPE when energies are predicted).")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--predictions", metavar="PRED.csv",
                        help="CSV with columns layer,cycles[,energy_pj]")
    source.add_argument("--zigzag", nargs="+", metavar="FILE.json",
                        help="ZigZag harness results, one layer each (shape read from each); "
                             "the array defaults to each run's own")
    source.add_argument("--analytical", action="store_true",
                        help="hwloop's own analytical (roofline) model")
    p.add_argument("--zigzag-latency", default="latency_cycles", metavar="KEY",
                   choices=("latency_cycles", "latency_no_onload_no_offload",
                            "latency_with_onload"),
                   help="ZigZag latency to compare: latency_cycles (default), "
                        "latency_no_onload_no_offload or latency_with_onload")
    workload = p.add_mutually_exclusive_group()
    workload.add_argument("--network", metavar="NAME", help="built-in network")
    workload.add_argument("--topology", metavar="FILE.csv", help="SCALE-Sim topology CSV")
    add_hardware_options(p)
    p.add_argument("--energy", metavar="TABLE",
                   help="energy table: horowitz_45nm (default) or zigzag_tpu_like")
    p.add_argument("--weight-bits", type=_positive_int, metavar="W", help="default weight width")
    p.add_argument("--act-bits", type=_positive_int, metavar="A", help="default activation width")
    add_output_options(p, "comparison", plot="scatter plot, log-log, with y = x",
                       quiet="print the summary line only")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ._common import check_outputs

    check_outputs({"--json": args.json, "--csv": args.csv, "--plot": args.plot})
    if args.dataflow == "auto":
        raise InputError("validate runs one dataflow; choose os, ws or is", field="--dataflow")
    accel = _accelerator(args)
    if args.zigzag:
        validation = _validate_zigzag(args, accel)
    else:
        validation = _validate_network(args, accel)
    _write(validation, args)
    return 0


def _accelerator(args: argparse.Namespace):
    from hwloop import arch

    from ._common import as_option, locate_hardware_error

    if args.config:
        accel = arch.load_config(args.config)
    else:
        accel = as_option(arch.get_preset, args.preset or arch.DEFAULT_PRESET, "--preset")
    try:
        return accel.with_overrides(rows=args.rows, cols=args.cols, dataflow=args.dataflow,
                                    ifmap_kb=args.ifmap_kb, filter_kb=args.filter_kb,
                                    ofmap_kb=args.ofmap_kb, energy=args.energy,
                                    **memory_overrides(args))
    except InputError as exc:
        raise locate_hardware_error(exc, args) from None


def _workload(args: argparse.Namespace) -> tuple[Network, dict]:
    from hwloop import traces

    from ._common import as_option

    if args.topology:
        network = traces.load_topology(args.topology)
        source = {"topology": os.path.abspath(args.topology)}
    elif args.network:
        network = as_option(traces.builtin_network, args.network, "--network")
        source = {"builtin": args.network}
    else:
        raise InputError("name the workload the predictions are for: --network or --topology",
                         field="--network")
    return _with_widths(network, args.weight_bits, args.act_bits), source


def _validate_network(args: argparse.Namespace, accel):
    from hwloop.sim import simulate
    from hwloop.sim.analytical import analytical_predictions, compare, read_predictions_csv, simulated_values

    from ._common import locate_hardware_error

    network, source = _workload(args)
    try:
        if args.analytical:
            predictions, label = analytical_predictions(network, accel), "hwloop analytical"
        else:
            names = [layer.name for layer in network.layers]
            predictions = read_predictions_csv(args.predictions, names)
            label = os.path.basename(args.predictions)
        report = simulate(network, accel, source=source)
    except InputError as exc:
        raise locate_hardware_error(exc, args) from None
    return compare(predictions, simulated_values(report), source=label,
                   config={"workload": {"network": network.name, **source},
                           "accelerator": accel.to_dict()})


def _validate_zigzag(args: argparse.Namespace, accel):
    from hwloop.sim import simulate_layer
    from hwloop.sim.analytical import Prediction, compare, read_zigzag_json

    from ._common import locate_hardware_error

    if args.network or args.topology:
        raise InputError("each ZigZag result holds its own layer; drop it",
                         field="--network" if args.network else "--topology")
    predictions: dict[str, Prediction] = {}
    simulated: dict[str, Prediction] = {}
    setups = []
    for path in args.zigzag:
        zz = read_zigzag_json(path, latency_key=args.zigzag_latency)
        layer = zz.layer
        if layer.name in predictions:
            raise InputError(f"layer {layer.name!r} given twice", source=path)
        if args.weight_bits or args.act_bits:
            layer = replace(layer, weight_bits=args.weight_bits, act_bits=args.act_bits)
        rows, cols = zz.array if zz.array is not None else (None, None)
        try:
            here = accel.with_overrides(rows=args.rows or rows, cols=args.cols or cols,
                                        dataflow=args.dataflow or zz.dataflow)
            row = simulate_layer(layer, here)
        except InputError as exc:
            located = locate_hardware_error(exc, args)
            raise located.located(source=path) from None
        predictions[layer.name] = zz.prediction
        simulated[layer.name] = Prediction(float(row["total_cycles"]), float(row["energy_pj"]))
        setups.append({"file": os.path.abspath(path), "rows": here.array.rows,
                       "cols": here.array.cols, "dataflow": here.array.dataflow.value})
    return compare(predictions, simulated, source="zigzag " + args.zigzag_latency,
                   config={"zigzag": setups, "accelerator": accel.to_dict()})


def _write(validation, args: argparse.Namespace) -> None:
    """Write ``--json``/``--csv``/``--plot`` all together or none, then print."""
    from hwloop.sim.analytical import plot_validation
    from hwloop.sim.report import OutputFiles

    with OutputFiles() as files:
        add_output_files(files, args, validation, plot_validation)
        files.commit()
    if not args.quiet:
        print(validation.table())
    print(validation.summary())
