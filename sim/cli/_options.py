"""Options shared by the ``hwloop`` subcommands: argument types, memory and precision
options, and the precision-switch run (kept apart so that ``cli.py`` stays small)."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from hwloop.arch import (
    MAX_ARRAY_DIM,
    MAX_BANDWIDTH,
    MAX_BUFFER_KIB,
    MAX_LATENCY_CYCLES,
    MAX_OPERAND_BITS,
)

#: The largest ceiling of the settings a plain ``_positive_int`` option sets (docs/limits.md);
#: the config then checks the setting's own ceiling and names the option.
_MAX_INT_OPTION = max(MAX_ARRAY_DIM, MAX_BUFFER_KIB, MAX_BANDWIDTH)


_ASCII_INTEGER = re.compile(r"[+-]?[0-9]+")


def _int_from(text: str, low: int, high: int, what: str) -> int:
    """``text`` as an integer in ``[low, high]``, else one argparse error line (argparse
    names the option)."""
    shown = text if len(text) <= 24 else f"{text[:20]}..."
    if not _ASCII_INTEGER.fullmatch(text.strip()):  # int() also reads 1_6 and other scripts' digits
        raise argparse.ArgumentTypeError(f"must be {what} in ASCII digits, got {shown!r}")
    try:
        value = int(text)
    except ValueError:  # a number of more digits than int() converts
        raise argparse.ArgumentTypeError(f"must be {what}, got {shown!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {what}, got {shown!r}")
    if value > high:
        raise argparse.ArgumentTypeError(f"must be at most {high:,} (docs/limits.md), "
                                         f"got {shown!r}")
    return value


def _positive_int(text: str) -> int:
    return _int_from(text, 1, _MAX_INT_OPTION, "a positive integer")


def _non_negative_int(text: str) -> int:
    """A DRAM latency in cycles: its ceiling is the only one a non-negative option has."""
    return _int_from(text, 0, MAX_LATENCY_CYCLES, "a non-negative integer")


def _array_dim(text: str) -> int:
    return _int_from(text, 1, MAX_ARRAY_DIM, "a positive integer")


def _kib(text: str) -> int:
    return _int_from(text, 1, MAX_BUFFER_KIB, "a positive integer")


def _bandwidth(text: str) -> int:
    return _int_from(text, 1, MAX_BANDWIDTH, "a positive integer")


def add_memory_options(p: argparse.ArgumentParser) -> None:
    """DRAM and buffer options shared by ``simulate`` and ``replay``."""
    p.add_argument("--bandwidth", type=_bandwidth, metavar="N",
                   help="DRAM words per cycle on each port (ifmap read, filter read, ofmap "
                        "write), as SCALE-Sim's Bandwidth; switches stall modelling on")
    for operand in ("ifmap", "filter", "ofmap"):
        p.add_argument(f"--{operand}-bw", type=_bandwidth, metavar="N",
                       help=f"DRAM words per cycle of the {operand} port only")
    p.add_argument("--dram-latency", type=_non_negative_int, metavar="CYCLES",
                   help="DRAM latency in cycles (default 0)")
    p.add_argument("--dram", metavar="PRESET",
                   help="time DRAM with an event-driven device model (e.g. ddr4-3200, "
                        "lpddr4-3200) instead of a fixed-bandwidth pipe")


#: ``--dataflow`` where the command can choose per layer (``simulate``).
_AUTO_HELP = ("override dataflow: os, ws, is, or auto: run each layer under all three (on "
              "fused arrays, each tiling of a PE's MACs too) and keep its best by --optimize; "
              "the table then shows each layer's choice")


def add_hardware_options(p: argparse.ArgumentParser, preset_help: str = "named accelerator",
                         auto: bool = False) -> None:
    """The accelerator options ``simulate`` and ``validate`` share: a preset or config file,
    array and buffer overrides, and the DRAM (:func:`add_memory_options`). ``auto``: the
    command takes ``--dataflow auto`` (its help says so)."""
    hardware = p.add_mutually_exclusive_group()
    hardware.add_argument("--preset", metavar="NAME", help=preset_help)
    hardware.add_argument("--config", metavar="FILE", help="SCALE-Sim .cfg or hwloop .toml")
    p.add_argument("--rows", type=_array_dim, help="override array rows")
    p.add_argument("--cols", type=_array_dim, help="override array columns")
    p.add_argument("--dataflow", type=_dataflow,
                   help=_AUTO_HELP if auto else "override dataflow: os, ws or is")
    for operand in ("ifmap", "filter", "ofmap"):
        p.add_argument(f"--{operand}-kb", type=_kib, metavar="KIB",
                       help=f"override {operand} SRAM size in KiB")
    add_memory_options(p)


def add_vector_options(p: argparse.ArgumentParser) -> None:
    """The vector unit's options (``simulate``, ``map``)."""
    p.add_argument("--keep-activations", action="store_true",
                   help="keep a layer's output that fits in SRAM for its consumers (no DRAM "
                        "write, no DRAM read back); SCALE-Sim sends every output to DRAM")
    p.add_argument("--vector-ops", action="store_true",
                   help="with --network: add the network's operators without MACs "
                        "(activations, norms, pooling, residual additions) as vector-unit "
                        "rows; without it a built-in network is exactly its SCALE-Sim topology")
    p.add_argument("--vector-lanes", type=_positive_int, metavar="N",
                   help="lanes of the vector unit that runs operators without MACs "
                        "(activations, softmax, norms, pooling, additions; default 32)")
    p.add_argument("--sparse", action="store_true",
                   help="honour each layer's N:M weight sparsity (the topology's Sparsity "
                        "column), as SCALE-Sim v3 with SparsitySupport")
    p.add_argument("--sparse-rep", choices=("ellpack_block", "csr", "csc", "bitmap"),
                   help="how sparse filters are stored (metadata in dram_filter_bytes; "
                        "default ellpack_block)")
    p.add_argument("--sparse-row-wise", action="store_true",
                   help="SCALE-Sim's row-wise N:M (OptimizedMapping; implies --sparse, WS "
                        "only): each filter keeps its own random N of every block")
    p.add_argument("--sparse-block", type=_positive_int, metavar="B",
                   help="row-wise block size (SCALE-Sim's BlockSize; default 8)")
    p.add_argument("--sparse-seed", type=int, metavar="S",
                   help="seed of the row-wise draws (SCALE-Sim's RandomNumberGeneratorSeed; "
                        "default 40)")


