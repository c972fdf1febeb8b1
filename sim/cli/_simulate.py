"""``hwloop simulate`` and ``hwloop replay``: parse, call one public function, write the Report."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from hwloop.sim.arrays import add_kind_options, kind_overrides
from hwloop.traces import InputError

from ._common import as_option, check_outputs, locate_hardware_error
from ._options import (
    _add_precision_options,
    _positive_int,
    _run_precision_switch,
    _shape,
    _with_widths,
    add_chip_options,
    add_hardware_options,
    add_memory_options,
    add_vector_options,
    memory_overrides,
    model_input_shapes,
    sparsity_overrides,
)
from ._output import add_output_options, write_outputs
from ._table import column_list, printable_columns

DEFAULT_NETWORK = "resnet18"


#: What ``hwloop simulate --help`` says under the options: how to read the table.
_EPILOG = (
    "The table shows the key columns that fit the terminal (COLUMNS, else its width; all "
    "of them when printing into a file); --columns picks others, --csv and --json hold "
    "every column. util % (overall_util) = MACs / peak MACs of the layer's cycles, stalls "
    "included. compute util % (compute_util) = SCALE-Sim's per-fold utilisation: MACs / "
    "peak MACs of every fold's own cycles, fill and drain counted in full for each fold and "
    "stalls not; under WS and IS a fold's count is cols-1 cycles longer than the fold takes "
    "in the run, so it can sit below util (the run's totals weight it by layer cycles). "
    "mapping eff % (mapping_eff) = PEs a fold maps work to. SRAM and DRAM traffic is in "
    "words. The first run compiles the kernels (about 20 s); later runs load them from "
    "Numba's cache.")


def register_simulate(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate", help="simulate a network on an accelerator",
        description="Simulate a network layer by layer. With no arguments: ResNet-18 on the "
                    "default 32x32 output-stationary array.", epilog=_EPILOG)
    workload = p.add_mutually_exclusive_group()
    workload.add_argument("--network", metavar="NAME", help="built-in network (see --list-networks)")
    workload.add_argument("--topology", metavar="FILE.csv", help="SCALE-Sim topology CSV")
    workload.add_argument("--model", metavar="FILE.onnx",
                          help="ONNX model: its Conv, Gemm and MatMul nodes on the array, its "
                               "other operators on the vector unit (needs onnx)")
    p.add_argument("--model-input-shape", metavar="N,C,H,W", type=_shape, action="append",
                   help="fix a --model input with symbolic (dynamic) dimensions: a shape, "
                        "or NAME=SHAPE per input; repeat for several inputs")
    add_hardware_options(p, preset_help="named accelerator (see --list-presets)", auto=True)
    _add_precision_options(p)
    add_vector_options(p)
    add_chip_options(p)
    add_kind_options(p)
    p.add_argument("--mapping", metavar="scalesim|auto|FILE.toml", default="scalesim",
                   help="scalesim: SCALE-Sim's implicit schedule (the default); auto: the "
                        "mapper's best dataflow, tiles and loop order per layer (by "
                        "--optimize); or a mapping file (docs/mappings.md)")
    p.add_argument("--scalesim-compat", action="store_true",
                   help="reproduce SCALE-Sim v3's numbers, known defects included")
    p.add_argument("--trace", metavar="OUT.h5",
                   help="record every layer's SRAM and DRAM access trace (HDF5)")
    add_output_options(p, "report", plot="plot per-layer cycles and utilisation",
                       quiet="print totals only")
    p.add_argument("--columns", metavar="A,B,...", type=column_list,
                   help="print these report columns, in this order (default: the key ones "
                        "that fit the terminal); any of: " + ", ".join(printable_columns()))
    llm = p.add_argument_group("LLM inference (--network llama2-7b, llama3-8b, llama-tiny)")
    llm.add_argument("--prompt-len", type=_positive_int, metavar="P",
                     help="prompt tokens per sequence, run as one prefill (default 512)")
    llm.add_argument("--gen-len", type=_positive_int, metavar="G",
                     help="tokens generated per sequence, one decode step each (default 8)")
    llm.add_argument("--batch", type=_positive_int, metavar="B", help="sequences (default 1)")
    p.add_argument("--list-networks", action="store_true", help="list built-in networks and exit")
    p.add_argument("--list-presets", action="store_true", help="list accelerator presets and exit")
    p.set_defaults(run=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    if args.list_networks or args.list_presets:
        return _list(args)
    check_outputs({"--json": args.json, "--csv": args.csv, "--plot": args.plot,
                   "--trace": args.trace})
    from hwloop.traces import LLMS

    if args.network in LLMS:
        return _run_llm(args)
    for option in ("prompt_len", "gen_len", "batch"):
        if getattr(args, option) is not None:
            raise InputError(f"applies to a language model ({', '.join(LLMS)}) only",
                             field="--" + option.replace("_", "-"))
    network, source = _workload(args)
    accel = _accelerator(args, source)
    network = _with_widths(network, args.weight_bits, args.act_bits)
    auto = args.dataflow == "auto"
    mapped = args.mapping != "scalesim"
    if args.optimize is not None and not (auto or args.mapping == "auto"):
        raise InputError("choose what to optimise only with --dataflow auto or --mapping auto",
                         field="--optimize")
    options = {"scalesim_compat": args.scalesim_compat, "source": source,
               "choose_dataflow": (args.optimize or "latency") if auto else None,
               "mapping": args.mapping if mapped else None,
               "optimize": args.optimize if args.mapping == "auto" else None}

    from hwloop.sim.engine import simulate
    from hwloop.sim.kernels import on_first_compile
    from hwloop.sim.report import OutputFiles

    # the trace is recorded into a temporary and goes into place with the other files
    with OutputFiles() as files, on_first_compile(_compile_notice):
        try:
            if args.precision_switch:
                return _run_precision_switch(network, accel, args, options)
            trace = files.reserve(args.trace, "--trace") if args.trace else None
            report = simulate(network, accel, progress=sys.stderr.isatty(), trace=trace,
                              **options)
        except InputError as exc:
            raise locate_hardware_error(exc, args) from None
        write_outputs(report, args, files)
    return 0


def _run_llm(args: argparse.Namespace) -> int:
    """``--network`` a language model: its prefill and decode steps (``simulate_llm``)."""
    from hwloop.sim.engine import simulate_llm
    from hwloop.sim.kernels import on_first_compile
    from hwloop.sim.report import OutputFiles
    from hwloop.traces import get_llm

    for option in ("trace", "precision_switch", "vector_ops", "weight_bits", "act_bits",
                   "scalesim_compat"):
        if getattr(args, option):
            raise InputError("does not apply to a language model run",
                             field="--" + option.replace("_", "-"))
    if args.mapping != "scalesim" or args.dataflow == "auto":
        raise InputError("a language model runs SCALE-Sim's schedule here",
                         field="--mapping" if args.mapping != "scalesim" else "--dataflow")
    source = {"builtin": args.network}
    accel = _accelerator(args, source)
    with OutputFiles() as files, on_first_compile(_compile_notice):
        try:
            report = simulate_llm(get_llm(args.network), accel, prompt=args.prompt_len or 512,
                                  gen=args.gen_len or 8, batch=args.batch or 1, source=source)
        except InputError as exc:
            raise locate_hardware_error(exc, args) from None
        write_outputs(report, args, files)
    return 0


_COMPILING = "compiling the kernels; this happens on the first run only (up to ~30 s)"


def _compile_notice() -> None:
    """Say why a cold run is silent (about 20 s of Numba compiling before the first layer):
    at once on a terminal; otherwise as a held warning, shown when the run succeeds (a run
    that fails on bad input still prints one line only)."""
    if sys.stderr.isatty():
        print(f"hwloop: {_COMPILING}", file=sys.stderr, flush=True)
    else:
        logging.getLogger(__name__).warning(_COMPILING)


def _list(args: argparse.Namespace) -> int:
    """``--list-networks`` / ``--list-presets``."""
    from hwloop import arch, traces

    if args.list_networks:
        for name in traces.list_networks():
            net = traces.builtin_network(name)
            print(f"{name:20s} {len(net):4d} layers {net.macs / 1e9:10.3f} GMACs")
        for name, config in traces.LLMS.items():
            print(f"{name:20s} {config.layers:4d} blocks, d {config.d_model}, {config.heads} heads "
                  f"({config.kv_heads} KV), language model (--prompt-len, --gen-len, --batch)")
        return 0
    from hwloop.sim.arrays import model_for

    for name, preset in sorted(arch.PRESETS.items()):
        a = preset.array
        kind = model_for(preset).list_label(a)
        print(f"{name:20s} {a.rows}x{a.cols}{kind} {a.dataflow.value}  "
              f"SRAM {preset.sram.ifmap_kb}/{preset.sram.filter_kb}/{preset.sram.ofmap_kb} KiB")
    return 0


def _workload(args: argparse.Namespace) -> tuple:
    """(network, where it came from) of ``--topology``, ``--model`` or ``--network``."""
    from hwloop import traces

    if args.model_input_shape and not args.model:
        raise InputError("applies to --model only", field="--model-input-shape")
    if args.vector_ops and (args.topology or args.model):
        raise InputError("applies to --network only (an imported model has its operators "
                         "already; a topology CSV has none)", field="--vector-ops")
    if args.topology:
        return traces.load_topology(args.topology), {"topology": os.path.abspath(args.topology)}
    if args.model:
        network = traces.network_from_onnx(args.model,
                                           input_shapes=model_input_shapes(args.model_input_shape))
        return network, {"model": os.path.abspath(args.model)}
    name = args.network or DEFAULT_NETWORK
    network = as_option(traces.builtin_network, name, "--network")
    if args.vector_ops:
        try:
            network = traces.builtin_network(name, vector_ops=True)
        except InputError as exc:
            raise InputError(exc.reason, field="--vector-ops") from None
    return network, {"builtin": name, **({"vector_ops": True} if args.vector_ops else {})}


def _accelerator(args: argparse.Namespace, source: dict):
    """The preset or ``--config`` accelerator with the command line's overrides."""
    from hwloop import arch

    if args.config:
        accel = arch.load_config(args.config)
        source["config"] = os.path.abspath(args.config)
    else:
        accel = as_option(arch.get_preset, args.preset or arch.DEFAULT_PRESET, "--preset")
    try:
        accel = accel.with_overrides(rows=args.rows, cols=args.cols,
                                     dataflow=None if args.dataflow == "auto" else args.dataflow,
                                     ifmap_kb=args.ifmap_kb, filter_kb=args.filter_kb,
                                     ofmap_kb=args.ofmap_kb, array_kind=args.array_kind,
                                     serial_operand=args.serial_operand,
                                     bits_per_cycle=args.bits_per_cycle, energy=args.energy,
                                     accumulate_psums=True if args.accumulate_psums else None,
                                     vector_lanes=args.vector_lanes,
                                     keep_activations=True if args.keep_activations else None,
                                     **sparsity_overrides(args),
                                     cores=getattr(args, "cores", None),
                                     partition=getattr(args, "partition", None),
                                     noc_bw=getattr(args, "noc_bw", None),
                                     mesh_rows=getattr(args, "mesh_rows", None),
                                     **memory_overrides(args))
        return kind_overrides(accel, args)
    except InputError as exc:
        raise locate_hardware_error(exc, args) from None


