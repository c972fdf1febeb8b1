"""DRAM reads of a double-buffered read scratchpad, walking the exact ifmap demand stream.

The simulator now walks the buffer on bitsets (``_bitset_buffer``); this word-by-word walk
stays as the independent reference ``tests/sim/test_bitset_buffer.py`` holds them to.

SCALE-Sim's stall-free (``CALC``) read buffer counts a DRAM read each time the array asks for
a word that is not among the words fetched since the buffer last turned over; it turns over
after every ``window`` distinct words (first window: the active half, then the prefetch
half, both rounded to hundredths of the buffer as SCALE-Sim does). Streams of distinct
words (filters, non-overlapping windows) have a closed form in ``_distinct_stream``; the
walkers here replay the ifmap demand order of each dataflow, fold by fold, for the rest.

Each fold's addresses are written to a buffer (-1 for window elements outside the input),
then one tight loop replays them through the buffer state, kept in a small int64 array
``st``: [stamp, words in window, window size, total fetched, turnovers, later window size].
``marks[addr] == stamp`` means ``addr`` is in the current window. An OS fold that cannot
turn the buffer over is replayed as the set of words it reads, and a repetition of the same
folds that causes no turnover leaves every word resident, so later repetitions are skipped.
"""
from __future__ import annotations

import functools

import numba
import numpy as np

from hwloop.sim.kernels._numba import JIT_OPTIONS

# The kernels' settings, but no disk cache: tests load this file by path under a name no later
# process can import, and Numba would cache its functions under a stand-in module name
# ('<dynamic>') that the next run fails to load (ModuleNotFoundError). Compiling it costs
# a few seconds per test run.
njit = functools.partial(numba.njit, **{**JIT_OPTIONS, "cache": False})

STAMP, IN_WINDOW, WINDOW, FETCHED, TURNOVERS, LATER, DEMANDS, LAST_TURNOVER = range(8)


@njit
def _new_state(first_window, later_window):
    st = np.zeros(8, dtype=np.int64)
    st[STAMP] = 1
    st[WINDOW] = first_window
    st[LATER] = later_window
    return st


@njit
def _replay(marks, addrs, n, st):
    """Feed ``addrs[:n]`` (in demand order) through the read buffer; updates ``st``.

    Branch-free on hits: the last slot of ``marks`` is a dummy that always holds the current
    stamp, and a -1 address (outside the input) is sent there, so it never fetches.
    """
    stamp, in_window, window = st[STAMP], st[IN_WINDOW], st[WINDOW]
    fetched, turnovers, later = st[FETCHED], st[TURNOVERS], st[LATER]
    last_turnover = st[LAST_TURNOVER]
    dummy = marks.size - 1
    marks[dummy] = stamp
    for i in range(n):
        a = addrs[i]
        if a < 0:
            a = dummy
        new = marks[a] != stamp
        marks[a] = stamp
        fetched += new
        in_window += new
        if in_window == window:
            stamp += 1
            in_window = 0
            window = later
            turnovers += 1
            last_turnover = st[DEMANDS] + i
            marks[dummy] = stamp
    st[STAMP], st[IN_WINDOW], st[WINDOW] = stamp, in_window, window
    st[FETCHED], st[TURNOVERS], st[LAST_TURNOVER] = fetched, turnovers, last_turnover
    st[DEMANDS] += n


@njit
def _new_marks(words):
    """One stamp per operand word, plus the dummy slot :func:`_replay` needs."""
    return np.zeros(words + 1, dtype=np.int32)


