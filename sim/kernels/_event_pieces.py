"""A stream of memory events as *pieces*: runs whose rows repeat with a fixed period.

Every stream the closed forms produce (read blocks of runs of distinct words, ofmap halves)
puts its events at arithmetic word positions ``g0 + j * W`` of a stream of equal folds of
``F`` words, and an event's row is ``(g // F) * P + E + h(g mod F)``: the fold's first row
plus the step of its word within the fold (``h``: the skewed count of :mod:`._skew`, or a
flat ``q // a``). Where ``g mod F`` stays on a linear stretch of ``h`` and the fold count
grows by the same amount every step, the rows' differences repeat with period
``a / gcd(W, a)``; where ``W`` is a small multiple-free fraction of ``F`` they repeat
exactly. A piece keeps one period of rows and words and the rows' shift per period, so a
stream of 10^5 events is a few hundred pieces (``tests/sim/test_event_pieces.py`` expands
them and compares with :func:`._closed_events._distinct_blocks` and ``_write_chunks``).

Piece ``k`` of a stream: ``pieces[k] = (first event, events, period, shift, offset)``; event
``i`` of it has row ``rows[offset + (i - first) % period] + ((i - first) // period) * shift``
and words ``words[offset + (i - first) % period]``.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit, njit_inline
from ._skew import _step_of_demand

#: Columns of a piece row.
FIRST, COUNT, PERIOD, SHIFT, OFFSET = 0, 1, 2, 3, 4
#: ``h`` kinds: the skewed step of a ``lines`` x ``temporal`` fold, or ``q // lines``.
SKEW, FLAT = 0, 1
#: An exact period longer than this is not looked for (the linear stretches are).
MAX_EXACT_PERIOD = 64
#: Events taken together at most when looking for linear stretches (see ``_group``).
MAX_GROUP = 16


@njit
def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


@njit
def _row_at(g, fold, per_fold, first_row, kind, lines, temporal):
    """Row of word position ``g``: its fold's first row plus the step of its word."""
    f = g // fold
    q = g - f * fold
    if kind == SKEW:
        return f * per_fold + first_row + _step_of_demand(q + 1, lines, temporal)
    return f * per_fold + first_row + q // lines


@njit
def _linear_stretch(kind, fold, lines, temporal):
    """(lo, hi, a): ``h`` is ``(q + e) // a + c`` for ``lo <= q < hi``."""
    if kind == FLAT:
        return 0, fold, lines
    a, b = min(lines, temporal), max(lines, temporal)
    up = a * (a + 1) // 2
    return up, up + (b - a) * a, a


@njit
def _run_length(q, step, fold, lo, hi):
    """Steps from ``q`` (``q += step`` mod ``fold``) that stay in ``[lo, hi)`` with the same
    number of fold boundaries crossed each step (at least 1: ``q`` itself)."""
    d = step % fold
    if d == 0:
        return 1 << 62
    forward = (hi - 1 - q) // d + 1 if q < hi else 1  # no wrap: q grows by d
    back = (q - lo) // (fold - d) + 1 if q >= lo else 1  # a wrap each step: q falls
    return max(1, forward, back)


@njit
def _emit(pieces, rows, words, counts, first, count, period, shift):
    """Start piece ``counts[0]`` at base offset ``counts[1]``; the caller fills its rows."""
    k, off = counts[0], counts[1]
    pieces[k, FIRST] = first
    pieces[k, COUNT] = count
    pieces[k, PERIOD] = period
    pieces[k, SHIFT] = shift
    pieces[k, OFFSET] = off
    counts[0] = k + 1
    counts[1] = off + period
    return off


@njit
def _explicit(pieces, rows, words, counts, index, row, w):
    """Append one event to the open explicit piece (or open one)."""
    k = counts[0] - 1
    if (k >= 0 and pieces[k, SHIFT] == 0 and pieces[k, COUNT] == pieces[k, PERIOD]
            and pieces[k, FIRST] + pieces[k, COUNT] == index and counts[2] == k):
        pieces[k, COUNT] += 1
        pieces[k, PERIOD] += 1
        rows[counts[1]] = row
        words[counts[1]] = w
        counts[1] += 1
        return
    off = _emit(pieces, rows, words, counts, index, 1, 1, 0)
    rows[off] = row
    words[off] = w
    counts[2] = counts[0] - 1  # the open explicit piece


