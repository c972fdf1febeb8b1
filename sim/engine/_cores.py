"""A layer over the cores of a chip: split, each part on its own core, then combined.

A layer's GEMM (``M`` output pixels x ``N`` filters x ``K`` window) splits along one axis
into near-equal parts, one per core (``arch.Chip``):

- ``m``: output rows (each core reads its rows' inputs, halo included). Every core needs
  every filter: the filter stream is fetched from DRAM once and multicast, so the layer's
  DRAM filter reads are one core's.
- ``n``: filters (grouped and depthwise layers: groups). Every core reads the same ifmap:
  fetched once and multicast.
- ``k``: input channels (a GEMM's ``K``; grouped layers: groups, which need no reduction).
  Each core's outputs are partial sums, reduced over the mesh (``noc_cycles``,
  ``noc_word_hops``): along each mesh row to its first core, then down the first column,
  a hop at a time, ``noc_bw`` words per cycle per link, pipelined; the root core writes the
  outputs (the layer's DRAM ofmap writes are its own); the other cores' go to the mesh.
- ``auto``: per layer, the split with the fewest cycles (ties: m, n, k).

Each part is a layer of its own, simulated by the one-array engine on a core (the chip's
array and buffers), so everything a core does is what the engine already does for one
array. The layer takes its slowest core's cycles plus the reduction (the critical path);
MACs, SRAM words and energy add up over the cores, DRAM words as above.

With a finite DRAM (``--bandwidth``: the chip's, shared), every core's memory events (the
engine's, for its part) run together through one set of DRAM ports
(``hwloop.sim.memory.shared_stalls``): each port serves the cores' transfers in the order
they are issued, so a core stalls when the others hold the port. The multicast operand is
one stream (fetched once, into every core's buffer when all of them have room), so DRAM
words do not depend on the bandwidth. The prefetch before cycle 0 (every core's first
blocks) is ``prefetch_cycles``, as for one array. A DRAM device model (``--dram``) is one
device for the chip: the cores' bursts meet in its banks and buses
(``shared_device_stalls``). Systolic arrays only, no N:M sparse layers. A grouped layer's
core runs its groups one after another, each timed as its first (as one array times a
grouped layer): the cores' first groups share the DRAM, and each core's stall is that
group's times its groups.

The partition is a function of one layer, so that scheduling consecutive layers over the
cores (Stream-style pipelining) can later replace :func:`simulate_on_cores` without touching the
parts.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

from hwloop.arch import Accelerator, Chip
from hwloop.sim.arrays import layer_bits, packed
from hwloop.sim.memory import (
    collect_layer_events,
    shared_device_stalls,
    shared_stalls,
    untraced_events,
)
from hwloop.sim.report import register_columns
from hwloop.sim.schedule import array_schedule
from hwloop.traces import InputError, Layer, LayerKind

register_columns({"cores": "cores the layer ran on (--cores)",
                  "partition": "how the layer split over the cores: m, n or k",
                  "core_cycles": "each core's cycles, slash-separated",
                  "core_stall_cycles": "each core's stall cycles (a shared finite DRAM)",
                  "core_dram_words": "each core's DRAM words read and written (a multicast "
                                     "operand counted in every core it reaches)",
                  "noc_cycles": "cycles reducing partial sums over the mesh (k splits)",
                  "noc_word_hops": "words x mesh hops of that reduction"})

#: Counters that add up over the cores.
SUMMED = ("macs", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
          "ofmap_sram_reads", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes")
ORDER = ("m", "n", "k")


def split(layer: Layer, axis: str, parts: int) -> list[Layer]:
    """``layer`` cut into at most ``parts`` near-equal layers along ``axis`` (fewer when the
    axis is shorter than ``parts``)."""
    grouped = layer.groups > 1
    if axis == "m":
        return [replace(layer, ifmap_h=(rows - 1) * layer.stride_h + layer.span_h)
                for rows in _shares(layer.ofmap_h, parts)]
    if grouped:  # n and k both split the independent groups
        return [replace(layer, channels=g * layer.channel_group,
                        conv_groups=g if layer.kind is LayerKind.CONV else 1)
                for g in _shares(layer.groups, parts)]
    if axis == "n":
        return [replace(layer, num_filters=f) for f in _shares(layer.num_filters, parts)]
    if layer.kind is LayerKind.GEMM:
        return [replace(layer, ifmap_w=k, filter_w=k) for k in _shares(layer.filter_w, parts)]
    return [replace(layer, channels=c) for c in _shares(layer.channels, parts)]


def _shares(total: int, parts: int) -> list[int]:
    parts = min(parts, total)
    return [total // parts + (i < total % parts) for i in range(parts)]


def simulate_on_cores(layer: Layer, accel: Accelerator, one_core: Callable[[Layer], dict],
                      ) -> dict:
    """``layer``'s row on ``accel``'s chip; ``one_core(part)`` simulates a part on a core
    whose DRAM is unlimited (the shared DRAM is timed here)."""
    chip = accel.chip
    if accel.dram.finite:
        _check_shared(layer, accel)
    axes = ORDER if chip.partition == "auto" else (chip.partition,)
    rows = []
    for axis in axes:
        parts = split(layer, axis, chip.cores)
        cores = [one_core(part) for part in parts]
        prefetch = None
        if accel.dram.finite:
            cores, prefetch = _contended(parts, cores, accel, _multicast_operand(layer, axis))
        row = combine(layer, axis, cores, chip)
        row["prefetch_cycles"] = prefetch
        rows.append(row)
    return min(rows, key=lambda row: row["total_cycles"])


def _check_shared(layer: Layer, accel: Accelerator) -> None:
    reason = (f"{accel.array.kind} arrays" if accel.array.kind != "systolic" else
              f"N:M sparse layers ({layer.name!r})" if accel.sparsity.enabled and layer.sparsity
              else None)
    if reason is not None:
        raise InputError(f"cores sharing a finite DRAM are modelled for systolic arrays "
                         f"only, not yet {reason}; drop --bandwidth or use "
                         f"--cores 1", field="--cores")


def _multicast_operand(layer: Layer, axis: str) -> int | None:
    """The read operand every core shares (0 ifmap, 1 filter), if any."""
    if layer.groups > 1 or axis == "k":
        return None
    return 1 if axis == "m" else 0


def _contended(parts: list[Layer], cores: list[dict], accel: Accelerator,
               multicast: int | None) -> tuple[list[dict], int]:
    """The cores' rows with the stalls of their memory events sharing ``accel``'s DRAM,
    and the prefetch."""
    events = []
    device = accel.dram.model is not None  # the device model times the words themselves
    for part in parts:
        one = packed(replace(accel, chip=Chip()), *layer_bits(part, accel))
        sched = array_schedule(part, one.array)
        events.append(collect_layer_events(sched, one.sram, record_addresses=True) if device
                      else untraced_events(sched.shape(), one.sram))
    shared = multicast if len(parts) > 1 else None
    stalls, prefetch = (shared_device_stalls(events, accel, shared) if device
                        else shared_stalls(events, accel.dram, shared))
    timed = []
    for part, row, stall in zip(parts, cores, stalls):
        stall *= part.groups  # each group as its first (as one array times groups)
        cycles = row["total_cycles"] + stall
        timed.append({**row, "total_cycles": cycles, "stall_cycles": stall,
                      "overall_util": row["overall_util"] * row["total_cycles"] / max(cycles, 1)})
    return timed, prefetch


def combine(layer: Layer, axis: str, cores: list[dict], chip: Chip) -> dict:
    """The layer's row from its parts' rows (see the module docstring)."""
    row = dict(cores[0])
    for key in SUMMED:
        row[key] = sum(core[key] for core in cores)
    grouped = layer.groups > 1
    if axis == "m" and not grouped:
        row["dram_filter_reads"] = max(core["dram_filter_reads"] for core in cores)
    elif axis == "n" and not grouped:
        row["dram_ifmap_reads"] = max(core["dram_ifmap_reads"] for core in cores)
    reduce = axis == "k" and not grouped and len(cores) > 1
    noc_cycles, word_hops = reduction(layer, len(cores), chip) if reduce else (0, 0)
    if reduce:  # the root's outputs go to DRAM; the others' to the mesh
        row["dram_ofmap_writes"] = cores[0]["dram_ofmap_writes"]
    busy = [core["total_cycles"] for core in cores]
    row["total_cycles"] = max(busy) + noc_cycles
    row["stall_cycles"] = max(core["stall_cycles"] for core in cores)
    row["cores"], row["partition"] = len(cores), axis
    row["core_cycles"] = "/".join(str(c) for c in busy)
    row["core_stall_cycles"] = "/".join(str(core["stall_cycles"]) for core in cores)
    row["core_dram_words"] = "/".join(str(core["dram_ifmap_reads"] + core["dram_filter_reads"]
                                          + core["dram_ofmap_writes"]) for core in cores)
    row["noc_cycles"], row["noc_word_hops"] = noc_cycles, word_hops
    # each core's useful share of its own cycles, over the chip's cores and the layer's time
    row["overall_util"] = sum(core["overall_util"] * core["total_cycles"] for core in cores) / (
        max(row["total_cycles"], 1) * len(cores))
    return row


def reduction(layer: Layer, cores: int, chip: Chip) -> tuple[int, int]:
    """(cycles, word-hops) of reducing ``cores`` cores' partial sums over the mesh."""
    words = layer.ofmap_pixels * layer.num_filters * layer.groups
    # all the chip's cores: its mesh; fewer (a short axis): the most square grid of them
    mesh_rows, mesh_cols = chip.mesh if cores == chip.cores else Chip(cores=cores).mesh
    stream = math.ceil(words / chip.noc_bw)
    cycles = (stream + mesh_cols - 2 if mesh_cols > 1 else 0) + (
        stream + mesh_rows - 2 if mesh_rows > 1 else 0)
    return cycles, (cores - 1) * words
