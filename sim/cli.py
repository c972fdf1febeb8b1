"""The ``hwloop`` command line. It parses, calls one public function, and writes the Report.

Subcommands of higher layers (``hwloop search``) register through the ``hwloop.commands``
entry-point group: each entry point is a function ``register(subparsers)`` that adds a
parser and sets ``run=callable(args) -> int`` as its default.
"""
from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

from hwloop.traces import InputError

from ._cli_options import (ANALOG_OPTIONS, _add_precision_options, _positive_int,
                           _run_precision_switch, _shape, _with_widths, add_analog_options,
                           add_hardware_options, add_memory_options, analog_overrides,
                           memory_overrides, model_input_shapes)

ENTRY_POINT_GROUP = "hwloop.commands"
DEFAULT_NETWORK = "resnet18"
#: Accelerator fields a ``simulate`` option overrides, and that option.
_OVERRIDE_OPTIONS = {"rows": "--rows", "cols": "--cols", "dataflow": "--dataflow",
                     "ifmap_kb": "--ifmap-kb", "filter_kb": "--filter-kb", "ofmap_kb": "--ofmap-kb",
                     "bandwidth": "--bandwidth", "ifmap_bandwidth": "--ifmap-bw",
                     "filter_bandwidth": "--filter-bw", "ofmap_bandwidth": "--ofmap-bw",
                     "latency_cycles": "--dram-latency", "model": "--dram",
                     "array_kind": "--array-kind", "weight_bits": "--weight-bits",
                     "act_bits": "--act-bits", "bits_per_cycle": "--bits-per-cycle",
                     "serial_operand": "--serial-operand", "energy": "--energy",
                     "accumulate_psums": "--accumulate-psums", **ANALOG_OPTIONS}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hwloop", description="Cycle-level DNN-accelerator simulator.")
    parser.add_argument("--version", action="version", version=f"hwloop {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _register_simulate(subparsers)
    _register_replay(subparsers)
    from ._cli_trace import register_trace

    register_trace(subparsers)
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        entry.load()(subparsers)
    return parser


def _register_simulate(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate", help="simulate a network on an accelerator",
        description="Simulate a network layer by layer. With no arguments: ResNet-18 on the "
                    "default 32x32 output-stationary array.")
    workload = p.add_mutually_exclusive_group()
    workload.add_argument("--network", metavar="NAME", help="built-in network (see --list-networks)")
    workload.add_argument("--topology", metavar="FILE.csv", help="SCALE-Sim topology CSV")
    workload.add_argument("--model", metavar="FILE.onnx",
                          help="ONNX model: its Conv, Gemm and MatMul nodes (needs onnx)")
    p.add_argument("--model-input-shape", metavar="N,C,H,W", type=_shape, action="append",
                   help="fix a --model input with symbolic (dynamic) dimensions: a shape, "
                        "or NAME=SHAPE per input; repeat for several inputs")
    add_hardware_options(p, preset_help="named accelerator (see --list-presets)")
    _add_precision_options(p)
    add_analog_options(p)
    p.add_argument("--scalesim-compat", action="store_true",
                   help="reproduce SCALE-Sim v3's numbers, known defects included")
    p.add_argument("--trace", metavar="OUT.h5",
                   help="record every layer's SRAM and DRAM access trace (HDF5)")
    p.add_argument("--json", metavar="PATH", help="write the report as JSON")
    p.add_argument("--csv", metavar="PATH", help="write the per-layer table as CSV")
    p.add_argument("--plot", metavar="PATH.png", help="plot per-layer cycles and utilisation")
    p.add_argument("--list-networks", action="store_true", help="list built-in networks and exit")
    p.add_argument("--list-presets", action="store_true", help="list accelerator presets and exit")
    p.add_argument("-q", "--quiet", action="store_true", help="print totals only")
    p.set_defaults(run=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from hwloop import arch, traces

    if args.list_networks:
        for name in traces.list_networks():
            net = traces.builtin_network(name)
            print(f"{name:20s} {len(net):4d} layers {net.macs / 1e9:10.3f} GMACs")
        return 0
    if args.list_presets:
        for name, preset in sorted(arch.PRESETS.items()):
            a = preset.array
            kind = "" if a.kind == "systolic" else f" {a.kind}" + (
                f" x{a.tiles} tiles" if a.kind == "analog" else "")
            print(f"{name:20s} {a.rows}x{a.cols}{kind} {a.dataflow.value}  "
                  f"SRAM {preset.sram.ifmap_kb}/{preset.sram.filter_kb}/{preset.sram.ofmap_kb} KiB")
        return 0
    outputs = {"--json": args.json, "--csv": args.csv, "--plot": args.plot,
               "--trace": args.trace}
    for option, path in outputs.items():
        if path is not None:
            _check_writable(option, path)
    if args.model_input_shape and not args.model:
        raise InputError("applies to --model only", field="--model-input-shape")
    if args.topology:
        network = traces.load_topology(args.topology)
        source = {"topology": os.path.abspath(args.topology)}
    elif args.model:
        network = traces.network_from_onnx(args.model,
                                           input_shapes=model_input_shapes(args.model_input_shape))
        source = {"model": os.path.abspath(args.model)}
    else:
        name = args.network or DEFAULT_NETWORK
        network = _as_option(traces.builtin_network, name, "--network")
        source = {"builtin": name}
    if args.config:
        accel = arch.load_config(args.config)
        source["config"] = os.path.abspath(args.config)
    else:
        accel = _as_option(arch.get_preset, args.preset or arch.DEFAULT_PRESET, "--preset")
    auto = args.dataflow == "auto"
    try:
        accel = accel.with_overrides(rows=args.rows, cols=args.cols,
                                     dataflow=None if auto else args.dataflow,
                                     ifmap_kb=args.ifmap_kb, filter_kb=args.filter_kb,
                                     ofmap_kb=args.ofmap_kb, array_kind=args.array_kind,
                                     serial_operand=args.serial_operand,
                                     bits_per_cycle=args.bits_per_cycle, energy=args.energy,
                                     accumulate_psums=True if args.accumulate_psums else None,
                                     **memory_overrides(args))
        accel = analog_overrides(accel, args)
    except InputError as exc:
        raise _locate_hardware_error(exc, args) from None
    network = _with_widths(network, args.weight_bits, args.act_bits)
    options = {"scalesim_compat": args.scalesim_compat, "source": source,
               "choose_dataflow": args.optimize if auto else None}

    from hwloop.sim import simulate

    try:
        if args.precision_switch:
            return _run_precision_switch(network, accel, args, options)
        report = simulate(network, accel, progress=sys.stderr.isatty(), trace=args.trace, **options)
    except InputError as exc:
        raise _locate_hardware_error(exc, args) from None
    _write_outputs(report, args)
    return 0


def _register_replay(subparsers: argparse._SubParsersAction) -> None:
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
    p.add_argument("--json", metavar="PATH", help="write the report as JSON")
    p.add_argument("--csv", metavar="PATH", help="write the per-layer table as CSV")
    p.add_argument("--plot", metavar="PATH.png", help="plot per-layer cycles and utilisation")
    p.add_argument("-q", "--quiet", action="store_true", help="print totals only")
    p.set_defaults(run=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    from hwloop import arch
    from hwloop.sim._replay import replay

    for option, path in {"--json": args.json, "--csv": args.csv, "--plot": args.plot}.items():
        if path is not None:
            _check_writable(option, path)
    accel = arch.load_config(args.config) if args.config else None
    overrides = {"ifmap_kb": args.ifmap_kb, "filter_kb": args.filter_kb,
                 "ofmap_kb": args.ofmap_kb, **memory_overrides(args)}
    try:
        report = replay(args.trace, accel, overrides=overrides)
    except InputError as exc:
        raise _locate_hardware_error(exc, args) from None
    _write_outputs(report, args)
    return 0


def _as_option(lookup: Callable[[str], object], name: str, option: str):
    """``lookup(name)``, with an unknown name reported against the command-line ``option``."""
    try:
        return lookup(name)
    except InputError as exc:
        raise InputError(exc.reason, field=option) from None


def _locate_hardware_error(exc: InputError, args: argparse.Namespace) -> InputError:
    """Place a simulation-time error about an accelerator field (a buffer too small for the
    array) where that value was set, not at the layer being simulated: the override option
    that set it, else the line of the ``--config`` file that did."""
    if exc.field not in _OVERRIDE_OPTIONS:
        return exc
    option = _OVERRIDE_OPTIONS[exc.field]
    if getattr(args, option.lstrip("-").replace("-", "_"), None) is not None:
        return InputError(exc.reason, field=option)
    if args.config:
        from hwloop.arch._loaders import field_line

        return InputError(exc.reason, source=args.config,
                          line=field_line(args.config, exc.field), field=exc.field)
    return InputError(exc.reason, field=exc.field)


def _check_writable(option: str, path: str) -> None:
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"directory {str(parent)!r} does not exist", field=option)


def _write_outputs(report, args: argparse.Namespace) -> None:
    """Print the report and write the files ``--json``/``--csv``/``--plot`` asked for."""
    print(_format(report, quiet=args.quiet))
    if args.json:
        report.to_json(args.json)
    if args.csv:
        report.to_csv(args.csv)
    if args.plot:
        _save_plot(report, args.plot)


def _save_plot(report, path: str) -> None:
    from hwloop.sim import plot_report

    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp{target.suffix}")
    try:
        plot_report(report).savefig(tmp, dpi=120)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _format(report, quiet: bool) -> str:
    accel = report.config["accelerator"]
    array = accel["array"]
    kind = "" if array.get("kind", "systolic") == "systolic" else f" {array['kind']}"
    analog = array.get("kind") == "analog"
    if analog:
        kind = _analog_summary(array, accel["clock_ghz"])
    widths = sorted({(w, a) for w, a in zip(report.layers.get("weight_bits", []),
                                            report.layers.get("act_bits", []))})
    bits = "" if widths in ([], [(8, 8)]) else " at " + ", ".join(f"{w}x{a}" for w, a in widths) + " bits"
    head = (f"{report.config['workload']['network']} on {accel['name']}: {array['rows']}x"
            f"{array['cols']}{kind} {array['dataflow'].upper()}{bits}, SRAM {accel['sram']['ifmap_kb']}/"
            f"{accel['sram']['filter_kb']}/{accel['sram']['ofmap_kb']} KiB"
            + (" (SCALE-Sim compatible numbers)" if report.config.get("scalesim_compat") else "")
            + _memory_summary(accel["dram"]))
    t = report.totals
    tail = (f"total: {t['total_cycles']:,} cycles ({t['time_s'] * 1e3:.3f} ms at "
            f"{accel['clock_ghz']:g} GHz), {t['macs']:,} MACs, overall util "
            f"{t['overall_util']:.2f}%, DRAM reads {t['dram_ifmap_reads'] + t['dram_filter_reads']:,}"
            f" words, DRAM writes {t['dram_ofmap_writes']:,} words"
            + (f", {t['stall_cycles']:,} stall cycles" if t["stall_cycles"] else "")
            + (f", energy {t['energy_pj'] / 1e6:,.1f} uJ ({accel['energy']['name']}), "
               f"EDP {t['edp']:.4g} pJ x cycles, area {t['area_mm2']:.3f} mm^2"
               if t.get("energy_pj") is not None else ""))
    if analog:
        parts = ", ".join(f"{k} {v / 1e6:,.1f}" for k, v in t["energy_breakdown"].items())
        tail += f"\nenergy breakdown (uJ): {parts}"
    if quiet:
        return f"{head}\n{tail}"
    if analog:
        columns = ["name", "total_cycles", "tiles_used", "tile_util", "tile_replication",
                   "tile_passes", "adc_conversions", "energy_pj"]
        counted = ["adc_conversions", "total_cycles"]
    else:
        columns = ["name", "total_cycles", "overall_util", "compute_util", "mapping_eff",
                   "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
                   "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes"]
        counted = columns[5:] + ["total_cycles"]
    table = report.layers[columns].to_string(
        index=False, float_format=lambda v: f"{v:.2f}",
        formatters={c: "{:,}".format for c in counted})
    return f"{head}\n{table}\n{tail}"


def _analog_summary(array: dict, clock_ghz: float) -> str:
    """`` analog x64 tiles (pcm, DAC 7 b, ADC 9 b, ...)``: an analog chip in the report head."""
    cycles = array["adc_conversion_ns"] * clock_ghz
    return (f" analog tiles x{array['tiles']} ({array['device']}, {array['devices_per_weight']} "
            f"devices/weight, DAC {array['dac_bits']} b, ADC {array['adc_bits']} b per "
            f"{array['columns_per_adc']} columns, {array['adc_conversion_ns']:g} ns/conversion"
            f" = {cycles:g} cycles at {clock_ghz:g} GHz)")


def _memory_summary(dram: dict) -> str:
    if dram.get("model"):
        return f", DRAM {dram['model']}"
    ports = [dram.get(f"{op}_bandwidth") or dram.get("bandwidth") for op in ("ifmap", "filter", "ofmap")]
    if not any(ports):
        return ""
    shown = "/".join("unlimited" if bw is None else str(bw) for bw in ports)
    return f", DRAM {shown} words/cycle, latency {dram.get('latency_cycles', 0)}"


def _version() -> str:
    try:
        return metadata.version("hwloop")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    run: Callable[[argparse.Namespace], int] = args.run
    # `simulate` holds its warnings until it succeeds, so a failing run prints one error line.
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setFormatter(logging.Formatter("hwloop: warning: %(message)s"))
    held = logging.handlers.MemoryHandler(10_000, flushLevel=logging.CRITICAL + 1,
                                          target=to_stderr, flushOnClose=False)
    handler = held if run in (run_simulate, run_replay) else to_stderr
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        return run(args)
    except InputError as exc:
        held.buffer.clear()
        print(f"hwloop: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        held.buffer.clear()
        print("hwloop: error: out of memory; simulate fewer or smaller layers", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hwloop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        root.removeHandler(handler)
        held.flush()
        held.close()


if __name__ == "__main__":
    sys.exit(main())
