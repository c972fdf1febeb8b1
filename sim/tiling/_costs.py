"""Closed forms of a loop nest: DRAM words by the reuse rule, and the tiles' classic cycles.

Reuse rule (one tile of each operand resident): drop the loops of one trip, then an operand's
tile is fetched again each time a loop from the outermost down to its innermost dependent
loop advances; loops inside that one reuse it. So each of its tiles is fetched once per
iteration of the loops outside its innermost dependent loop that it does not depend on. An
ofmap tile leaves the buffer (written) once per such visit and returns with partial sums
(read back) on every visit but its first.

Cycles: each tile costs what the classic engine gives for its GEMM alone with the mapping's
dataflow (``Schedule.demand_rows - 1``); SRAM traffic is the tiles' classic SRAM traffic, and
the ofmap buffer reads a partial sum for every array write but the first to each output.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from hwloop.sim.schedule import DATAFLOW_CODE, fold_arrays, traffic_arrays

from ._nest import LoopNest

#: The loops each operand's tile depends on.
DEPENDS = {"ifmap": "mk", "filter": "kn", "ofmap": "mn"}


def visits(order: str, trips: dict[str, int], operand: str) -> int:
    """How many times each of ``operand``'s tiles is brought into its buffer."""
    live = [loop for loop in order if trips[loop] > 1]
    depends = DEPENDS[operand]
    inner = max((i for i, loop in enumerate(live) if loop in depends), default=-1)
    return math.prod(trips[loop] for loop in live[:inner] if loop not in depends)


def operand_words(nest: LoopNest) -> dict[str, int]:
    """Words of each operand summed once over its distinct tiles (halo included)."""
    m, n, k = (nest.loops[name] for name in "mnk")
    return {
        "ifmap": sum(a.count * b.count * a.ifmap_factor * b.ifmap_factor
                     for a in m.classes for b in k.classes),
        "filter": sum(a.count * b.count * a.extent * b.extent
                      for a in k.classes for b in n.classes),
        "ofmap": sum(a.count * b.count * a.extent * b.extent
                     for a in m.classes for b in n.classes),
    }


def dram_words(nest: LoopNest) -> dict[str, int]:
    """DRAM words of one channel group, by the reuse rule."""
    trips = {name: loop.trips for name, loop in nest.loops.items()}
    words = operand_words(nest)
    ofmap_visits = visits(nest.order, trips, "ofmap")
    return {
        "dram_ifmap_reads": words["ifmap"] * visits(nest.order, trips, "ifmap"),
        "dram_filter_reads": words["filter"] * visits(nest.order, trips, "filter"),
        "dram_ofmap_writes": words["ofmap"] * ofmap_visits,
        "dram_ofmap_reads": words["ofmap"] * (ofmap_visits - 1),
    }


def tile_costs(m, n, k, rows: int, cols: int, code):
    """Classic cost of GEMM tiles ``m x k`` by ``k x n`` (arrays broadcast): (cycles, ifmap
    SRAM reads, filter SRAM reads, ofmap SRAM writes)."""
    _, _, _, row_folds, col_folds, per_fold = fold_arrays(m, n, k, rows, cols, code)
    ifmap, filt, ofmap = traffic_arrays(m, n, k, row_folds, col_folds, code)
    return row_folds * col_folds * per_fold - 1, ifmap, filt, ofmap


def compute_counts(nest: LoopNest, rows: int, cols: int) -> dict[str, int]:
    """Cycles and SRAM traffic of one channel group: the sum over its tiles."""
    combos = list(itertools.product(*(nest.loops[name].classes for name in "mnk")))
    count = np.array([a.count * b.count * c.count for a, b, c in combos], dtype=np.int64)
    m, n, k = (np.array([combo[i].extent for combo in combos], dtype=np.int64) for i in range(3))
    cycles, ifmap, filt, ofmap = tile_costs(m, n, k, rows, cols, DATAFLOW_CODE[nest.dataflow])
    writes = int((count * ofmap).sum())
    pixels, filters, _ = nest.layer.gemm_mnk
    sr, sc, t, row_folds, col_folds, per_fold = fold_arrays(m, n, k, rows, cols,
                                                            DATAFLOW_CODE[nest.dataflow])
    folds = row_folds * col_folds
    util_cycles = per_fold if nest.dataflow.value == "os" else per_fold + cols - 1
    return {
        "spatial_work": int((count * sr * sc).sum()),
        "temporal_work": int((count * sr * sc * t).sum()),
        "fold_cycles": int((count * folds * util_cycles).sum()),
        "compute_cycles": int((count * cycles).sum()),
        "ifmap_sram_reads": int((count * ifmap).sum()),
        "filter_sram_reads": int((count * filt).sum()),
        "ofmap_sram_writes": writes,
        "ofmap_sram_reads": writes - pixels * filters,
        "folds": int((count * folds).sum()),
    }