def register_replay(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "replay", help="re-time a recorded trace under another memory system",
        description="Re-time the run recorded by `hwloop simulate --trace` without recomputing "
                    "its compute schedule. Unset options keep the recorded values.")
    p.add_argument("trace", metavar="TRACE.h5", help="trace written by hwloop simulate --trace")
    p.add_argument("--config", metavar="FILE",
                   help="take buffers and DRAM from this .cfg/.toml (its array must match)")
    for operand in ("ifmap", "filter", "ofmap"):
        p.add_argument(f"--{operand}-kb", type=_positive_int, metavar="KIB",
                       help=f"{operand} SRAM size in KiB")
    add_memory_options(p)
    add_output_options(p, "report", plot="plot per-layer cycles and utilisation",
                       quiet="print totals only")
    p.set_defaults(run=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    from hwloop import arch
    from hwloop.sim.engine import replay
    from hwloop.sim.report import OutputFiles

    check_outputs({"--json": args.json, "--csv": args.csv, "--plot": args.plot})
    accel = arch.load_config(args.config) if args.config else None
    overrides = {"ifmap_kb": args.ifmap_kb, "filter_kb": args.filter_kb,
                 "ofmap_kb": args.ofmap_kb, **memory_overrides(args)}
    try:
        report = replay(args.trace, accel, overrides=overrides)
    except InputError as exc:
        raise locate_hardware_error(exc, args) from None
    with OutputFiles() as files:
        write_outputs(report, args, files)
    return 0
