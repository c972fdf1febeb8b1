"""A layer's memory events without streaming its demand: the bitset buffer walks, recording
each block's first row, and the ofmap halves in closed form.

``collect_layer_events`` streams every demand row through the buffers, which costs time
in proportion to cycles x array edge; here the read buffers are walked as in the stall-free
engine (spans of demand that cannot turn a buffer over, exact demand order around each
turnover), and each block's need row is the demand row of its first word. The result equals
the streamed events on every layer (``tests/sim/test_fast_events.py``) at SCALE-Sim's even
active/prefetch split, where a turnover drops every resident word; other splits stream.
"""
from __future__ import annotations

import math

import numpy as np

from hwloop.arch import Sram
from hwloop.sim.kernels import filter_walk, write_chunks
from hwloop.sim.schedule import Schedule

from ._events import MemoryEvents, ReadBlocks, WriteChunks
from ._walks import walked_ifmap
from ._windows import operand_windows


def fast_events(sched: Schedule, sram: Sram) -> MemoryEvents:
    """The events :func:`collect_layer_events` gives (one channel group), for buffers whose
    turnover resets them (see :func:`resets_on_turnover`)."""
    pixels, filters, window = sched.gemm
    first, later = operand_windows(sram, "ifmap")
    fetched, need = walked_ifmap(sched, first, later)  # the stall-free walk, from its memo
    ifmap = ReadBlocks(need, _block_words(fetched, first, later, need.size))
    first, later = operand_windows(sram, "filter")
    need = np.zeros(3 + sched.filter_sram_reads // max(1, min(first, later)), dtype=np.int64)
    fetched, count = filter_walk(sched.code, sched.rows, sched.cols, window, filters, pixels,
                                 first, later, need)
    filt = ReadBlocks(need[:count].copy(), _block_words(int(fetched), first, later, int(count)))
    half = max(1, math.ceil(sram.words("ofmap") * sram.active_fraction))
    start, fill, words = write_chunks(sched.code, sched.rows, sched.cols, sched.spatial_rows,
                                      sched.spatial_cols, sched.temporal, sched.rows_per_fold,
                                      half)
    return MemoryEvents(ifmap, filt, WriteChunks(start, fill, words), sched.demand_rows - 1)


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
