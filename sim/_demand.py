"""Streams of SCALE-Sim demand matrices (per-cycle SRAM addresses), in bounded chunks."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from hwloop.arch import Dataflow, SystolicArray
from hwloop.traces import Layer

from .kernels._demand import _fill_demand

_CODE = {Dataflow.OS: 0, Dataflow.WS: 1, Dataflow.IS: 2}
#: Rows per chunk: ~3 MiB of int32 for a 32x32 array, bounded for any array size.
DEFAULT_CHUNK_ROWS = 16384


@dataclass(frozen=True)
class DemandChunk:
    """Rows ``row0 ..`` of the three demand matrices (int32, -1 = idle port)."""

    row0: int
    ifmap: np.ndarray
    filter: np.ndarray
    ofmap: np.ndarray

    @property
    def rows(self) -> int:
        return self.ifmap.shape[0]


def geometry(layer: Layer) -> np.ndarray:
    """The geometry vector the demand kernel reads (one channel group of ``layer``)."""
    pixels, filters, window = layer.gemm_mnk
    return np.array([layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w,
                     layer.channel_group, layer.stride_h, layer.stride_w, layer.ofmap_w,
                     filters, window, pixels, layer.dilation_h, layer.dilation_w],
                    dtype=np.int64)


def edge_widths(array: SystolicArray) -> tuple[int, int, int]:
    """Ports per demand row: (ifmap, filter, ofmap). IS feeds ifmaps along the columns."""
    if array.dataflow is Dataflow.IS:
        return array.cols, array.rows, array.cols
    return array.rows, array.cols, array.cols


def demand_row_count(layer: Layer, array: SystolicArray) -> int:
    """Stall-free demand rows of one channel group (SCALE-Sim's rows; cycles = rows - 1)."""
    from ._systolic import fold_plan

    plan = fold_plan(layer, array.rows, array.cols, array.dataflow)
    return plan.folds * plan.rows_per_fold


def iter_demand(layer: Layer, array: SystolicArray, *,
                chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[DemandChunk]:
    """Yield the demand matrices of one channel group of ``layer`` in chunks of rows.

    Each chunk owns fresh arrays, so a consumer may keep or write them out as it likes.
    """
    total = demand_row_count(layer, array)
    g = geometry(layer)
    w_if, w_f, w_o = edge_widths(array)
    code = _CODE[array.dataflow]
    for row0 in range(0, total, chunk_rows):
        n = min(chunk_rows, total - row0)
        out_if = np.empty((n, w_if), dtype=np.int32)
        out_f = np.empty((n, w_f), dtype=np.int32)
        out_o = np.empty((n, w_o), dtype=np.int32)
        _fill_demand(code, array.rows, array.cols, g, row0, n, out_if, out_f, out_o)
        yield DemandChunk(row0, out_if, out_f, out_o)
