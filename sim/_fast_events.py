"""A layer's memory events without streaming its demand: the bitset buffer walks, recording
each block's first row, and the ofmap halves in closed form.

:func:`collect_layer_events` streams every demand row through the buffers, which costs time
in proportion to cycles x array edge; here the read buffers are walked as in the stall-free
engine (spans of demand that cannot turn a buffer over, exact demand order around each
turnover), and each block's need row is the demand row of its first word. The result equals
the streamed events on every layer (``tests/sim/test_fast_events.py``) at SCALE-Sim's even
active/prefetch split, where a turnover drops every resident word; other splits stream.
"""
from __future__ import annotations

import math

import numpy as np

from hwloop.arch import Dataflow, Sram, SystolicArray
from hwloop.traces import Layer

from ._demand import demand_row_count
from ._memory_events import MemoryEvents, ReadBlocks, WriteChunks
from .kernels._closed_events import _filter_walk, _write_chunks

_CODE = {Dataflow.OS: 0, Dataflow.WS: 1, Dataflow.IS: 2}


def fast_events(layer: Layer, array: SystolicArray, sram: Sram) -> MemoryEvents:
    """The events :func:`hwloop.sim._stalls.collect_layer_events` gives (one channel group),
    for buffers whose turnover resets them (see :func:`hwloop.sim._systolic.resets_on_turnover`)."""
    from ._systolic import _sram_traffic, _walked_ifmap, buffer_windows, fold_plan

    code = _CODE[array.dataflow]
    rows, cols = array.rows, array.cols
    plan = fold_plan(layer, rows, cols, array.dataflow)
    pixels, filters, window = layer.gemm_mnk
    _, filter_reads, _ = _sram_traffic(plan, array.dataflow, pixels, filters, window)
    first, later = buffer_windows(sram.words("ifmap"), sram.active_fraction)
    fetched, need = _walked_ifmap(  # the stall-free engine's walk, shared through its memo
        code, rows, cols, layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w,
        layer.channel_group, layer.stride_h, layer.stride_w, layer.ofmap_h, layer.ofmap_w,
        layer.num_filters, first, later, layer.dilation_h, layer.dilation_w)
    ifmap = ReadBlocks(need, _block_words(fetched, first, later, need.size))
    first, later = buffer_windows(sram.words("filter"), sram.active_fraction)
    need = np.zeros(3 + filter_reads // max(1, min(first, later)), dtype=np.int64)
    fetched, count = _filter_walk(code, rows, cols, window, filters, pixels, first, later, need)
    filt = ReadBlocks(need[:count].copy(), _block_words(int(fetched), first, later, int(count)))
    half = max(1, math.ceil(sram.words("ofmap") * sram.active_fraction))
    start, fill, words = _write_chunks(code, rows, cols, plan.spatial_rows, plan.spatial_cols,
                                       plan.temporal, plan.rows_per_fold, half)
    return MemoryEvents(ifmap, filt, WriteChunks(start, fill, words),
                        demand_row_count(layer, array) - 1)


def _block_words(fetched: int, first: int, later: int, count: int) -> np.ndarray:
    """Words per block: the first window, then later windows, the last one partial."""
    blocks = 0 if fetched == 0 else 1 + -(-max(0, fetched - first) // later)
    if blocks != count:  # pragma: no cover - a kernel bug, not an input error
        raise AssertionError(f"{count} block rows for {blocks} blocks")
    words = np.full(blocks, later, dtype=np.int64)
    if blocks:
        words[0] = min(fetched, first)
        words[-1] = fetched - (words[0] + (blocks - 2) * later if blocks > 1 else 0)
    return words
