"""One layer on a systolic array under an explicit mapping: a report row.

Stall-free, every number is a closed form over the nest's tile classes; with a finite DRAM
the tiles' transfers become memory events that the pipe times (``_events.py``). DRAM words
never depend on the bandwidth.
"""
from __future__ import annotations

from hwloop.arch import Accelerator, Mapping, SystolicArray
from hwloop.sim.arrays import MEMORY_COLUMNS, add_energy, add_width_columns, layer_bits, packed
from hwloop.sim.memory import check_buffers, time_layer_events
from hwloop.sim.schedule import check_layer_fits
from hwloop.traces import InputError, Layer

from ._costs import compute_counts, dram_words
from ._events import mapped_events
from ._nest import LoopNest, loop_nest


def nest_for(layer: Layer, accel: Accelerator, mapping: Mapping) -> tuple[LoopNest, Accelerator]:
    """``layer``'s loop nest under ``mapping``, checked against ``accel``'s buffers (each
    operand's tile must fit in half its buffer), and the accelerator at the layer's widths."""
    if not isinstance(accel.array, SystolicArray) or type(accel.array) is not SystolicArray:
        raise InputError(f"explicit mappings model a systolic array, not "
                         f"'{accel.array.kind}'", field="--mapping")
    accel = packed(accel, *layer_bits(layer, accel))
    check_buffers(accel)
    check_layer_fits(layer)
    nest = loop_nest(layer, mapping, accel.array.dataflow)
    check_fits(nest, accel)
    return nest, accel


def tile_words(nest: LoopNest) -> dict[str, int]:
    """Words of each operand's largest (first) tile."""
    m, n, k = (nest.loops[name].classes[0] for name in "mnk")
    return {"ifmap": m.ifmap_factor * k.ifmap_factor, "filter": k.extent * n.extent,
            "ofmap": m.extent * n.extent}


#: The tile field to blame when an operand's tile is too large, per kind of layer.
_BLAME = {"ifmap": ("tile_k", "tile_c"), "filter": ("tile_n", "tile_n"),
          "ofmap": ("tile_m", "tile_p")}


def check_fits(nest: LoopNest, accel: Accelerator) -> None:
    """Each operand's tile fits in half its buffer (the other half prefetches)."""
    conv = "tile_p" in dict(nest.tiles)
    for operand, words in tile_words(nest).items():
        half = accel.sram.words(operand) // 2
        if words > half:
            raise InputError(f"the {operand} tile holds {words:,} words but half the {operand} "
                             f"buffer holds {half:,}", field=_BLAME[operand][conv])


def simulate_mapped_layer(layer: Layer, accel: Accelerator, mapping: Mapping) -> dict:
    """Counters of ``layer`` under ``mapping`` (one report row, every channel group)."""
    nest, accel = nest_for(layer, accel, mapping)
    array = accel.array
    counts = compute_counts(nest, array.rows, array.cols)
    words = dram_words(nest)
    memory: dict = dict.fromkeys(MEMORY_COLUMNS)
    stalls = 0
    if accel.dram.finite:
        run = time_layer_events(mapped_events(nest, array.rows, array.cols), accel, layer.groups,
                                history=False)
        stalls = run.timing.stall_cycles
        memory.update(run.fields)
    return mapped_row(nest, counts, words, stalls, memory, array.rows * array.cols)


def mapped_row(nest: LoopNest, counts: dict, words: dict, stalls: int, memory: dict,
               pes: int) -> dict:
    """The report row of a nest from its counts (one channel group) and stalls."""
    layer, groups = nest.layer, nest.layer.groups
    pixels, filters, window = layer.gemm_mnk
    total = counts["compute_cycles"] + stalls
    macs = pixels * filters * window
    return {
        "name": layer.name,
        "kind": layer.kind.value,
        "dataflow": nest.dataflow.value,
        "mapping": nest.mapping().describe(),
        "total_cycles": groups * total,
        "stall_cycles": groups * stalls,
        "compute_util": 100.0 * counts["temporal_work"] / (pes * max(counts["fold_cycles"], 1)),
        "mapping_eff": 100.0 * counts["spatial_work"] / (pes * counts["folds"]),
        "overall_util": 100.0 * macs / (max(total, 1) * pes),
        "macs": groups * macs,
        **{key: groups * counts[key] for key in ("ifmap_sram_reads", "filter_sram_reads",
                                                 "ofmap_sram_writes", "ofmap_sram_reads")},
        **{key: groups * value for key, value in words.items()},
        "row_folds": None,
        "col_folds": None,
        **memory,
    }


def mapped_layer_row(layer: Layer, accel: Accelerator, mapping: Mapping) -> dict:
    """A whole report row of ``layer`` under ``mapping``: counters, widths, time, energy."""
    row = simulate_mapped_layer(layer, accel, mapping)
    add_width_columns(row, layer, accel)
    row["time_s"] = row["total_cycles"] / (accel.clock_ghz * 1e9)
    return add_energy(row, accel)
