"""The systolic-array model: one layer on one accelerator, exact to SCALE-Sim v3.

Cycles, utilisation and SRAM traffic follow from the layer's schedule (the same demand
matrices SCALE-Sim builds, counted instead of built); DRAM reads come from the memory
system: closed forms and buffer walks stall-free, timed events with a finite DRAM.

Modelling choices kept from SCALE-Sim (see the README): total cycles are the index of the
last demand row (rows - 1); reads of window elements that fall outside an input whose size
is not a whole number of strides count as SRAM reads (SCALE-Sim uses ``ceil((H - F + S) /
S)`` outputs); in WS and IS every row fold's partial sums are written out, none are
accumulated on chip unless the ofmap buffer accumulates them (``accumulate_psums``).

SCALE-Sim defects hwloop corrects unless ``scalesim_compat`` is set:
* OS ofmap SRAM writes: SCALE-Sim adds ``rows + cols`` per fold.
* DRAM ofmap writes: SCALE-Sim's write buffer counts the empty slots of partly filled
  lines inside a drain as words written. hwloop counts the words written.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from hwloop.arch import Accelerator, Dram
from hwloop.sim.kernels import scalesim_ofmap_drain
from hwloop.sim.memory import (
    BUDGET,
    MemoryEvents,
    check_buffers,
    operand_windows,
    periodic_applies,
    periodic_memory,
    periodic_worth,
    piece_streams,
    resets_on_turnover,
    run_memory,
    simulate_scalesim_user,
    stall_free_reads,
    untraced_events,
)
from hwloop.sim.schedule import Schedule, array_schedule, check_layer_fits
from hwloop.traces import InputError, Layer

from ._base import ArrayModel
from ._widths import layer_bits, packed

if TYPE_CHECKING:
    from hwloop.sim.memory import LayerRecorder

#: Report columns only a finite memory system fills (None when DRAM is unlimited).
MEMORY_COLUMNS = ("prefetch_cycles",
                  *(f"dram_{op}_{edge}" for op in ("ifmap", "filter", "ofmap")
                    for edge in ("start", "stop")),
                  *(f"{kind}_{op}_dram_bw" for kind in ("avg", "peak")
                    for op in ("ifmap", "filter", "ofmap")))


class SystolicModel(ArrayModel):
    """Weight/input/output-stationary systolic arrays, exact to SCALE-Sim v3."""

    kind = "systolic"

    def simulate_layer(self, layer: Layer, accel: Accelerator, *, scalesim_compat: bool,
                       recorder: LayerRecorder | None = None) -> dict:
        return simulate_systolic_layer(layer, packed(accel, *layer_bits(layer, accel)),
                                       scalesim_compat=scalesim_compat, recorder=recorder)


def simulate_systolic_layer(layer: Layer, accel: Accelerator, *, scalesim_compat: bool = False,
                            recorder: LayerRecorder | None = None,
                            events: MemoryEvents | None = None) -> dict:
    """Per-layer counters as plain Python numbers (one row of a report).

    With a finite DRAM, a ``recorder`` (tracing) or ``events`` (replaying a trace), the
    memory side runs too; only a finite DRAM can stall.
    """
    sched = array_schedule(layer, accel.array)
    check_buffers(accel)
    check_layer_fits(layer)
    accumulate = accel.sram.accumulate_psums and sched.spills_psums
    traced = recorder is not None or events is not None
    if accumulate and (scalesim_compat or accel.dram.finite or traced):
        raise InputError("on-chip partial-sum accumulation is modelled stall-free and untraced "
                         "only (and SCALE-Sim has none)", field="accumulate_psums")
    if accel.dram.finite and scalesim_compat:
        if layer.masked is not None:
            raise InputError("SCALE-Sim's fixed-bandwidth (USER mode) replica has no N:M "
                             "window whose kept channels shift from tap to tap; drop "
                             "--scalesim-compat", field=f"layer {layer.name!r} sparsity")
        return _scalesim_user_row(layer, accel, traced)
    dram_ifmap, dram_filter, stalls, memory = _dram_reads(sched, accel, recorder, events)
    pixels, filters, _ = sched.gemm
    ofmap_writes, dram_ofmap, ofmap_sram_reads = sched.ofmap_sram_writes, sched.ofmap_sram_writes, 0
    if accumulate:  # partial sums meet in the ofmap buffer; finished outputs leave once
        dram_ofmap = pixels * filters
        ofmap_sram_reads = (sched.row_folds - 1) * pixels * filters
    if scalesim_compat:
        ofmap_writes = sched.scalesim_ofmap_writes
        dram_ofmap, stalls = _scalesim_drain(sched, accel, dram_ofmap)
    return _row(sched, layer, sched.demand_rows - 1 + stalls, stalls,
                (ofmap_writes, ofmap_sram_reads), (dram_ifmap, dram_filter, dram_ofmap), memory)


def _dram_reads(sched: Schedule, accel: Accelerator, recorder, events) -> tuple[int, int, int, dict]:
    """(ifmap words, filter words, stall cycles, memory columns) the memory system gives."""
    memory: dict = dict.fromkeys(MEMORY_COLUMNS)
    if (accel.dram.finite and recorder is None and events is None and accel.dram.model is None
            and periodic_worth(sched, accel.sram) and periodic_applies(sched, accel.sram)):
        found = periodic_memory(sched, accel, sched.layer.groups, budget=BUDGET)
        if found is not None:  # else the layer repeats too little: time its events
            memory.update(found[1])
            fetched = piece_streams(sched.shape(), accel.sram).totals
            return fetched[0], fetched[1], found[0], memory
    if accel.dram.finite or recorder is not None or events is not None:
        run = run_memory(sched, accel, sched.layer.groups, recorder=recorder, events=events)
        # the walk fetches exactly the words the closed forms count (tests/sim/test_memory_timing.py)
        if not accel.dram.finite:
            return *run.fetched, 0, memory
        memory.update(run.fields)
        return *run.fetched, run.timing.stall_cycles, memory
    if not resets_on_turnover(accel.sram) or sched.layer.masked is not None:
        # SCALE-Sim's read window slides by the prefetch sets and keeps the newest active
        # ones; only at an even split is that a reset, which the closed forms assume. Walk.
        found = untraced_events(sched.shape(), accel.sram)
        return int(found.ifmap.words.sum()), int(found.filter.words.sum()), 0, memory
    sram = accel.sram
    return *stall_free_reads(sched, operand_windows(sram, "ifmap"),
                             operand_windows(sram, "filter")), 0, memory


def _scalesim_drain(sched: Schedule, accel: Accelerator, dram_ofmap: int) -> tuple[int, int]:
    """SCALE-Sim's ofmap write buffer, defect included: (DRAM words counted, stalls)."""
    total_words = accel.sram.words("ofmap")
    active = math.ceil(total_words * accel.sram.active_fraction)
    drained, stalls, _ = scalesim_ofmap_drain(
        sched.code, sched.rows, sched.cols, sched.spatial_rows, sched.temporal,
        sched.spatial_cols, total_words, active, dram_ofmap)
    return int(drained), int(stalls)


