"""DRAM reads of a double-buffered read scratchpad, walking the exact SRAM demand stream.

SCALE-Sim's stall-free (``CALC``) read buffer counts a DRAM read each time the array asks for
a word that is not among the words fetched since the buffer last turned over; it turns over
after every ``window`` distinct words (first window: the active half, then the prefetch
half, both rounded to hundredths of the buffer as SCALE-Sim does). The walkers below replay
the demand order of each dataflow, fold by fold, without building any matrix.

State lives in a small int64 array ``st``: [stamp, words in window, window size, total
fetched, turnovers]. ``marks[addr] == stamp`` means ``addr`` is in the current window.
A repetition of the same folds that causes no turnover leaves every word resident, so
later repetitions are skipped: they cannot fetch anything.
"""
from __future__ import annotations

import numpy as np

from .._numba import njit, njit_inline

STAMP, IN_WINDOW, WINDOW, FETCHED, TURNOVERS = 0, 1, 2, 3, 4


@njit_inline
def _touch(marks, addr, st, later_window):
    if marks[addr] == st[STAMP]:
        return
    marks[addr] = st[STAMP]
    st[FETCHED] += 1
    st[IN_WINDOW] += 1
    if st[IN_WINDOW] == st[WINDOW]:
        st[STAMP] += 1
        st[IN_WINDOW] = 0
        st[WINDOW] = later_window
        st[TURNOVERS] += 1


@njit
def _new_state(first_window):
    st = np.zeros(5, dtype=np.int64)
    st[STAMP] = 1
    st[WINDOW] = first_window
    return st


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
        ch = rest % channels
        win_dy[w] = dy
        win_dx[w] = dx
        win_off[w] = (dy * ifmap_w + dx) * channels + ch
    return pix_row, pix_col, pix_base, win_dy, win_dx, win_off


@njit_inline
def _ifmap_addr(p, w, pix_row, pix_col, pix_base, win_dy, win_dx, win_off, ifmap_h, ifmap_w):
    """Input address of window element ``w`` of output pixel ``p``; -1 if it falls outside."""
    if pix_row[p] + win_dy[w] >= ifmap_h or pix_col[p] + win_dx[w] >= ifmap_w:
        return -1
    return pix_base[p] + win_off[w]


@njit
def _ifmap_dram_reads(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                      stride_h, stride_w, ofmap_h, ofmap_w, num_filters, first_window,
                      later_window):
    """Words fetched from DRAM into the ifmap buffer. ``dataflow``: 0 os, 1 ws, 2 is."""
    pix_row, pix_col, pix_base, win_dy, win_dx, win_off = _ifmap_tables(
        ifmap_h, ifmap_w, filter_h, filter_w, channels, stride_h, stride_w, ofmap_h, ofmap_w)
    pixels = ofmap_h * ofmap_w
    window = filter_h * filter_w * channels
    marks = np.zeros(ifmap_h * ifmap_w * channels, dtype=np.int32)
    st = _new_state(first_window)
    if dataflow == 2:  # IS: each (window rows x pixel cols) tile once, rows bottom-up
        for fc in range((pixels + cols - 1) // cols):
            cu = min(cols, pixels - fc * cols)
            for fr in range((window + rows - 1) // rows):
                ru = min(rows, window - fr * rows)
                for i in range(ru - 1, -1, -1):
                    w = fr * rows + i
                    for c in range(cu):
                        a = _ifmap_addr(fc * cols + c, w, pix_row, pix_col, pix_base, win_dy,
                                        win_dx, win_off, ifmap_h, ifmap_w)
                        if a >= 0:
                            _touch(marks, a, st, later_window)
        return st[FETCHED]
    # OS: array rows hold pixels, time runs over the window; WS: rows hold window
    # elements, time runs over pixels. Both stream every row fold once per column fold.
    spatial = pixels if dataflow == 0 else window
    temporal = window if dataflow == 0 else pixels
    col_folds = (num_filters + cols - 1) // cols
    for _rep in range(col_folds):
        before = st[TURNOVERS]
        for fr in range((spatial + rows - 1) // rows):
            ru = min(rows, spatial - fr * rows)
            for tau in range(temporal + ru - 1):
                for c in range(max(0, tau - temporal + 1), min(ru, tau + 1)):
                    if dataflow == 0:
                        p, w = fr * rows + c, tau - c
                    else:
                        p, w = tau - c, fr * rows + c
                    a = _ifmap_addr(p, w, pix_row, pix_col, pix_base, win_dy, win_dx, win_off,
                                    ifmap_h, ifmap_w)
                    if a >= 0:
                        _touch(marks, a, st, later_window)
        if st[TURNOVERS] == before:
            break  # everything this pass reads is resident: later passes fetch nothing
    return st[FETCHED]


@njit
def _filter_dram_reads(dataflow, rows, cols, window, num_filters, pixels, first_window,
                       later_window):
    """Words fetched from DRAM into the filter buffer. Filter ``n``, element ``w`` is ``n*window+w``."""
    if dataflow == 1:  # WS: every weight is read exactly once
        return window * num_filters
    marks = np.zeros(window * num_filters, dtype=np.int32)
    st = _new_state(first_window)
    if dataflow == 0:  # OS: column fold fc streams its filters once per row fold
        for fc in range((num_filters + cols - 1) // cols):
            cu = min(cols, num_filters - fc * cols)
            for _rep in range((pixels + rows - 1) // rows):
                before = st[TURNOVERS]
                for tau in range(window + cu - 1):
                    for c in range(max(0, tau - window + 1), min(cu, tau + 1)):
                        _touch(marks, (fc * cols + c) * window + (tau - c), st, later_window)
                if st[TURNOVERS] == before:
                    break
        return st[FETCHED]
    # IS: row fold fr streams all filters over its window rows, once per column fold
    for _rep in range((pixels + cols - 1) // cols):
        before = st[TURNOVERS]
        for fr in range((window + rows - 1) // rows):
            ru = min(rows, window - fr * rows)
            for tau in range(num_filters + ru - 1):
                for c in range(max(0, tau - num_filters + 1), min(ru, tau + 1)):
                    _touch(marks, (tau - c) * window + fr * rows + c, st, later_window)
        if st[TURNOVERS] == before:
            break
    return st[FETCHED]
