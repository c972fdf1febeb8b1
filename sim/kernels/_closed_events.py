"""Read and ofmap memory events in closed form (an ifmap whose windows overlap needs a walk:
``_bitset_buffer``).

Filter streams repeat runs of distinct weights, and so do ifmap streams whose windows share
no word (GEMMs, 1x1 convolutions); the ofmap is written as one skewed band per fold. So block
starts and half boundaries follow from counting demands
(:mod:`._skew`); ``tests/sim/test_fast_events.py`` holds them equal to the streamed walks.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit
from ._skew import _step_of_demand


@njit
def _run_layout(operand, dataflow, rows, cols, window, num_filters, pixels):
    """(segments, repeats, demand rows per fold) of a stream of runs of distinct words:
    ``segments`` runs, each read ``repeats`` times in a row (see :func:`_run_words`).

    Filters (``operand`` 1): OS reads column fold ``fc``'s ``cu * window`` weights once per
    pixel fold, WS every weight once, IS every weight once per pixel fold. The ifmap
    (``operand`` 0), when no two windows share a word and none falls off the input: OS and WS
    read all ``pixels * window`` words once per column fold, IS each pixel fold's own."""
    if dataflow == 0:
        per_fold = window + rows + cols - 2
    elif dataflow == 1:
        per_fold = 2 * rows + cols + pixels - 2
    else:
        per_fold = 2 * rows + cols + num_filters - 2
    col_folds = (num_filters + cols - 1) // cols
    pixel_folds = (pixels + cols - 1) // cols
    if operand == 0:
        if dataflow == 2:
            return pixel_folds, 1, per_fold
        return 1, col_folds, per_fold
    if dataflow == 0:
        return col_folds, (pixels + rows - 1) // rows, per_fold
    return 1, (pixel_folds if dataflow == 2 else 1), per_fold


@njit
def _run_words(operand, dataflow, cols, window, num_filters, pixels, seg):
    """Distinct words in run ``seg`` of :func:`_run_layout`'s stream."""
    if operand == 0:
        if dataflow == 2:
            return min(cols, pixels - seg * cols) * window
        return pixels * window
    if dataflow == 0:
        return min(cols, num_filters - seg * cols) * window
    return window * num_filters


