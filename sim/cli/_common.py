"""Helpers every ``hwloop`` subcommand shares: errors placed on the option or file line that
set the value, and output paths checked before anything runs."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from hwloop.traces import InputError

#: Accelerator fields a ``simulate`` option overrides, and that option (array kinds add
#: their own: :func:`override_options`).
_OVERRIDE_OPTIONS = {"rows": "--rows", "cols": "--cols", "dataflow": "--dataflow",
                     "ifmap_kb": "--ifmap-kb", "filter_kb": "--filter-kb", "ofmap_kb": "--ofmap-kb",
                     "bandwidth": "--bandwidth", "ifmap_bandwidth": "--ifmap-bw",
                     "filter_bandwidth": "--filter-bw", "ofmap_bandwidth": "--ofmap-bw",
                     "latency_cycles": "--dram-latency", "model": "--dram",
                     "array_kind": "--array-kind", "weight_bits": "--weight-bits",
                     "act_bits": "--act-bits", "bits_per_cycle": "--bits-per-cycle",
                     "serial_operand": "--serial-operand", "energy": "--energy",
                     "accumulate_psums": "--accumulate-psums"}



def override_options() -> dict[str, str]:
    """Every accelerator field a command-line option sets, and that option."""
    from hwloop.sim.arrays import registered_models

    kinds = {name: option for model in registered_models() for name, option in model.options.items()}
    return {**_OVERRIDE_OPTIONS, **kinds}


def as_option(lookup: Callable[[str], object], name: str, option: str):
    """``lookup(name)``, with an unknown name reported against the command-line ``option``."""
    try:
        return lookup(name)
    except InputError as exc:
        raise InputError(exc.reason, field=option) from None


def locate_hardware_error(exc: InputError, args: argparse.Namespace) -> InputError:
    """Place a simulation-time error about an accelerator field (a buffer too small for the
    array) where that value was set, not at the layer being simulated: the override option
    that set it, else the line of the ``--config`` file that did."""
    options = override_options()
    if exc.field not in options:
        return exc
    option = options[exc.field]
    if getattr(args, option.lstrip("-").replace("-", "_"), None) is not None:
        return InputError(exc.reason, field=option)
    if args.config:
        from hwloop.arch import field_line

        return InputError(exc.reason, source=args.config,
                          line=field_line(args.config, exc.field), field=exc.field)
    return InputError(exc.reason, field=exc.field)


def check_writable(option: str, path: str) -> None:
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"directory {str(parent)!r} does not exist", field=option)
