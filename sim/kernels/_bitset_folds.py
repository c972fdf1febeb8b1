"""The order each dataflow's folds stream the ifmap through the bitset buffer.

One function per fold shape (OS/WS skewed folds on pixel-major bits, WS folds on
channel-major bits, IS tiles and their column folds) and :func:`_repeat` for the identical
passes of OS and WS. Each cuts its demand into spans planned by ``_bitset_span``; the design
(spans, guesses, exact replays at a turnover) is in ``_bitset_buffer``'s docstring.
"""
from __future__ import annotations

import numpy as np

from ._bitset_span import (
    BLOCKS,
    FETCHED,
    LAST_TURNOVER,
    RECORD,
    STAMP,
    TURNOVERS,
    _count_demand,
    _demands,
    _line_pixels,
    _open_span,
    _plan,
    _run,
    _settle,
)
from ._numba import as_int, njit


@njit
def _skewed_fold(kind, base, ru, temporal, fold_position, lines, row0, pix_row, pix_col, bits,
                 wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w):
    """One OS (``kind`` 0: line ``c`` holds pixel ``base + c``) or WS (1: line ``c`` holds
    element ``base + c``, time runs over pixels) fold, steps ``0 .. temporal + ru - 2``;
    step ``t`` is demand row ``row0 + t``."""
    steps = temporal + ru - 1
    t = as_int(0)
    while t < steps:
        k = _plan(st, t, steps, ru, temporal, as_int(0))
        if k != 0:  # a span of steps: its words in any order
            stamp, room = _open_span(st, wstamp, k)
            t1 = t + abs(k)
            added = as_int(0)
            if kind == 0:
                for c in range(ru):
                    a, b = max(0, t - c), min(temporal, t1 - c)
                    if a < b:
                        p = base + c
                        added += _run(bits, wstamp, stamp, pix_row[p], pix_col[p], a, b,
                                      ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            else:
                for p in range(max(0, t - ru + 1), min(temporal, t1)):
                    c_lo, c_hi = max(0, t - p), min(ru, t1 - p)
                    added += _run(bits, wstamp, stamp, pix_row[p], pix_col[p], base + c_lo,
                                  base + c_hi, ifmap_h, ifmap_w, row_len, channels, el_dy,
                                  dil_h, dil_w)
            if _settle(st, k, added, _demands(t, t1, ru, temporal, 0), room, bits, wstamp):
                t = t1
            continue
        # one step, demand by demand in line order: the turnover lands on an exact demand
        for c in range(max(0, t - temporal + 1), min(ru, t + 1)):
            if kind == 0:
                p, e = base + c, t - c
            else:
                p, e = t - c, base + c
            added = _run(bits, wstamp, st[STAMP], pix_row[p], pix_col[p], e, e + 1, ifmap_h,
                         ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            _count_demand(st, added, fold_position + t * lines + c, row0 + t, need)
        t += 1


@njit
def _ws_fold(base, ru, pixels, fold_position, lines, row0, bits, wstamp, st, need, ofmap_w,
             stride_h, stride_w, ifmap_h, ifmap_w, el_dy, el_dx, el_ch, patterns, dil_h, dil_w):
    """One WS fold (line ``c`` holds element ``base + c``; time runs over pixels) on
    channel-major bits: as :func:`_skewed_fold`, but a span costs a (strided) range per line
    and output row instead of a run per pixel."""
    steps = pixels + ru - 1
    t = as_int(0)
    while t < steps:
        k = _plan(st, t, steps, ru, pixels, as_int(0))
        if k != 0:  # a span of steps: its words in any order
            stamp, room = _open_span(st, wstamp, k)
            t1 = t + abs(k)
            added = as_int(0)
            for c in range(ru):
                pa, pb = max(0, t - c), min(pixels, t1 - c)
                if pa < pb:
                    added += _line_pixels(bits, wstamp, stamp, base + c, pa, pb, ofmap_w,
                                          stride_h, stride_w, ifmap_h, ifmap_w, el_dy, el_dx,
                                          el_ch, patterns, dil_h, dil_w)
            if _settle(st, k, added, _demands(t, t1, ru, pixels, 0), room, bits, wstamp):
                t = t1
            continue
        for c in range(max(0, t - pixels + 1), min(ru, t + 1)):
            added = _line_pixels(bits, wstamp, st[STAMP], base + c, t - c, t - c + 1, ofmap_w,
                                 stride_h, stride_w, ifmap_h, ifmap_w, el_dy, el_dx, el_ch,
                                 patterns, dil_h, dil_w)
            _count_demand(st, added, fold_position + t * lines + c, row0 + t, need)
        t += 1


@njit
def _is_tile(first_pixel, cu, first_element, ru, row0, pix_row, pix_col, bits, wstamp, st,
             need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w):
    """One IS tile: elements ``first_element + ru - 1`` down to ``first_element``, each read
    by pixels ``first_pixel .. first_pixel + cu - 1`` in order; step ``i`` is row
    ``row0 + i``."""
    t = as_int(0)
    while t < ru:
        k = _plan(st, t, ru, ru, ru, cu)
        top = first_element + ru - t  # steps t .. t+s-1 read elements top-s .. top-1
        if k != 0:
            stamp, room = _open_span(st, wstamp, k)
            s = abs(k)
            added = as_int(0)
            for p in range(first_pixel, first_pixel + cu):
                added += _run(bits, wstamp, stamp, pix_row[p], pix_col[p], top - s, top,
                              ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            if _settle(st, k, added, s * cu, room, bits, wstamp):
                t += s
            continue
        e = top - 1
        for p in range(first_pixel, first_pixel + cu):
            added = _run(bits, wstamp, st[STAMP], pix_row[p], pix_col[p], e, e + 1, ifmap_h,
                         ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            _count_demand(st, added, as_int(0), row0 + t, need)
        t += 1


@njit
def _is_column_fold(first_pixel, cu, rows, row_folds, spatial, row0, per_fold, pix_row, pix_col,
                    bits, wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h,
                    dil_w):
    """IS: the tiles of one column fold (pixels ``first_pixel ..`` , ``cu`` of them), tile
    ``fr`` at demand row ``row0 + fr * per_fold``. Whole tiles that cannot turn the buffer
    over (or are guessed not to) are one run per pixel; a tile that may is walked step by step
    (:func:`_is_tile`)."""
    fr = as_int(0)
    while fr < row_folds:
        k = _plan(st, fr, row_folds, as_int(0), as_int(0), cu * rows)  # a step is a tile here
        if k != 0:
            stamp, room = _open_span(st, wstamp, k)
            e0, e1 = fr * rows, min(spatial, (fr + abs(k)) * rows)
            added = as_int(0)
            for p in range(first_pixel, first_pixel + cu):
                added += _run(bits, wstamp, stamp, pix_row[p], pix_col[p], e0, e1, ifmap_h,
                              ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            if _settle(st, k, added, cu * (e1 - e0), room, bits, wstamp):
                fr += abs(k)
            continue
        ru = min(rows, spatial - fr * rows)
        _is_tile(first_pixel, cu, fr * rows, ru, row0 + fr * per_fold + rows - ru, pix_row,
                 pix_col, bits, wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy,
                 dil_h, dil_w)
        fr += 1


@njit
def _whole_folds(l0, l1, pixels, pix_row, pix_col, bits, wstamp, stamp, ifmap_h, ifmap_w,
                 row_len, channels, el_dy, dil_h, dil_w):
    """WS, pixel-major: every demand of the folds holding elements ``l0 .. l1-1``, in any
    order (a span of whole folds): one run per pixel. New words."""
    added = as_int(0)
    for p in range(pixels):
        added += _run(bits, wstamp, stamp, pix_row[p], pix_col[p], l0, l1, ifmap_h, ifmap_w,
                      row_len, channels, el_dy, dil_h, dil_w)
    return added


def _repeat(kind: int, passes: int, folds: int, base: int, spatial: int, rows: int,
            temporal: int, per_fold: int, pass_rows: int, row_base: int, channel_major: bool,
            pix_row: np.ndarray, pix_col: np.ndarray, bits: np.ndarray, wstamp: np.ndarray,
            st: np.ndarray, need: np.ndarray, per_pass: np.ndarray, ifmap_h: int, ifmap_w: int,
            row_len: int, channels: int, ofmap_w: int, stride_h: int, stride_w: int,
            el_dy: np.ndarray, el_dx: np.ndarray, el_ch: np.ndarray, patterns: np.ndarray,
            dil_h: int, dil_w: int) -> None:
    """``passes`` identical passes of ``folds`` skewed folds (lines ``base + fr * rows ..``,
    ``spatial`` of them in all); pass ``p`` fold ``fr`` starts at demand row
    ``row_base + p * pass_rows + fr * per_fold``. ``per_pass[p]`` gets pass ``p``'s words.

    The buffer after a pass holds exactly the words read since its last turnover, so two
    passes whose last turnovers sit at the same place leave the same state and the passes
    after them repeat: once an offset recurs the rest cycle (their blocks shifted by whole
    passes), and after a pass without a turnover everything it reads is resident.

    The passes loop here, each a compiled call of its layout's own pass (OS, WS pixel-major,
    WS channel-major), so that a run compiles only the passes it walks."""
    fold_span = (temporal + rows) * rows  # positions reserved per fold (turnover offsets)
    first_pass: dict[int, int] = {}  # a last turnover's offset in its pass -> the first pass that had it
    per_pass[:passes] = 0
    pass_blocks = np.zeros(passes + 1, dtype=np.int64)
    for rep in range(passes):
        before, start_fetched = st[TURNOVERS], st[FETCHED]
        pass_start = rep * folds * fold_span
        pass_blocks[rep] = st[BLOCKS]
        row0 = row_base + rep * pass_rows
        if channel_major:
            _ws_channel_pass(folds, base, spatial, rows, temporal, per_fold, pass_start, row0,
                             bits, wstamp, st, need, ofmap_w, stride_h, stride_w, ifmap_h,
                             ifmap_w, el_dy, el_dx, el_ch, patterns, dil_h, dil_w)
        else:
            (_ws_pixel_pass if kind == 1 else _os_pass)(
                folds, base, spatial, rows, temporal, per_fold, pass_start, row0, pix_row,
                pix_col, bits, wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy,
                dil_h, dil_w)
        per_pass[rep] = st[FETCHED] - start_fetched
        pass_blocks[rep + 1] = st[BLOCKS]
        if st[TURNOVERS] == before:
            break  # everything this pass reads is resident: later passes fetch nothing
        offset = int(st[LAST_TURNOVER]) - pass_start
        if offset in first_pass:  # passes first_pass[offset] + 1 .. rep repeat from here on
            _repeat_cycle(first_pass[offset], rep, passes, pass_rows, per_pass, pass_blocks,
                          st, need)
            break
        first_pass[offset] = rep


@njit
def _os_pass(folds, base, spatial, rows, temporal, per_fold, pass_start, row0, pix_row,
             pix_col, bits, wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy,
             dil_h, dil_w):
    """One OS pass: its folds one by one (fold ``fr`` starts at demand row
    ``row0 + fr * per_fold``)."""
    fold_span = (temporal + rows) * rows
    for fr in range(folds):
        _skewed_fold(as_int(0), base + fr * rows, min(rows, spatial - fr * rows), temporal,
                     pass_start + fr * fold_span, rows, row0 + fr * per_fold, pix_row, pix_col,
                     bits, wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h,
                     dil_w)


@njit
def _ws_pixel_pass(folds, base, spatial, rows, temporal, per_fold, pass_start, row0, pix_row,
                   pix_col, bits, wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy,
                   dil_h, dil_w):
    """One WS pass on pixel-major bits: spans of whole folds at once, one run per pixel (a
    step is a fold here), and the folds a turnover falls in one by one."""
    fold_span = (temporal + rows) * rows
    fr = as_int(0)
    while fr < folds:
        k = _plan(st, fr, folds, as_int(0), as_int(0), rows * temporal)
        if k != 0:
            stamp, room = _open_span(st, wstamp, k)
            l0, l1 = base + fr * rows, base + min(spatial, (fr + abs(k)) * rows)
            added = _whole_folds(l0, l1, temporal, pix_row, pix_col, bits, wstamp, stamp,
                                 ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            if _settle(st, k, added, (l1 - l0) * temporal, room, bits, wstamp):
                fr += abs(k)
            continue
        _skewed_fold(as_int(1), base + fr * rows, min(rows, spatial - fr * rows), temporal,
                     pass_start + fr * fold_span, rows, row0 + fr * per_fold, pix_row, pix_col,
                     bits, wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h,
                     dil_w)
        fr += 1


@njit
def _ws_channel_pass(folds, base, spatial, rows, temporal, per_fold, pass_start, row0, bits,
                     wstamp, st, need, ofmap_w, stride_h, stride_w, ifmap_h, ifmap_w, el_dy,
                     el_dx, el_ch, patterns, dil_h, dil_w):
    """One WS pass on channel-major bits: its folds one by one."""
    fold_span = (temporal + rows) * rows
    for fr in range(folds):
        _ws_fold(base + fr * rows, min(rows, spatial - fr * rows), temporal,
                 pass_start + fr * fold_span, rows, row0 + fr * per_fold, bits, wstamp, st,
                 need, ofmap_w, stride_h, stride_w, ifmap_h, ifmap_w, el_dy, el_dx, el_ch,
                 patterns, dil_h, dil_w)


def _repeat_cycle(first: int, rep: int, passes: int, pass_rows: int, per_pass: np.ndarray,
                  pass_blocks: np.ndarray, st: np.ndarray, need: np.ndarray) -> None:
    """Passes ``first + 1 .. rep`` repeat from here on: fill in passes ``rep + 1 ..`` from
    them (their words, and when recording their blocks shifted by whole passes), since
    walking them again would only find the same turnovers."""
    later = np.arange(rep + 1, passes, dtype=np.int64)
    source = first + 1 + (later - rep - 1) % (rep - first)
    per_pass[rep + 1:passes] = per_pass[source]
    st[FETCHED] += per_pass[source].sum()
    if st[RECORD]:
        counts = pass_blocks[source + 1] - pass_blocks[source]
        total = int(counts.sum())
        ends = np.cumsum(counts)  # the copies of a source's blocks, in order
        blocks = np.repeat(pass_blocks[source] - (ends - counts), counts) + np.arange(total)
        shifts = np.repeat((later - source) * pass_rows, counts)
        need[st[BLOCKS]:st[BLOCKS] + total] = need[blocks] + shifts
        st[BLOCKS] += total
