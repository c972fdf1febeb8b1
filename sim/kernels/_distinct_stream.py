"""DRAM reads of demand streams that repeat a run of distinct words: no walk needed.

Every filter stream has this shape: in OS each column fold reads its filters' words once per
row fold, in IS every row-fold pass reads each weight once, in WS each weight is read once.
So does the ifmap stream when windows do not overlap (1x1 convolutions, GEMMs, strides at
least the filter size). For such a stream the read buffer (see ``tests/naive_read_buffer.py``) turns over
exactly every ``window`` fetched words while a window is no longer than the run, and stops
fetching once a window holds the whole run; so the count follows from a few integers.
"""
from __future__ import annotations

from ._numba import as_int, njit


@njit
def _repeated_run_fetches(run, total, in_window, window, later_window):
    """Fetches for ``total`` demands cycling through ``run`` distinct words (in a fixed order)
    that share nothing with the buffer's current window (``in_window`` of ``window`` words).

    Returns (fetched, words in window afterwards, window size afterwards).
    """
    need = window - in_window
    if need > run or need > total:  # no turnover: each word fetched once, then all hits
        n = min(run, total)
        return n, in_window + n, window
    fetched = need  # the first turnover, at demand `need`
    remaining = total - need
    if later_window > run:  # the next window swallows the whole run
        n = min(run, remaining)
        return fetched + n, n, later_window
    full = remaining // later_window  # each later window is filled by fresh words
    tail = remaining - full * later_window
    return fetched + full * later_window + tail, tail, later_window


@njit
def _filter_fetches(dataflow, rows, cols, window, num_filters, pixels, first_window,
                    later_window):
    """Words fetched from DRAM into the filter buffer (``dataflow``: 0 os, 1 ws, 2 is)."""
    if dataflow == 0:  # OS: column folds touch disjoint filters, each read once per row fold
        row_folds = (pixels + rows - 1) // rows
        fetched, in_window, size = 0, as_int(0), first_window
        for fc in range((num_filters + cols - 1) // cols):
            run = window * min(cols, num_filters - fc * cols)
            got, in_window, size = _repeated_run_fetches(run, run * row_folds, in_window, size,
                                                         later_window)
            fetched += got
        return fetched
    passes = (pixels + cols - 1) // cols if dataflow == 2 else 1
    run = window * num_filters
    fetched, _, _ = _repeated_run_fetches(run, run * passes, as_int(0), first_window,
                                          later_window)
    return fetched


@njit
def _distinct_ifmap_fetches(dataflow, cols, touched, num_filters, pixels, first_window,
                            later_window):
    """Ifmap fetches when no two windows overlap: each pass reads ``touched`` distinct words."""
    passes = 1 if dataflow == 2 else (num_filters + cols - 1) // cols
    fetched, _, _ = _repeated_run_fetches(touched, touched * passes, as_int(0), first_window,
                                          later_window)
    return fetched
