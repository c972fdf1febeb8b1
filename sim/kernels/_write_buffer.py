"""SCALE-Sim v3's ofmap write buffer, replayed only for ``--scalesim-compat``.

SCALE-Sim packs ofmap writes into DRAM lines of ``cols`` words. When the buffer holds more
than its drain half, it pushes the partly filled line out and drains up to the drain half;
each drain counts ``lines * cols`` words minus the empty slots of its *last* line only, so
the empty slots of partial lines inside a drain are counted as words written. hwloop's own
count is the words actually written; this kernel exists to reproduce published numbers.

Returns (DRAM ofmap words as SCALE-Sim counts them, stall cycles).
"""
from __future__ import annotations

import numpy as np

from ._numba import njit
from ._skew import _fold_rows


@njit
def _scalesim_ofmap_drain(dataflow, rows, cols, spatial, temporal, col_extent, total_words,
                          active_words, valid_writes):
    """``spatial``/``temporal``/``col_extent`` are SCALE-Sim's Sr, T and Sc for the dataflow."""
    drain_words = total_words - active_words
    lines = np.empty(valid_writes + 1, dtype=np.int64)
    n_lines = 0
    line_idx = 0
    drained_to = 0
    free = total_words
    drain_end = 0
    accesses = 0
    stalls = 0
    lines_per_drain = (drain_words + cols - 1) // cols
    row_fold = (spatial + rows - 1) // rows
    col_fold = (col_extent + cols - 1) // cols
    per_fold = _fold_rows(dataflow, rows, cols, temporal)
    cycle_row = 0
    last_out = 0
    for fc in range(col_fold):
        cu = min(cols, col_extent - fc * cols)
        for fr in range(row_fold):
            ru = min(rows, spatial - fr * rows)
            if dataflow == 0:
                lo = temporal - 1 + rows - ru
                hi = temporal + rows - 2
            else:
                lo = 2 * rows - 1
                hi = 2 * rows - 2 + temporal
            for tau in range(per_fold):
                n = min(cu - 1, tau - lo) - max(0, tau - hi) + 1
                current = cycle_row + stalls
                start = current
                for _ in range(max(n, 0)):
                    line_idx += 1
                    free -= 1
                    if line_idx == cols:
                        lines[n_lines] = cols
                        n_lines += 1
                        line_idx = 0
                    if current < drain_end:
                        if free <= 0:
                            current = drain_end
                    elif free < active_words:
                        if line_idx != 0:
                            lines[n_lines] = line_idx
                            n_lines += 1
                            line_idx = 0
                        end = min(drained_to + lines_per_drain, n_lines)
                        words = (end - drained_to) * cols - (cols - lines[end - 1])
                        accesses += words
                        free += words
                        drain_end = current + (end - drained_to) - 1
                        drained_to = end
                stalls += current - start
                last_out = current
                cycle_row += 1
    accesses += _last_drains(lines, n_lines, line_idx, drained_to, lines_per_drain, cols)
    return accesses, stalls, last_out


@njit
def _last_drains(lines, n_lines, line_idx, drained_to, lines_per_drain, cols):
    """``empty_all_buffers`` after the last row: push the open line, then drain the rest
    batch by batch, each counted as a drain inside the run is. Returns the words counted."""
    if line_idx != 0:
        lines[n_lines] = line_idx
        n_lines += 1
    accesses = 0
    while drained_to < n_lines:
        end = min(drained_to + lines_per_drain, n_lines)
        accesses += (end - drained_to) * cols - (cols - lines[end - 1])
        drained_to = end
    return accesses
