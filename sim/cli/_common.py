"""Helpers every ``hwloop`` subcommand shares: errors placed on the option or file line that
set the value, and output paths checked before anything runs."""
from __future__ import annotations

import argparse
import os
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
                     "accumulate_psums": "--accumulate-psums", "vector_lanes": "--vector-lanes",
                     "keep_activations": "--keep-activations", "enabled": "--sparse",
                     "sparse": "--sparse", "representation": "--sparse-rep",
                     "sparse_rep": "--sparse-rep", "row_wise": "--sparse-row-wise",
                     "sparse_row_wise": "--sparse-row-wise", "block_size": "--sparse-block",
                     "sparse_block": "--sparse-block", "sparse_seed": "--sparse-seed",
                     "cores": "--cores",
                     "partition": "--partition", "noc_bw": "--noc-bw",
                     "mesh_rows": "--mesh-rows"}



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
    given = getattr(args, option.lstrip("-").replace("-", "_"), None)
    if given is not None and given is not False:  # a flag left off is False, not given
        return InputError(exc.reason, field=option)
    if args.config:
        from hwloop.arch import field_line

        return InputError(exc.reason, source=args.config,
                          line=field_line(args.config, exc.field), field=exc.field)
    return InputError(exc.reason, field=exc.field)


def check_outputs(files: dict[str, str | None], plots: tuple[str, ...] = ("--plot",)) -> None:
    """Check every output path (option -> path; None when not asked for) before anything runs,
    so that a bad one fails in one line instead of after the simulation. Options in ``plots``
    also need a suffix matplotlib writes."""
    seen: dict[Path, str] = {}
    for option, path in files.items():
        if path is None:
            continue
        where = check_output(option, path, plot=option in plots)
        if where in seen:
            raise InputError(f"{path!r} is also the {seen[where]} file", field=option)
        seen[where] = option


def check_output(option: str, path: str, plot: bool = False) -> Path:
    """``path`` names a file ``option`` may write: not a folder or a stream, in a folder that
    exists and is writable (and, for a ``plot``, with a suffix matplotlib can write).
    Returns the file it names, through symbolic links."""
    from hwloop.sim.report import output_target

    try:
        target = output_target(path) if path else Path.cwd()
        is_dir, exists, is_file = target.is_dir(), target.exists(), target.is_file()
    except ValueError as exc:
        raise InputError(str(exc), field=option) from None
    except OSError as exc:  # e.g. a name too long for the file system
        raise InputError(f"cannot use {path[:60]!r}: {exc.strerror or exc}", field=option) from None
    if is_dir:
        raise InputError(f"{path!r} is a folder; name a file", field=option)
    if exists and not is_file:
        raise InputError(f"{path!r} is not a regular file", field=option)
    _check_folder(option, target.parent)
    if plot:
        from hwloop.sim.report import plot_formats

        suffix = Path(path).suffix.lower().lstrip(".")  # as matplotlib reads it
        formats = sorted(plot_formats())
        if suffix not in formats:
            raise InputError(f"cannot plot to {path!r}: use a suffix among "
                             f"{', '.join('.' + f for f in formats)}", field=option)
    return target


def check_output_folder(option: str, path: str) -> None:
    """``path`` is a folder ``option`` may write into, or one it may create."""
    if not path:
        raise InputError("name a folder", field=option)
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_dir():
        raise InputError(f"{path!r} is a file; name a folder", field=option)
    existing = next(folder for folder in (target, *target.parents) if folder.exists())
    if not existing.is_dir():
        raise InputError(f"{str(existing)!r} is a file, so {path!r} cannot be a folder",
                         field=option)
    _check_folder(option, existing)


def _check_folder(option: str, folder: Path) -> None:
    if not folder.is_dir():
        why = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"folder {str(folder)!r} {why}", field=option)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"folder {str(folder)!r} is not writable", field=option)
