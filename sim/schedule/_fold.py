"""A layer's schedule on an array: the one place that knows what OS, WS and IS mean.

SCALE-Sim maps a layer's GEMM (``pixels x window`` ifmap, ``window x filters`` filter) onto
an ``rows x cols`` array as ``Sr x Sc`` spatial work and ``T`` temporal steps per fold:

* OS: ``Sr = pixels``, ``Sc = filters``, ``T = window``; a fold runs ``T + rows + cols - 2``
  demand rows.
* WS: ``Sr = window``, ``Sc = filters``, ``T = pixels``; IS: ``Sr = window``, ``Sc = pixels``,
  ``T = filters``; a fold runs ``2 rows + cols + T - 2`` rows (the stationary operand is
  loaded first), and SCALE-Sim's compute utilisation counts ``cols - 1`` more.

Everything below the schedule (memory walks, events, kernels) takes a :class:`Schedule` and
reads its numbers; the Numba kernels get its integer ``code`` (0 OS, 1 WS, 2 IS).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np

from hwloop.arch import Dataflow
from hwloop.traces import Layer

#: The kernels' integer code of each dataflow (the only place it is defined).
DATAFLOW_CODE = {Dataflow.OS: 0, Dataflow.WS: 1, Dataflow.IS: 2}
#: The operand each dataflow keeps in the PEs (its registers load once per word read).
STATIONARY = {Dataflow.OS: "ofmap", Dataflow.WS: "filter", Dataflow.IS: "ifmap"}


@dataclass(frozen=True)
class Schedule:
    """How one channel group of ``layer`` folds onto a ``rows x cols`` array."""

    layer: Layer
    rows: int
    cols: int
    dataflow: Dataflow
    spatial_rows: int
    spatial_cols: int
    temporal: int
    row_folds: int
    col_folds: int
    rows_per_fold: int  #: demand rows of one fold
    fold_cycles: int  #: SCALE-Sim's per-fold cycle count used for compute utilisation
    ifmap_sram_reads: int  #: words the array reads from the ifmap buffer
    filter_sram_reads: int
    ofmap_sram_writes: int  #: every row fold's partial sums (SCALE-Sim accumulates none)

    def shape(self) -> Schedule:
        """This schedule for the layer without its name (what memos of a shape key on)."""
        if not self.layer.name:
            return self
        return schedule(replace(self.layer, name=""), self.rows, self.cols, self.dataflow)

    @property
    def code(self) -> int:
        """The dataflow as the kernels take it."""
        return DATAFLOW_CODE[self.dataflow]

    @property
    def folds(self) -> int:
        return self.row_folds * self.col_folds

    @property
    def demand_rows(self) -> int:
        """Stall-free demand rows (SCALE-Sim's cycles are this minus one)."""
        return self.folds * self.rows_per_fold

    @property
    def gemm(self) -> tuple[int, int, int]:
        """(pixels, filters, window) of one channel group."""
        return self.layer.gemm_mnk

    @property
    def spills_psums(self) -> bool:
        """Whether partial sums leave the array more than once (WS and IS with row folds)."""
        return self.dataflow is not Dataflow.OS and self.row_folds > 1

    @property
    def scalesim_ofmap_writes(self) -> int:
        """SCALE-Sim's ofmap SRAM writes, defect included: OS adds ``rows + cols`` a fold."""
        if self.dataflow is Dataflow.OS:
            return self.ofmap_sram_writes + self.folds * (self.rows + self.cols)
        return self.ofmap_sram_writes

    @property
    def preload_rows(self) -> int:
        """Demand rows before a walk's first streamed word: WS and IS load the stationary
        operand first (``rows`` rows), OS streams from row 0."""
        return 0 if self.dataflow is Dataflow.OS else self.rows

    @property
    def edge_widths(self) -> tuple[int, int, int]:
        """Ports per demand row: (ifmap, filter, ofmap). IS feeds ifmaps along the columns."""
        if self.dataflow is Dataflow.IS:
            return self.cols, self.rows, self.cols
        return self.rows, self.cols, self.cols

    @property
    def ofmap_demand_words(self) -> int:
        """Valid ofmap entries of the demand (one per output and row fold but in OS)."""
        pixels, filters, _ = self.gemm
        return pixels * filters * (1 if self.dataflow is Dataflow.OS else self.row_folds)

    def fused_fold_rows(self, per_cycle: int) -> int:
        """Demand rows of an OS fold whose PEs sum ``per_cycle`` products of the reduction
        a cycle (Bit Fusion's fused bricks): ``ceil(T / k)`` streaming cycles, same words."""
        if self.dataflow is not Dataflow.OS:
            raise ValueError("only OS streams the reduction in time")
        return math.ceil(self.temporal / per_cycle) + self.rows + self.cols - 2


#: The fold structure alone, under its first name (a Schedule carries it).
FoldPlan = Schedule


@functools.lru_cache(maxsize=1 << 14)  # a layer's schedule is asked for many times per search
def schedule(layer: Layer, rows: int, cols: int, dataflow: Dataflow) -> Schedule:
    """The schedule of one channel group of ``layer`` (worked out once per shape and array)."""
    pixels, filters, window = layer.gemm_mnk
    if dataflow is Dataflow.OS:
        sr, sc, t = pixels, filters, window
        per_fold = t + rows + cols - 2
        fold_cycles = per_fold
    else:
        sr, sc, t = (window, filters, pixels) if dataflow is Dataflow.WS else (window, pixels,
                                                                              filters)
        per_fold = 2 * rows + cols + t - 2
        fold_cycles = per_fold + cols - 1
    row_folds, col_folds = math.ceil(sr / rows), math.ceil(sc / cols)
    if dataflow is Dataflow.OS:
        reads = (col_folds * pixels * window, row_folds * window * filters, pixels * filters)
    elif dataflow is Dataflow.WS:
        reads = (col_folds * pixels * window, window * filters, row_folds * pixels * filters)
    else:
        reads = (window * pixels, col_folds * filters * window, row_folds * pixels * filters)
    return Schedule(layer, rows, cols, dataflow, sr, sc, t, row_folds, col_folds, per_fold,
                    fold_cycles, *reads)


def fold_plan(layer: Layer, rows: int, cols: int, dataflow: Dataflow) -> Schedule:
    """The schedule of ``layer`` (its first name: the fold plan)."""
    return schedule(layer, rows, cols, dataflow)


def array_schedule(layer: Layer, array) -> Schedule:
    """The schedule of ``layer`` on a systolic ``array`` config."""
    return schedule(layer, array.rows, array.cols, array.dataflow)


def _cdiv(a, b):
    return -(-a // b)


def fold_arrays(pixels, filters, window, rows, cols, dataflow):
    """Vectorised :func:`schedule`: (spatial rows, spatial cols,
    temporal, row folds, col folds, rows per fold) for dataflow codes 0 OS, 1 WS, 2 IS."""
    if np.ndim(dataflow) == 0:  # one dataflow for every entry: only its formulas
        sr, sc, t = ((pixels, filters, window), (window, filters, pixels),
                     (window, pixels, filters))[int(dataflow)]
        per_fold = t + rows + cols - 2 if dataflow == 0 else 2 * rows + cols + t - 2
        return sr, sc, t, _cdiv(sr, rows), _cdiv(sc, cols), per_fold
    os_, ws = dataflow == 0, dataflow == 1
    sr = np.where(os_, pixels, window)
    sc = np.where(os_, filters, np.where(ws, filters, pixels))
    t = np.where(os_, window, np.where(ws, pixels, filters))
    per_fold = np.where(os_, t + rows + cols - 2, 2 * rows + cols + t - 2)
    return sr, sc, t, _cdiv(sr, rows), _cdiv(sc, cols), per_fold


def traffic_arrays(pixels, filters, window, row_folds, col_folds, dataflow):
    """Vectorised SRAM traffic of :func:`schedule`: (ifmap reads, filter reads, ofmap writes)."""
    if np.ndim(dataflow) == 0:  # one dataflow for every entry: only its formulas
        code = int(dataflow)
        ifmap_reads = window * pixels if code == 2 else col_folds * pixels * window
        filter_reads = (row_folds * window * filters, window * filters,
                        col_folds * filters * window)[code]
        ofmap_writes = pixels * filters if code == 0 else row_folds * pixels * filters
        return ifmap_reads, filter_reads, ofmap_writes
    os_, ws = dataflow == 0, dataflow == 1
    ifmap_reads = np.where(os_ | ws, col_folds * pixels * window, window * pixels)
    filter_reads = np.where(os_, row_folds * window * filters,
                            np.where(ws, window * filters, col_folds * filters * window))
    ofmap_writes = np.where(os_, pixels * filters, row_folds * pixels * filters)
    return ifmap_reads, filter_reads, ofmap_writes


def tile_sums(m, n, k, rows: int, cols: int, code: int) -> dict:
    """Sums over every tile of a tiled GEMM of :func:`schedule`'s per-tile numbers: cycles
    (``demand_rows - 1``), ifmap and filter SRAM reads, ofmap SRAM writes.

    ``m``, ``n``, ``k`` list each dimension's tile classes as (count, extent) pairs (arrays
    broadcast: many tilings at once). Every per-tile number is a product of one factor per
    dimension (a fold count, an extent, or a fold's rows), so its sum over all tiles is the
    product of per-dimension sums: a few operations per class, not per tile combination.
    """
    def total(classes, factor=lambda e: e):
        return sum(count * factor(extent) for count, extent in classes)

    def folds(along):
        return lambda e: _cdiv(e, along)

    tm, tn, tk = (total(classes, lambda e: 1) for classes in (m, n, k))  # trips
    tiles = tm * tn * tk
    sm, sn, sk = total(m), total(n), total(k)
    # (spatial rows, spatial cols, temporal) dimension of each dataflow, as in schedule()
    spatial_rows, spatial_cols, temporal = ((m, n, k), (k, n, m), (k, m, n))[code]
    row_folds = total(spatial_rows, folds(rows))
    col_folds = total(spatial_cols, folds(cols))
    overhead = rows + cols - 2 if code == 0 else 2 * rows + cols - 2
    cycles = row_folds * col_folds * total(temporal, lambda e: e + overhead) - tiles
    # a number that does not depend on a dimension still counts once per tile of it
    ifmap = tn * sk * sm if code == 2 else col_folds * sm * sk
    filter_reads = (row_folds * sk * sn, tm * sk * sn, col_folds * sn * sk)[code]
    ofmap = tk * sm * sn if code == 0 else row_folds * sm * sn
    return {"cycles": cycles, "ifmap_sram": ifmap, "filter_sram": filter_reads,
            "ofmap_sram": ofmap}
