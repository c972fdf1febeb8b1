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
from hwloop.sim.kernels import distinct_blocks, write_chunks
from hwloop.sim.schedule import Schedule, touched_ifmap_words, windows_overlap

from ._events import MemoryEvents, ReadBlocks, WriteChunks
from ._walks import walked_ifmap
from ._windows import operand_windows


def fast_events(sched: Schedule, sram: Sram) -> MemoryEvents:
    """The events :func:`collect_layer_events` gives (one channel group), for buffers whose
    turnover resets them (see :func:`resets_on_turnover`)."""
    ifmap = _read_blocks(sched, sram, "ifmap")
    filt = _read_blocks(sched, sram, "filter")
    half = max(1, math.ceil(sram.words("ofmap") * sram.active_fraction))
    start, fill, words = write_chunks(sched.code, sched.rows, sched.cols, sched.spatial_rows,
                                      sched.spatial_cols, sched.temporal, sched.rows_per_fold,
                                      half)
    return MemoryEvents(ifmap, filt, WriteChunks(start, fill, words), sched.demand_rows - 1)


def distinct_windows(sched: Schedule) -> bool:
    """Whether every ifmap demand of a pass is a word of its own: no two windows share one
    and none reaches past the input (then the ifmap stream is runs of distinct words)."""
    layer = sched.layer
    pixels, _, window = sched.gemm
    return not windows_overlap(layer) and touched_ifmap_words(layer) == pixels * window


def _read_blocks(sched: Schedule, sram: Sram, operand: str) -> ReadBlocks:
    """A read buffer's blocks: in closed form for runs of distinct words (every filter, and
    an ifmap of distinct windows), else from the memoised ifmap walk."""
    first, later = operand_windows(sram, operand)
    if operand == "ifmap" and not distinct_windows(sched):
        fetched, need = walked_ifmap(sched, first, later)  # the stall-free walk, from its memo
        return ReadBlocks(need, _block_words(fetched, first, later, need.size))
    pixels, filters, window = sched.gemm
    demands = (sched.ifmap_sram_reads if operand == "ifmap" else sched.filter_sram_reads)
    need = np.zeros(3 + demands // max(1, min(first, later)), dtype=np.int64)
    fetched, count = distinct_blocks(0 if operand == "ifmap" else 1, sched.code, sched.rows,
                                     sched.cols, window, filters, pixels, first, later, need)
    return ReadBlocks(need[:count].copy(), _block_words(int(fetched), first, later, int(count)))


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
