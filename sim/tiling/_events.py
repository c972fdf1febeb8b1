"""An explicit mapping's DRAM transfers as memory events, for the pipe to time.

Tiles run back to back: tile ``t`` runs stall-free rows ``start_t .. start_t + c_t`` where
``c_t`` is its classic cycle count, and the next starts on its last row (so a one-tile
mapping's rows are the classic engine's). Each operand is double-buffered at tile grain:

* an ifmap or filter tile fetched at step ``t`` is one read block needed at ``start_t`` (the
  next tile's block starts once the port is free and this one is in use);
* an ofmap residency is one write chunk, from its first tile's start to its last tile's end
  (the other half drains meanwhile, and the array waits for a half to empty);
* a residency returning with partial sums reads them back on the ofmap port into the half
  the residency before the last one drained: issued when the previous residency starts,
  needed when this one does.
"""
from __future__ import annotations

import numpy as np

from hwloop.sim.kernels import nest_events
from hwloop.sim.memory import MemoryEvents, ReadBacks, ReadBlocks, WriteChunks
from hwloop.sim.schedule import DATAFLOW_CODE
from hwloop.traces import InputError, LayerKind

from ._costs import tile_costs
from ._nest import LoopNest, axis_tiles

#: Most tiles a timed run walks, per channel group.
MAX_TIMED_STEPS = 1 << 24


def loop_tiles(nest: LoopNest) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per loop, per tile index: (GEMM extent, ifmap factor)."""
    out = {}
    for name, loop in nest.loops.items():
        if name == "m" and nest.layer.kind is not LayerKind.GEMM:
            layer, tiles = nest.layer, dict(nest.tiles)
            rows = axis_tiles(layer.ofmap_h, tiles["tile_p"], layer.stride_h, layer.span_h,
                              layer.ifmap_h)
            cols = axis_tiles(layer.ofmap_w, tiles["tile_q"], layer.stride_w, layer.span_w,
                              layer.ifmap_w)
            extent = np.array([p * q for p, _ in rows for q, _ in cols], dtype=np.int64)
            factor = np.array([a * b for _, a in rows for _, b in cols], dtype=np.int64)
        else:
            extent = np.concatenate([np.full(c.count, c.extent, dtype=np.int64)
                                     for c in loop.classes])
            factor = np.concatenate([np.full(c.count, c.ifmap_factor, dtype=np.int64)
                                     for c in loop.classes])
        out[name] = (extent, factor)
    return out


def step_indices(nest: LoopNest) -> dict[str, np.ndarray]:
    """Each loop's tile index at every step of the nest, outermost loop slowest."""
    shape = tuple(nest.loops[name].trips for name in nest.order)
    steps = int(np.prod(shape))
    if steps > MAX_TIMED_STEPS:
        raise InputError(f"the mapping runs {steps:,} tiles per channel group; a finite DRAM "
                         f"times at most {MAX_TIMED_STEPS:,} (use larger tiles)",
                         field=f"tile_{nest.order[-1]}")
    flat = np.unravel_index(np.arange(steps, dtype=np.int64), shape)
    return {name: np.asarray(index, dtype=np.int64) for name, index in zip(nest.order, flat)}


def _changes(*keys: np.ndarray) -> np.ndarray:
    """Steps at which the tuple of ``keys`` differs from the step before (step 0 included)."""
    changed = np.zeros(keys[0].size, dtype=bool)
    changed[0] = True
    for key in keys:
        changed[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(changed)


def mapped_events_reference(nest: LoopNest, rows: int, cols: int) -> MemoryEvents:
    """:func:`mapped_events` in NumPy, one array per step (its reference in tests)."""
    at = step_indices(nest)
    tiles = loop_tiles(nest)
    (m_ext, m_fac), (n_ext, _), (k_ext, k_fac) = (tiles[name] for name in "mnk")
    im, in_, ik = at["m"], at["n"], at["k"]
    cycles = tile_costs(m_ext[im], n_ext[in_], k_ext[ik], rows, cols,
                        DATAFLOW_CODE[nest.dataflow])[0]
    start = np.concatenate(([0], np.cumsum(cycles)))
    fetch_i = _changes(im, ik)
    fetch_f = _changes(ik, in_)
    ifmap = ReadBlocks(start[fetch_i], m_fac[im[fetch_i]] * k_fac[ik[fetch_i]])
    filt = ReadBlocks(start[fetch_f], k_ext[ik[fetch_f]] * n_ext[in_[fetch_f]])
    first = _changes(im, in_)
    last = np.concatenate((first[1:] - 1, [im.size - 1]))
    words = m_ext[im[first]] * n_ext[in_[first]]
    ofmap = WriteChunks(start[first], start[last + 1], words)
    tile_id = im[first] * n_ext.size + in_[first]
    _, first_visit = np.unique(tile_id, return_index=True)
    returns = np.ones(first.size, dtype=bool)
    returns[first_visit] = False
    back = np.flatnonzero(returns)  # never residency 0
    psum = ReadBacks(start[first[back - 1]], start[first[back]], words[back])
    return MemoryEvents(ifmap, filt, ofmap, int(start[-1]), psum)


def mapped_events(nest: LoopNest, rows: int, cols: int) -> MemoryEvents:
    """The transfers of one channel group under ``nest``, as the pipe times them (the kernel
    ``nest_events``; equal to :func:`mapped_events_reference`)."""
    steps = nest.steps
    if steps > MAX_TIMED_STEPS:
        step_indices(nest)  # raises the error that names the tile
    tiles = loop_tiles(nest)
    (m_ext, m_fac), (n_ext, _), (k_ext, k_fac) = (tiles[name] for name in "mnk")
    arrays = [np.zeros(steps, dtype=np.int64) for _ in range(10)]
    counts = np.zeros(5, dtype=np.int64)
    nest_events(np.array(["mnk".index(loop) for loop in nest.order], dtype=np.int64), m_ext,
                m_fac, n_ext, k_ext, k_fac, rows, cols, DATAFLOW_CODE[nest.dataflow], *arrays,
                counts)
    ni, nf, no, npb, last = (int(value) for value in counts)
    need_i, words_i, need_f, words_f, start_o, fill_o, words_o, issue_p, need_p, words_p = arrays
    return MemoryEvents(ReadBlocks(need_i[:ni], words_i[:ni]),
                        ReadBlocks(need_f[:nf], words_f[:nf]),
                        WriteChunks(start_o[:no], fill_o[:no], words_o[:no]), last,
                        ReadBacks(issue_p[:npb], need_p[:npb], words_p[:npb]))
