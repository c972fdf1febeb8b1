"""Streams of SCALE-Sim demand matrices (per-cycle SRAM addresses), in bounded chunks."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from hwloop.sim.kernels import fill_demand as _fill_demand
from hwloop.traces import Layer

from ._fold import Schedule

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
    keep_n, keep_m = layer.masked or (1, 1)
    return np.array([layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w,
                     layer.channel_group, layer.stride_h, layer.stride_w, layer.ofmap_w,
                     filters, window, pixels, layer.dilation_h, layer.dilation_w, keep_n,
                     keep_m], dtype=np.int64)


def iter_demand(sched: Schedule, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[DemandChunk]:
    """Yield the demand matrices of one channel group of ``sched`` in chunks of rows.

    Each chunk owns fresh arrays, so a consumer may keep or write them out as it likes.
    """
    total = sched.demand_rows
    g = geometry(sched.layer)
    w_if, w_f, w_o = sched.edge_widths
    for row0 in range(0, total, chunk_rows):
        n = min(chunk_rows, total - row0)
        out_if = np.empty((n, w_if), dtype=np.int32)
        out_f = np.empty((n, w_f), dtype=np.int32)
        out_o = np.empty((n, w_o), dtype=np.int32)
        _fill_demand(sched.code, sched.rows, sched.cols, g, row0, n, out_if, out_f, out_o)
        yield DemandChunk(row0, out_if, out_f, out_o)