def add_chip_options(p: argparse.ArgumentParser) -> None:
    """A chip of several cores (``simulate``, ``map``)."""
    p.add_argument("--cores", type=_positive_int, metavar="N",
                   help="identical arrays, each with its own SRAM buffers, sharing the DRAM "
                        "(default 1); each layer is split over them")
    p.add_argument("--partition", choices=("m", "n", "k", "auto"),
                   help="split layers by output pixels (m), filters (n) or input channels "
                        "(k, partial sums reduced over the mesh); auto (default): per "
                        "layer, the fewest cycles")
    p.add_argument("--noc-bw", type=_positive_int, metavar="W",
                   help="words per cycle per mesh link of the on-chip network (default 16)")
    p.add_argument("--mesh-rows", type=_positive_int, metavar="R",
                   help="rows of the mesh the cores sit on (default: the most nearly square)")


def sparsity_overrides(args: argparse.Namespace) -> dict:
    """The accelerator overrides of the ``--sparse*`` options (``--sparse-row-wise`` turns
    sparsity support on)."""
    row_wise = getattr(args, "sparse_row_wise", False)
    return {"sparse": True if getattr(args, "sparse", False) or row_wise else None,
            "sparse_rep": getattr(args, "sparse_rep", None),
            "sparse_row_wise": True if row_wise else None,
            "sparse_block": getattr(args, "sparse_block", None),
            "sparse_seed": getattr(args, "sparse_seed", None)}


def memory_overrides(args: argparse.Namespace) -> dict:
    return {"bandwidth": args.bandwidth, "ifmap_bandwidth": args.ifmap_bw,
            "filter_bandwidth": args.filter_bw, "ofmap_bandwidth": args.ofmap_bw,
            "dram_latency": args.dram_latency, "dram_model": args.dram}


def _dataflow(text: str) -> str:
    if text.strip().lower() not in ("os", "ws", "is", "auto"):
        raise argparse.ArgumentTypeError(f"unknown dataflow {text!r}; choose os, ws, is or auto")
    return text.strip().lower()


def _bits(text: str) -> int:
    """Operand widths and serial bits per cycle: 1 to ``MAX_OPERAND_BITS``."""
    return _int_from(text, 1, MAX_OPERAND_BITS, f"from 1 to {MAX_OPERAND_BITS} bits")