@njit
def _ifmap_tables(ifmap_h, ifmap_w, filter_h, filter_w, channels, stride_h, stride_w, ofmap_h,
                  ofmap_w):
    """Per output pixel: top-left input row/col and base address; per window index: offsets."""
    pixels = ofmap_h * ofmap_w
    pix_row = np.empty(pixels, dtype=np.int64)
    pix_col = np.empty(pixels, dtype=np.int64)
    pix_base = np.empty(pixels, dtype=np.int64)
    for p in range(pixels):
        r = (p // ofmap_w) * stride_h
        c = (p % ofmap_w) * stride_w
        pix_row[p] = r
        pix_col[p] = c
        pix_base[p] = (r * ifmap_w + c) * channels
    window = filter_h * filter_w * channels
    win_dy = np.empty(window, dtype=np.int64)
    win_dx = np.empty(window, dtype=np.int64)
    win_off = np.empty(window, dtype=np.int64)
    for w in range(window):
        dy = w // (filter_w * channels)
        rest = w % (filter_w * channels)
        dx = rest // channels
        win_dy[w] = dy
        win_dx[w] = dx
        win_off[w] = (dy * ifmap_w + dx) * channels + rest % channels
    return pix_row, pix_col, pix_base, win_dy, win_dx, win_off


@njit
def _ifmap_tile(first_pixel, cu, first_element, ru, tables, ifmap_h, ifmap_w, out):
    """Input addresses of an IS tile in demand order (-1: outside): window elements
    ``first_element + ru - 1`` down to ``first_element``, each across pixels
    ``first_pixel .. first_pixel + cu - 1``."""
    pix_row, pix_col, pix_base, win_dy, win_dx, win_off = tables
    n = 0
    # The address test is written out here and in _ifmap_skewed_fold on purpose: as a called
    # helper Numba does not inline it, and these loops run 15x slower.
    for w in range(first_element + ru - 1, first_element - 1, -1):
        for p in range(first_pixel, first_pixel + cu):
            if pix_row[p] + win_dy[w] < ifmap_h and pix_col[p] + win_dx[w] < ifmap_w:
                out[n] = pix_base[p] + win_off[w]
            else:
                out[n] = -1
            n += 1
    return n


#: Most demand entries a fold buffer holds; longer folds are replayed in chunks.
CHUNK = 1 << 20


@njit
def _ifmap_skewed_fold(base, ru, temporal, tau_start, tau_stop, pixels_on_lines, tables,
                       ifmap_h, ifmap_w, out):
    """Input addresses of steps ``tau_start..tau_stop-1`` of a skewed ifmap fold (-1: outside).

    Array line ``c`` holds pixel ``base + c`` (OS) or window element ``base + c`` (WS); the
    other index is ``tau - c``."""
    pix_row, pix_col, pix_base, win_dy, win_dx, win_off = tables
    if not pixels_on_lines:  # swap roles: lines hold window elements, time runs over pixels
        pix_row, win_dy = win_dy, pix_row
        pix_col, win_dx = win_dx, pix_col
        pix_base, win_off = win_off, pix_base
    n = 0
    for tau in range(tau_start, tau_stop):
        for c in range(max(0, tau - temporal + 1), min(ru, tau + 1)):
            p = base + c  # index into the tables of whatever the lines hold
            w = tau - c
            if pix_row[p] + win_dy[w] < ifmap_h and pix_col[p] + win_dx[w] < ifmap_w:
                out[n] = pix_base[p] + win_off[w]
            else:
                out[n] = -1
            n += 1
    return n


@njit
def _steps_per_chunk(lines):
    return max(1, CHUNK // max(lines, 1))


@njit
def _os_rows_cols(oy, ox_first, ox_last, stride_h, stride_w, filter_h, filter_w, ifmap_h,
                  ifmap_w):
    """Input rows and covered input columns that output row ``oy``, pixels ``ox_first..ox_last``
    read (clipped to the input)."""
    rows = max(0, min(filter_h, ifmap_h - oy * stride_h))  # SCALE-Sim's ceil may add an
    # output row whose window starts past the input: it reads nothing
    x_stop = min(ox_last * stride_w + filter_w, ifmap_w)
    cols = 0
    for x in range(ox_first * stride_w, x_stop):
        if (x - ox_first * stride_w) % stride_w < filter_w:
            cols += 1
    return rows, cols


@njit
def _os_fold_as_set(marks, st, first_pixel, ru, ofmap_w, stride_h, stride_w, filter_h, filter_w,
                    channels, ifmap_h, ifmap_w):
    """Replay an OS ifmap fold as the set of words it reads, if that cannot turn the buffer over.

    Without a turnover a fold only adds its unread words to the window, whatever their
    order; so when even reading every word of the fold as new stays below the window size,
    the skewed demand order need not be walked. Returns False (and does nothing) otherwise.
    """
    last_pixel = first_pixel + ru - 1
    bound = 0
    for oy in range(first_pixel // ofmap_w, last_pixel // ofmap_w + 1):
        ox_first = max(first_pixel - oy * ofmap_w, 0)
        ox_last = min(last_pixel - oy * ofmap_w, ofmap_w - 1)
        rows, cols = _os_rows_cols(oy, ox_first, ox_last, stride_h, stride_w, filter_h,
                                   filter_w, ifmap_h, ifmap_w)
        bound += rows * cols * channels
    if st[IN_WINDOW] + bound >= st[WINDOW]:
        return False
    stamp = st[STAMP]
    added = 0
    for oy in range(first_pixel // ofmap_w, last_pixel // ofmap_w + 1):
        ox_first = max(first_pixel - oy * ofmap_w, 0)
        ox_last = min(last_pixel - oy * ofmap_w, ofmap_w - 1)
        x_start = ox_first * stride_w
        x_stop = min(ox_last * stride_w + filter_w, ifmap_w)
        for y in range(oy * stride_h, min(oy * stride_h + filter_h, ifmap_h)):
            for x in range(x_start, x_stop):
                if (x - x_start) % stride_w >= filter_w:
                    continue
                base = (y * ifmap_w + x) * channels
                for ch in range(channels):
                    new = marks[base + ch] != stamp
                    marks[base + ch] = stamp
                    added += new
    st[FETCHED] += added
    st[IN_WINDOW] += added
    return True  # the caller advances st[DEMANDS] by the fold's demands


@njit
def _ifmap_dram_reads(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                      stride_h, stride_w, ofmap_h, ofmap_w, num_filters, first_window,
                      later_window):
    """Words fetched from DRAM into the ifmap buffer. ``dataflow``: 0 os, 1 ws, 2 is."""
    tables = _ifmap_tables(ifmap_h, ifmap_w, filter_h, filter_w, channels, stride_h, stride_w,
                           ofmap_h, ofmap_w)
    pixels = ofmap_h * ofmap_w
    window = filter_h * filter_w * channels
    marks = _new_marks(ifmap_h * ifmap_w * channels)
    st = _new_state(first_window, later_window)
    if dataflow == 2:  # IS: each (window rows x pixel cols) tile once, rows bottom-up
        addrs = np.empty(rows * cols, dtype=np.int64)
        for fc in range((pixels + cols - 1) // cols):
            cu = min(cols, pixels - fc * cols)
            for fr in range((window + rows - 1) // rows):
                n = _ifmap_tile(fc * cols, cu, fr * rows, min(rows, window - fr * rows), tables,
                                ifmap_h, ifmap_w, addrs)
                _replay(marks, addrs, n, st)
        return st[FETCHED]
    # OS: array rows hold pixels, time runs over the window; WS: rows hold window
    # elements, time runs over pixels. Both stream every row fold once per column fold.
    spatial = pixels if dataflow == 0 else window
    temporal = window if dataflow == 0 else pixels
    lines = min(rows, spatial)
    step = _steps_per_chunk(lines)
    addrs = np.empty(lines * step, dtype=np.int64)
    row_folds = (spatial + rows - 1) // rows
    passes = (num_filters + cols - 1) // cols
    last_offset = -1
    for rep in range(passes):
        before, start_demand, start_fetched = st[TURNOVERS], st[DEMANDS], st[FETCHED]
        for fr in range(row_folds):
            ru = min(rows, spatial - fr * rows)
            if dataflow == 0 and _os_fold_as_set(marks, st, fr * rows, ru, ofmap_w, stride_h,
                                                 stride_w, filter_h, filter_w, channels,
                                                 ifmap_h, ifmap_w):
                st[DEMANDS] += ru * temporal
                continue
            for start in range(0, temporal + ru - 1, step):
                stop = min(start + step, temporal + ru - 1)
                n = _ifmap_skewed_fold(fr * rows, ru, temporal, start, stop, dataflow == 0,
                                       tables, ifmap_h, ifmap_w, addrs)
                _replay(marks, addrs, n, st)
        if st[TURNOVERS] == before:
            break  # everything this pass reads is resident: later passes fetch nothing
        # The buffer after a pass holds exactly the words read since its last turnover, so
        # two passes whose last turnovers sit at the same place leave the same state: every
        # later pass repeats this one.
        offset = st[LAST_TURNOVER] - start_demand
        if offset == last_offset:
            st[FETCHED] += (passes - rep - 1) * (st[FETCHED] - start_fetched)
            break
        last_offset = offset
    return st[FETCHED]
