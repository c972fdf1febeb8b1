"""One layer on one accelerator: its kind's model, then widths, time and energy."""
from __future__ import annotations

from hwloop.arch import Accelerator
from hwloop.sim.arrays import add_energy, add_width_columns, dense_equivalent, model_for, ratio_of, sparse_row
from hwloop.sim.memory import LayerRecorder
from hwloop.traces import InputError, Layer


def simulate_layer(layer: Layer, accel: Accelerator, *, scalesim_compat: bool = False,
                   recorder: LayerRecorder | None = None) -> dict:
    """One layer's counters (a report row) on ``accel``: a layer with N:M weights, on an
    accelerator that honours them, runs as the dense layer of its kept weights."""
    ratio = ratio_of(layer, accel)
    if ratio is None:
        row = model_for(accel).simulate_layer(layer, accel, scalesim_compat=scalesim_compat,
                                              recorder=recorder)
        return finish_row(row, layer, accel)
    if recorder is not None:
        raise InputError("traces of N:M sparse layers are not recorded yet; drop --trace or "
                         "--sparse", field="--sparse")
    run = dense_equivalent(layer, *ratio)
    row = model_for(accel).simulate_layer(run, accel, scalesim_compat=scalesim_compat)
    return finish_row(sparse_row(row, layer, accel, ratio, scalesim_compat=scalesim_compat),
                      layer, accel)


def finish_row(row: dict, layer: Layer, accel: Accelerator) -> dict:
    """A model's counters as a whole report row: the mapping (SCALE-Sim's unless the row
    says), widths, time and energy (the counters priced with ``accel.energy``)."""
    row.setdefault("mapping", "scalesim")
    row.setdefault("dram_ofmap_reads", 0)
    add_width_columns(row, layer, accel)
    row["time_s"] = row["total_cycles"] / (accel.clock_ghz * 1e9)
    return add_energy(row, accel)
