"""One layer on one accelerator: its kind's model, then widths, time and energy."""
from __future__ import annotations

from dataclasses import replace

from hwloop.arch import Accelerator, Chip, Dram
from hwloop.sim.arrays import (
    add_energy,
    add_width_columns,
    dense_equivalent,
    model_for,
    ratio_of,
    row_wise_row,
    sparse_row,
)
from hwloop.sim.memory import LayerRecorder
from hwloop.traces import InputError, Layer

from ._cores import simulate_on_cores


def simulate_layer(layer: Layer, accel: Accelerator, *, scalesim_compat: bool = False,
                   recorder: LayerRecorder | None = None) -> dict:
    """One layer's counters (a report row) on ``accel``: on a chip of several cores, split
    over them (``_cores``); a layer with N:M weights, on an accelerator that honours them, as
    the dense layer of its kept weights."""
    if accel.chip.cores == 1:
        return finish_row(_array_row(layer, accel, scalesim_compat, recorder), layer, accel)
    if recorder is not None or scalesim_compat:
        raise InputError("a chip of several cores is hwloop's own model (untraced, and "
                         "SCALE-Sim's implicit schedule has one array)", field="--cores")
    if accel.sparsity.row_wise:  # a part's filters would draw the layer's first patterns
        raise InputError("row-wise N:M draws each layer's patterns on one array; use "
                         "--cores 1", field="--cores")
    core = replace(accel, chip=Chip(), dram=Dram())  # the chip times the shared DRAM itself
    row = simulate_on_cores(layer, accel, lambda part: _array_row(part, core, False, None))
    return finish_row(row, layer, accel)


def _array_row(layer: Layer, accel: Accelerator, scalesim_compat: bool,
               recorder: LayerRecorder | None) -> dict:
    """The array model's counters for ``layer`` (before widths, time and energy)."""
    if accel.sparsity.row_wise:  # SCALE-Sim's row-wise N:M: every layer, its own draws
        if recorder is not None:
            raise InputError("traces of row-wise N:M layers are not recorded; drop --trace "
                             "or --sparse-row-wise", field="--sparse-row-wise")
        return row_wise_row(layer, accel, scalesim_compat=scalesim_compat)
    ratio = ratio_of(layer, accel)
    if ratio is None:
        return model_for(accel).simulate_layer(layer, accel, scalesim_compat=scalesim_compat,
                                               recorder=recorder)
    if recorder is not None:
        raise InputError("traces of N:M sparse layers are not recorded yet; drop --trace or "
                         "--sparse", field="--sparse")
    run = dense_equivalent(layer, *ratio)
    row = model_for(accel).simulate_layer(run, accel, scalesim_compat=scalesim_compat)
    return sparse_row(row, layer, accel, ratio, scalesim_compat=scalesim_compat)


def finish_row(row: dict, layer: Layer, accel: Accelerator) -> dict:
    """A model's counters as a whole report row: the mapping (SCALE-Sim's unless the row
    says), widths, time and energy (the counters priced with ``accel.energy``)."""
    row.setdefault("mapping", "scalesim")
    row.setdefault("dram_ofmap_reads", 0)
    add_width_columns(row, layer, accel)
    row["time_s"] = row["total_cycles"] / (accel.clock_ghz * 1e9)
    return add_energy(row, accel)