@njit
def _arithmetic_pieces(pieces, rows, words, counts, index, g0, step, n, w, fold, per_fold,
                       first_row, kind, lines, temporal):
    """Pieces of events ``index .. index + n - 1`` at positions ``g0 + j * step``, ``w``
    words each."""
    exact = fold // _gcd(step % fold, fold)
    if exact <= MAX_EXACT_PERIOD and n >= 4 * exact:
        shift = (exact * step // fold) * per_fold
        off = _emit(pieces, rows, words, counts, index, n, exact, shift)
        for j in range(exact):
            rows[off + j] = _row_at(g0 + j * step, fold, per_fold, first_row, kind, lines,
                                    temporal)
            words[off + j] = w
        return
    lo, hi, a = _linear_stretch(kind, fold, lines, temporal)
    group = _group(step, fold, hi - lo)
    wide = group * step
    period = group * (a // _gcd(wide % a, a))
    j = 0
    while j < n:
        t = n - j  # events from j whose word lies on the linear stretch, each group alike
        for c in range(min(group, n - j)):
            q = (g0 + (j + c) * step) % fold
            t = min(t, c + group * _run_length(q, wide, fold, lo, hi) if lo <= q < hi else c)
        if t >= 4 * period:
            g = g0 + j * step
            row0 = _row_at(g, fold, per_fold, first_row, kind, lines, temporal)
            shift = _row_at(g + period * step, fold, per_fold, first_row, kind, lines,
                            temporal) - row0
            off = _emit(pieces, rows, words, counts, index + j, t, period, shift)
            for i in range(period):
                rows[off + i] = _row_at(g + i * step, fold, per_fold, first_row, kind, lines,
                                        temporal)
                words[off + i] = w
            j += t
            continue
        for i in range(max(1, t)):
            _explicit(pieces, rows, words, counts, index + j + i,
                      _row_at(g0 + (j + i) * step, fold, per_fold, first_row, kind, lines,
                              temporal), w)
        j += max(1, t)


@njit
def _group(step, fold, stretch):
    """Events taken together so that their position moves little within a fold each time
    (``g * step`` near a multiple of ``fold``): the ``g <= MAX_GROUP`` that makes the
    longest runs on a stretch of ``stretch`` words (1: none helps)."""
    best, best_run = 1, 0
    for g in range(1, MAX_GROUP + 1):
        d = (g * step) % fold
        moved = min(d, fold - d)
        run = g * (stretch // moved) if moved else 1 << 62
        if run > best_run:
            best, best_run = g, run
    return best


@njit
def _stream_pieces(starts, steps, lengths, sizes, fold, per_fold, first_row, kind, lines,
                   temporal, capacity):
    """Pieces of a stream given as runs of arithmetic positions: run ``r`` has
    ``lengths[r]`` events at ``starts[r] + j * steps[r]`` of ``sizes[r]`` words each.
    Returns (pieces, rows, words), trimmed."""
    pieces = np.empty((capacity, 5), dtype=np.int64)  # filled up to counts, then trimmed
    rows = np.empty(capacity, dtype=np.int64)
    words = np.empty(capacity, dtype=np.int64)
    counts = np.zeros(3, dtype=np.int64)  # pieces, base entries, open explicit piece
    counts[2] = -1
    index = 0
    for r in range(starts.size):
        if lengths[r] > 0:
            _arithmetic_pieces(pieces, rows, words, counts, index, starts[r], steps[r],
                               lengths[r], sizes[r], fold, per_fold, first_row, kind, lines,
                               temporal)
            index += lengths[r]
    return pieces[:counts[0]].copy(), rows[:counts[1]].copy(), words[:counts[1]].copy()


@njit
def _expand(pieces, rows, words):
    """Every event's (row, words) of a stream of pieces (the tests' reference)."""
    n = 0
    for k in range(pieces.shape[0]):
        n += pieces[k, COUNT]
    out_rows = np.zeros(n, dtype=np.int64)
    out_words = np.zeros(n, dtype=np.int64)
    for k in range(pieces.shape[0]):
        first, period, shift, off = (pieces[k, FIRST], pieces[k, PERIOD], pieces[k, SHIFT],
                                     pieces[k, OFFSET])
        for i in range(pieces[k, COUNT]):
            out_rows[first + i] = rows[off + i % period] + (i // period) * shift
            out_words[first + i] = words[off + i % period]
    return out_rows, out_words


@njit_inline
def _piece(pieces, npieces, s, i):
    """Index of stream ``s``'s piece holding event ``i`` (binary search)."""
    lo, hi = 0, npieces[s] - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pieces[s, mid, FIRST] <= i:
            lo = mid
        else:
            hi = mid - 1
    return lo


@njit_inline
def _at(pieces, base, s, k, i):
    """Row (``base`` = rows) or words (``base`` = words, shift ignored) of event ``i`` in
    piece ``k`` of stream ``s``."""
    local = i - pieces[s, k, FIRST]
    period = pieces[s, k, PERIOD]
    return base[s, pieces[s, k, OFFSET] + local % period], local // period


@njit_inline
def _row(pieces, npieces, rows, s, i):
    k = _piece(pieces, npieces, s, i)
    value, turns = _at(pieces, rows, s, k, i)
    return value + turns * pieces[s, k, SHIFT]


@njit_inline
def _row_in(pieces, rows, s, k, i):
    """Row of event ``i`` of stream ``s``, known to lie in piece ``k``."""
    local = i - pieces[s, k, FIRST]
    period = pieces[s, k, PERIOD]
    turns = local // period
    return rows[s, pieces[s, k, OFFSET] + local - turns * period] + turns * pieces[s, k, SHIFT]


@njit
def _four_streams(folds, runs):
    """The four streams' pieces in one call, packed: ``folds[s]`` = (words, per_fold,
    first_row, kind, lines, temporal) and ``runs[s, r]`` = (first position, step, events,
    words each) of stream ``s``. Returns (pieces, piece counts, rows, words, events)."""
    parts = []
    most, base = 1, 1
    for s in range(4):
        f = folds[s]
        capacity = runs[s, :, 2].sum() + 1
        p, r, w = _stream_pieces(runs[s, :, 0], runs[s, :, 1], runs[s, :, 2], runs[s, :, 3],
                                 f[0], f[1], f[2], f[3], f[4], f[5], capacity)
        parts.append((p, r, w))
        most, base = max(most, p.shape[0]), max(base, r.size)
    pieces = np.zeros((4, most, 5), dtype=np.int64)
    rows = np.zeros((4, base), dtype=np.int64)
    words = np.zeros((4, base), dtype=np.int64)
    npieces = np.zeros(4, dtype=np.int64)
    nevents = np.zeros(4, dtype=np.int64)
    for s in range(4):
        p, r, w = parts[s]
        pieces[s, :p.shape[0]] = p
        rows[s, :r.size] = r
        words[s, :w.size] = w
        npieces[s] = p.shape[0]
        nevents[s] = runs[s, :, 2].sum()
    return pieces, npieces, rows, words, nevents