def _row(sched: Schedule, layer: Layer, total_cycles: int, stalls: int,
         ofmap_sram: tuple[int, int], dram: tuple[int, int, int], memory: dict) -> dict:
    """One channel group's counters as a report row of the whole layer."""
    groups = layer.groups
    pixels, filters, window = sched.gemm
    macs = pixels * filters * window
    pes = sched.rows * sched.cols
    return {
        "name": layer.name,
        "kind": layer.kind.value,
        "total_cycles": groups * total_cycles,
        "stall_cycles": groups * stalls,
        "compute_util": 100.0 * sched.spatial_rows * sched.spatial_cols * sched.temporal / (
            pes * sched.fold_cycles * sched.folds),
        "mapping_eff": 100.0 * sched.spatial_rows * sched.spatial_cols / (pes * sched.folds),
        "overall_util": 100.0 * macs / (max(total_cycles, 1) * pes),
        "macs": groups * macs,
        "ifmap_sram_reads": groups * sched.ifmap_sram_reads,
        "filter_sram_reads": groups * sched.filter_sram_reads,
        "ofmap_sram_writes": groups * ofmap_sram[0],
        "ofmap_sram_reads": groups * ofmap_sram[1],
        "dram_ifmap_reads": groups * dram[0],
        "dram_filter_reads": groups * dram[1],
        "dram_ofmap_writes": groups * dram[2],
        "row_folds": sched.row_folds,
        "col_folds": sched.col_folds,
        **memory,
    }


def _scalesim_user_row(layer: Layer, accel: Accelerator, traced: bool) -> dict:
    """SCALE-Sim's fixed-bandwidth (USER) mode, defects included (``--scalesim-compat``)."""
    if traced:
        raise InputError("traces and replay use hwloop's memory model; drop --scalesim-compat "
                         "to trace a run with finite bandwidth", field="--scalesim-compat")
    if accel.dram.model is not None:
        raise InputError("SCALE-Sim has no DRAM device model; drop --dram or --scalesim-compat",
                         field="model")
    stall_free = simulate_systolic_layer(layer, replace(accel, dram=Dram()), scalesim_compat=True)
    user = simulate_scalesim_user(layer, accel)
    row = {**stall_free, "total_cycles": user["total_cycles"], "stall_cycles": user["stall_cycles"],
           "dram_ifmap_reads": user["dram_ifmap_reads"], "dram_filter_reads": user["dram_filter_reads"],
           "dram_ofmap_writes": user["dram_ofmap_writes"]}
    pes = accel.array.rows * accel.array.cols
    row["overall_util"] = 100.0 * row["macs"] / (max(row["total_cycles"], 1) * pes)
    bws = accel.dram.port_bandwidths()
    for op, bw, count in zip(("ifmap", "filter", "ofmap"), bws,
                             (user["dram_ifmap_reads"], user["dram_filter_reads"],
                              user["dram_ofmap_writes"])):
        start, stop = user[f"dram_{op}_start"], user[f"dram_{op}_stop"]
        row[f"dram_{op}_start"], row[f"dram_{op}_stop"] = start, stop
        row[f"avg_{op}_dram_bw"] = count / (stop - start + 1)
        row[f"peak_{op}_dram_bw"] = bw
    row["prefetch_cycles"] = max(0, -min(user["dram_ifmap_start"], user["dram_filter_start"]))
    return row