@njit
def _distinct_blocks(operand, dataflow, rows, cols, window, num_filters, pixels, first_window,
                     later_window, need):
    """A stream of runs of distinct words through its read buffer: (words fetched, blocks),
    in closed form; ``need[k]`` gets the demand row of block ``k``'s first word.

    Within a window the demands of a run are all misses until the window fills (a turnover)
    or holds the whole run (then the run's later repeats all hit), so blocks start every
    window's worth of demands, and a block's need row is the row of the demand it starts at.
    Costs one step per block, however many folds the layer has."""
    segments, repeats, per_fold = _run_layout(operand, dataflow, rows, cols, window,
                                              num_filters, pixels)
    fetched, blocks, in_window, size = 0, 0, 0, first_window
    for seg in range(segments):
        run = _run_words(operand, dataflow, cols, window, num_filters, pixels, seg)
        total = repeats * run
        pos = 0
        in_run = 0  # this run's words in the current window
        while pos < total and in_run < run:
            if in_window == 0:  # a new block: its first word is the demand at pos
                if operand == 0:
                    need[blocks] = _ifmap_row(dataflow, rows, cols, window, pixels, seg,
                                              per_fold, pos // run, pos % run)
                else:
                    need[blocks] = _filter_row(dataflow, rows, cols, window, num_filters, seg,
                                               repeats, per_fold, pos // run, pos % run)
                blocks += 1
            can = min(size - in_window, run - in_run, total - pos)
            fetched += can
            in_window += can
            in_run += can
            pos += can
            if in_window == size:
                in_window, size, in_run = 0, later_window, 0
    return fetched, blocks


@njit
def _ifmap_row(dataflow, rows, cols, window, pixels, seg, per_fold, rep, q):
    """Demand row of the ``q``-th ifmap word of repeat ``rep`` of run ``seg`` (distinct
    windows: the ``q``-th demand of the pass is its ``q``-th word)."""
    if dataflow == 0:  # skewed: line r holds pixel r0 + r, time over its window
        row_folds = (pixels + rows - 1) // rows
        fr = q // (rows * window)
        ru = min(rows, pixels - fr * rows)
        return ((rep * row_folds + fr) * per_fold
                + _step_of_demand(q - fr * rows * window + 1, ru, window))
    row_folds = (window + rows - 1) // rows
    if dataflow == 1:  # skewed after the filter load: line r holds element r0 + r
        fr = q // (rows * pixels)
        ru = min(rows, window - fr * rows)
        return ((rep * row_folds + fr) * per_fold + rows
                + _step_of_demand(q - fr * rows * pixels + 1, ru, pixels))
    cu = min(cols, pixels - seg * cols)  # IS: the stationary tile, flipped, cu words a row
    fr = q // (rows * cu)
    ru = min(rows, window - fr * rows)
    return (seg * row_folds + fr) * per_fold + rows - ru + (q - fr * rows * cu) // cu


@njit
def _filter_row(dataflow, rows, cols, window, num_filters, seg, repeats, per_fold, rep, q):
    """Demand row of the ``q``-th demand of repeat ``rep`` of run ``seg``."""
    row_folds = (window + rows - 1) // rows
    if dataflow == 0:  # skewed: line c holds filter c0 + c, time over its elements
        cu = min(cols, num_filters - seg * cols)
        return (seg * repeats + rep) * per_fold + _step_of_demand(q + 1, cu, window)
    if dataflow == 1:  # column folds of tiles: elements bottom-up, filters across
        fc = q // (cols * window)
        cu = min(cols, num_filters - fc * cols)
        q -= fc * cols * window
        fr = q // (cu * rows)
        ru = min(rows, window - fr * rows)
        return (fc * row_folds + fr) * per_fold + rows - ru + (q - fr * cu * rows) // cu
    fr = q // (rows * num_filters)  # IS: skewed, line r holds element r0 + r
    ru = min(rows, window - fr * rows)
    return ((rep * row_folds + fr) * per_fold + rows
            + _step_of_demand(q - fr * rows * num_filters + 1, ru, num_filters))


@njit
def _write_chunks(dataflow, rows, cols, spatial, other, temporal, per_fold, half):
    """The ofmap buffer's halves in closed form: for each chunk of ``half`` words written, the
    demand rows of its first and last write (the last chunk may be partial).

    In every fold the written tile is a skewed band: column ``j`` writes ``length`` words on
    consecutive rows starting ``j`` rows after the band's first row (OS: ``length`` is the
    fold's pixels, after the ``temporal - 1`` rows of accumulation and the flip; WS and IS:
    ``length`` is the temporal extent, after ``2 * rows - 1`` rows), so the writes up to any
    row follow from :func:`_demands_before`."""
    row_folds = (spatial + rows - 1) // rows
    col_folds = (other + cols - 1) // cols
    total = 0
    for fc in range(col_folds):
        cu = min(cols, other - fc * cols)
        for fr in range(row_folds):
            ru = min(rows, spatial - fr * rows)
            total += cu * (ru if dataflow == 0 else temporal)
    chunks = (total + half - 1) // half
    start_row = np.zeros(chunks, dtype=np.int64)
    fill_row = np.zeros(chunks, dtype=np.int64)
    words = np.full(chunks, half, dtype=np.int64)
    if chunks:
        words[-1] = total - (chunks - 1) * half
    written = 0
    k_start = 0  # next chunk whose first word is still to come
    k_fill = 0  # next chunk whose last word is still to come
    for fc in range(col_folds):
        cu = min(cols, other - fc * cols)
        for fr in range(row_folds):
            ru = min(rows, spatial - fr * rows)
            if dataflow == 0:
                length, offset = ru, temporal - 1 + rows - ru
            else:
                length, offset = temporal, 2 * rows - 1
            band = (fc * row_folds + fr) * per_fold + offset
            here = cu * length
            while k_start < chunks and k_start * half < written + here:
                start_row[k_start] = band + _step_of_demand(k_start * half - written + 1, cu,
                                                          length)
                k_start += 1
            while k_fill < chunks and min((k_fill + 1) * half, total) <= written + here:
                fill_row[k_fill] = band + _step_of_demand(
                    min((k_fill + 1) * half, total) - written, cu, length)
                k_fill += 1
            written += here
    return start_row, fill_row, words