def _add_precision_options(p: argparse.ArgumentParser) -> None:
    from hwloop.arch import ARRAY_KINDS

    p.add_argument("--array-kind", choices=tuple(ARRAY_KINDS),
                   help="PE array: plain systolic, Bit Fusion, bit-serial, 2-in-1 or analog "
                        "in-memory-compute tiles (rows x cols devices per tile)")
    p.add_argument("--weight-bits", type=_bits, metavar="W",
                   help="weight width of layers that do not set their own (default 8)")
    p.add_argument("--act-bits", type=_bits, metavar="A",
                   help="activation width of layers that do not set their own (default 8)")
    p.add_argument("--serial-operand", choices=("weight", "act"),
                   help="bit-serial arrays: the operand fed bit by bit (default weight)")
    p.add_argument("--bits-per-cycle", type=_bits, metavar="N",
                   help="bit-serial and 2-in-1 arrays: serial bits per cycle")
    p.add_argument("--accumulate-psums", action="store_true",
                   help="WS/IS: accumulate partial sums in the ofmap buffer; only final outputs "
                        "go to DRAM (SCALE-Sim writes every row fold's)")
    p.add_argument("--energy", metavar="TABLE",
                   help="energy/area table: horowitz_45nm (default) or zigzag_tpu_like")
    p.add_argument("--optimize", choices=("latency", "energy", "edp"),
                   help="with --dataflow auto or --mapping auto: per layer, keep the fastest "
                        "(latency, the default), the least-energy or the least energy x "
                        "cycles (edp) choice")
    p.add_argument("--precision-switch", metavar="SPEC",
                   help="random precision switch, e.g. '8:0.5,4:0.3,4x2:0.2' (bits or WxA : "
                        "probability): report expected and worst-case cost")


def _with_widths(network, weight_bits: int | None, act_bits: int | None):
    """``network`` with these widths on every layer that does not set its own."""
    if weight_bits is None and act_bits is None:
        return network
    from dataclasses import replace

    layers = tuple(replace(layer, weight_bits=layer.weight_bits or weight_bits,
                           act_bits=layer.act_bits or act_bits) for layer in network.layers)
    return replace(network, layers=layers)  # keeps its vector operators and where it came from


def _shape(text: str) -> tuple[str | None, tuple[int, ...]]:
    """``--model-input-shape``: ``1,3,224,224`` or ``NAME=1,3,224,224``."""
    name, _, dims = text.rpartition("=")
    try:
        shape = tuple(int(d) for d in dims.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) <= 0:
        raise argparse.ArgumentTypeError(f"must be positive integers separated by commas, "
                                         f"optionally after NAME=, got {text!r}")
    return name or None, shape


def model_input_shapes(shapes: list[tuple[str | None, tuple[int, ...]]] | None):
    """``--model-input-shape`` values as ``network_from_onnx``'s ``input_shapes``."""
    if not shapes:
        return None
    if len(shapes) == 1 and shapes[0][0] is None:
        return shapes[0][1]
    from hwloop.traces import InputError

    if any(name is None for name, _ in shapes):
        raise InputError("with several shapes, name each input: NAME=SHAPE",
                         field="--model-input-shape")
    return dict(shapes)


def _run_precision_switch(network, accel, args: argparse.Namespace, options: dict) -> int:
    from hwloop.sim.engine import parse_switch, precision_switch
    from hwloop.sim.report import strict_json, write_atomic
    from hwloop.traces import InputError

    for option in ("--csv", "--plot", "--trace"):
        if getattr(args, option.lstrip("-")) is not None:
            raise InputError("a precision switch writes --json only", field=option)
    result = precision_switch(network, accel, parse_switch(args.precision_switch), **options)
    keys = list(result.expected)
    lines = [f"{network.name}: random precision switch on {accel.array.kind} "
             f"{accel.array.rows}x{accel.array.cols}",
             f"{'weight x act':>14s} {'probability':>11s} " + " ".join(f"{k:>18s}" for k in keys)]
    for (w, a, p), report in zip(result.choices, result.reports):
        lines.append(f"{f'{w}x{a}':>14s} {p:11.3f} "
                     + " ".join(f"{report.totals[k]:18,.0f}" for k in keys))
    for label, values in (("expected", result.expected), ("worst case", result.worst)):
        lines.append(f"{label:>14s} {'':11s} " + " ".join(f"{values[k]:18,.0f}" for k in keys))
    print("\n".join(lines))
    if args.json:
        write_atomic(Path(args.json), strict_json(result.to_dict()), "--json")
    return 0
