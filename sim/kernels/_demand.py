"""The per-cycle SRAM demand of a systolic array: SCALE-Sim's demand matrices, row by row.

Row ``t`` of a demand matrix lists the addresses each array edge port reads (ifmap, filter)
or writes (ofmap) in stall-free cycle ``t``; -1 means the port is idle. The layout follows
SCALE-Sim v3 exactly (``compute/systolic_compute_{os,ws,is}.py``): per fold, the operand
tile padded with -1 to the array edge, vertical flips for the stationary operand and for
ofmaps drained from the bottom edge, inter-fold gaps, and a diagonal skew (column ``j``
delayed by ``j`` rows); folds in order column fold outer, row fold inner. Instead of
building and concatenating those matrices, :func:`_fill_demand` computes any range of rows
directly, so a run can be streamed in chunks of bounded size.

Addresses are operand-local (no SCALE-Sim offsets): ifmap ``(y * W + x) * C + ch``, filter
``n * window + w``, ofmap ``pixel * filters + n``. For IS the ifmap edge is ``cols`` wide and
the filter edge ``rows`` wide, as in SCALE-Sim.
"""
from __future__ import annotations

from ._numba import njit, njit_inline
from ._skew import _fold_rows

# geometry vector layout (int64)
IFMAP_H, IFMAP_W, FILTER_H, FILTER_W, CHANNELS, STRIDE_H, STRIDE_W, OFMAP_W, FILTERS, \
    WINDOW, PIXELS, DILATION_H, DILATION_W, KEEP_N, KEEP_M = range(15)


@njit_inline
def _ifmap_addr(g, pixel, w):
    if g[KEEP_N] < g[KEEP_M]:  # an N:M masked window: kept position w is window element
        w = (w // g[KEEP_N]) * g[KEEP_M] + w % g[KEEP_N]  # w of the dense one
    out_row = pixel // g[OFMAP_W]
    out_col = pixel - out_row * g[OFMAP_W]
    span = g[FILTER_W] * g[CHANNELS]
    dy = w // span
    rest = w - dy * span
    dx = rest // g[CHANNELS]
    ch = rest - dx * g[CHANNELS]
    y = out_row * g[STRIDE_H] + dy * g[DILATION_H]
    x = out_col * g[STRIDE_W] + dx * g[DILATION_W]
    if y < g[IFMAP_H] and x < g[IFMAP_W]:
        return (y * g[IFMAP_W] + x) * g[CHANNELS] + ch
    return -1


@njit
def _fold_extents(code, rows, cols, pixels, filters, window):
    """(Sr, Sc, T, demand rows per fold) of ``code``: lines, columns and steps of its folds."""
    if code == 0:
        sr, sc, t_len = pixels, filters, window
    elif code == 1:
        sr, sc, t_len = window, filters, pixels
    else:
        sr, sc, t_len = window, pixels, filters
    return sr, sc, t_len, _fold_rows(code, rows, cols, t_len)


@njit_inline
def _fold_at(row, per_fold, row_folds, rows, cols, sr, sc):
    """Where demand ``row`` falls: (its step in its fold, the fold's first line and column,
    lines and columns used). Scalars only, so inlining it costs the row loop nothing."""
    fold = row // per_fold
    t = row - fold * per_fold
    fc = fold // row_folds
    fr = fold - fc * row_folds
    r0 = fr * rows
    c0 = fc * cols
    return t, r0, c0, min(rows, sr - r0), min(cols, sc - c0)


@njit
def _fill_demand(code, rows, cols, g, row0, n, out_if, out_f, out_o):
    """Write demand rows ``row0 .. row0+n-1`` into ``out_if``/``out_f``/``out_o`` (n x width).

    ``code`` is 0 (OS), 1 (WS) or 2 (IS); ``g`` the geometry vector (see module constants).
    """
    R, C = rows, cols
    filters, window = g[FILTERS], g[WINDOW]
    sr, sc, t_len, per_fold = _fold_extents(code, R, C, g[PIXELS], filters, window)
    row_folds = (sr + R - 1) // R
    out_if[:n, :] = -1
    out_f[:n, :] = -1
    out_o[:n, :] = -1
    for i in range(n):
        t, r0, c0, ru, cu = _fold_at(row0 + i, per_fold, row_folds, R, C, sr, sc)
        if code == 0:
            for j in range(ru):  # ifmap: pixel r0+j, window element t-j
                s = t - j
                if 0 <= s < t_len:
                    out_if[i, j] = _ifmap_addr(g, r0 + j, s)
            for j in range(cu):  # filter: window element t-j of filter c0+j
                s = t - j
                if 0 <= s < t_len:
                    out_f[i, j] = (c0 + j) * window + s
            for j in range(cu):  # ofmap: flipped tile after T-1 idle rows, skewed
                q = t - j - (t_len - 1)
                if 0 <= q < R and R - 1 - q < ru:
                    out_o[i, j] = (r0 + R - 1 - q) * filters + c0 + j
        elif code == 1:
            for j in range(ru):  # ifmap: pixel s, window element r0+j, after R idle rows
                s = t - j - R
                if 0 <= s < t_len:
                    out_if[i, j] = _ifmap_addr(g, s, r0 + j)
            if t < R and R - 1 - t < ru:  # stationary filters, flipped, unskewed
                w = r0 + R - 1 - t
                for j in range(cu):
                    out_f[i, j] = (c0 + j) * window + w
            for j in range(cu):  # ofmap: pixel s of filter c0+j
                s = t - j - (2 * R - 1)
                if 0 <= s < t_len:
                    out_o[i, j] = s * filters + c0 + j
        else:
            if t < R and R - 1 - t < ru:  # stationary ifmap, flipped, unskewed
                w = r0 + R - 1 - t
                for j in range(cu):
                    out_if[i, j] = _ifmap_addr(g, c0 + j, w)
            for j in range(ru):  # filter: filter s, window element r0+j
                s = t - j - R
                if 0 <= s < t_len:
                    out_f[i, j] = s * window + r0 + j
            for j in range(cu):  # ofmap: pixel c0+j of filter s
                s = t - j - (2 * R - 1)
                if 0 <= s < t_len:
                    out_o[i, j] = (c0 + j) * filters + s
