"""The span machinery every bitset ifmap walk shares (``_bitset_buffer`` has the design).

Kept apart from the folds that drive it: the buffer's state vector, a run of demand set as
bits (:func:`_run`, :func:`_line_pixels`), counting new words and turnovers, and planning,
keeping or undoing a span of steps. Everything here works on one span or one demand; the
per-dataflow order of spans lives in ``_bitset_folds``.
"""
from __future__ import annotations

import numpy as np

from ._bitset_bits import _keep, _set_range, _set_strided, _speculate, _undo
from ._numba import as_int, njit, njit_inline
from ._skew import _demands_before

# Buffer state, one int64 array: see _new_state. SPAN_NEW / SPAN_DEMANDS: the new words and
# demands of the last span (its hit rate); CAP: the longest speculative span still worth a try.
STAMP, IN_WINDOW, WINDOW, FETCHED, TURNOVERS, LATER, LAST_TURNOVER, RECORD, PENDING, BLOCKS, \
    SPAN_NEW, SPAN_DEMANDS, CAP = range(13)
_NO_CAP = 1 << 62


def _new_state(first_window: int, later_window: int) -> np.ndarray:
    """A fresh buffer: stamp 1 (every word empty), the first window to fill."""
    st = np.zeros(13, dtype=np.int64)
    st[STAMP] = 1
    st[WINDOW] = first_window
    st[LATER] = later_window
    st[LAST_TURNOVER] = -1
    st[SPAN_NEW] = st[SPAN_DEMANDS] = 1
    st[CAP] = _NO_CAP
    return st


@njit
def _run(bits, wstamp, stamp, r0, c0, a, b, ifmap_h, ifmap_w, row_len, channels,
         el_dy, dil_h, dil_w):
    """A pixel whose window starts at input (r0, c0) reads elements ``a .. b-1``: set their
    bits in the current window; returns how many were new.

    Within one filter row the elements are consecutive input words (without column
    dilation), so a run is at most ``filter_h`` ranges of addresses, each set a 64-bit word at
    a time; with column dilation ``dil_w`` each tap's channels are one range. ``el_dy[e]`` is
    element ``e``'s filter row (no division in the inner loops); filter row ``dy`` reads
    input row ``r0 + dy * dil_h``."""
    added = 0
    width = min(row_len, (ifmap_w - c0) * channels) if dil_w == 1 else row_len
    for dy in range(el_dy[a], el_dy[b - 1] + 1):
        y = r0 + dy * dil_h
        if y >= ifmap_h:
            break
        row_start = dy * row_len
        lo = max(a - row_start, 0)
        hi = min(b - row_start, width)
        if lo >= hi:
            continue
        if dil_w == 1:
            origin = (y * ifmap_w + c0) * channels
            added += _set_range(bits, wstamp, stamp, origin + lo, origin + hi)
            continue
        for dx in range(lo // channels, (hi - 1) // channels + 1):  # one range per tap
            x = c0 + dx * dil_w
            if x >= ifmap_w:
                break
            origin = (y * ifmap_w + x) * channels - dx * channels
            added += _set_range(bits, wstamp, stamp,
                                origin + max(lo, dx * channels),
                                origin + min(hi, (dx + 1) * channels))
    return added


@njit
def _line_pixels(bits, wstamp, stamp, e, pa, pb, ofmap_w, stride_h, stride_w,
                 ifmap_h, ifmap_w, el_dy, el_dx, el_ch, patterns, dil_h, dil_w):
    """WS on channel-major bits (``(ch * ifmap_h + y) * ifmap_w + x``): the line of element
    ``e`` reads pixels ``pa .. pb-1``: per output row, every ``stride_w``-th bit of a range."""
    dy, dx, plane = el_dy[e] * dil_h, el_dx[e] * dil_w, el_ch[e] * ifmap_h
    added = 0
    oy = pa // ofmap_w
    p = pa
    while p < pb:
        row_first = oy * ofmap_w
        row_end = min(pb, row_first + ofmap_w)
        y = oy * stride_h + dy
        if y >= ifmap_h:
            break
        x0 = (p - row_first) * stride_w + dx
        x1 = min((row_end - 1 - row_first) * stride_w + dx + 1, ifmap_w)
        if x0 < x1:
            origin = (plane + y) * ifmap_w
            if stride_w == 1:
                added += _set_range(bits, wstamp, stamp, origin + x0, origin + x1)
            else:
                added += _set_strided(bits, wstamp, stamp, origin + x0,
                                      origin + x1, stride_w, patterns)
        p = row_end
        oy += 1
    return added


@njit
def _count(st, added, position):
    """Add ``added`` new words; turn the buffer over if that filled its window (and, when
    recording blocks, wait for the next block's first word)."""
    st[FETCHED] += added
    st[IN_WINDOW] += added
    if st[IN_WINDOW] == st[WINDOW]:
        st[STAMP] += 1
        st[IN_WINDOW] = 0
        st[WINDOW] = st[LATER]
        st[TURNOVERS] += 1
        st[LAST_TURNOVER] = position
        st[PENDING] = st[RECORD]
        st[SPAN_NEW] = st[SPAN_DEMANDS] = 1  # an empty window: every word is new again
        st[CAP] = _NO_CAP


@njit
def _count_demand(st, added, position, row, need):
    """:func:`_count` for one demand in exact order: a block's first word gives its row."""
    if added and st[PENDING]:
        need[st[BLOCKS]] = row
        st[BLOCKS] += 1
        st[PENDING] = 0
    _count(st, added, position)


@njit_inline
def _demands(t0, t1, ru, temporal, per_step):
    """Demands in steps ``t0 .. t1-1``: ``per_step`` each, or (0) those of a skewed fold."""
    if per_step > 0:
        return (t1 - t0) * per_step
    return _demands_before(t1, ru, temporal) - _demands_before(t0, ru, temporal)


@njit
def _steps_below(t, steps, ru, temporal, per_step, budget):
    """Most steps from ``t`` (up to ``steps``) whose demands stay below ``budget``."""
    if budget <= 0:
        return 0
    if per_step > 0:
        return min(steps - t, (budget - 1) // per_step)
    lo, hi = 0, steps - t
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _demands(t, t + mid, ru, temporal, 0) < budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


@njit
def _plan(st, t, steps, ru, temporal, per_step):
    """Steps in the next span from step ``t``: positive when it cannot turn the buffer over
    (its demands, a bound on its new words, stay below the room left), negative when it is
    a guess to check (its demands times the last span's rate of new words stay below three
    quarters of the room), 0 when the next step must be replayed demand by demand."""
    if st[PENDING]:
        return 0
    room = st[WINDOW] - st[IN_WINDOW]
    safe = _steps_below(t, steps, ru, temporal, per_step, room)
    new, demanded = st[SPAN_NEW], st[SPAN_DEMANDS]
    if safe == steps - t or 4 * new >= 3 * demanded:
        return safe  # everything left fits, or most demands are new words: no guessing
    budget = (3 * room // 4) * (demanded // max(new, 1))
    guess = min(_steps_below(t, steps, ru, temporal, per_step, budget), st[CAP])
    return -guess if guess > safe else safe


@njit
def _open_span(st, wstamp, k):
    """Start a span of ``abs(k)`` steps planned by :func:`_plan` (a guess when ``k < 0``: the
    window's undo log goes on): (the stamp to set its bits with, the room left before it)."""
    if k < 0:
        _speculate(wstamp)
    return st[STAMP], st[WINDOW] - st[IN_WINDOW]


@njit
def _settle(st, k, added, demanded, room, bits, wstamp):
    """After a span of ``k`` steps (negative: a guess) that added ``added`` new words: keep it
    and count it, or, if a guess would have turned the buffer over, undo it and try shorter.
    Returns whether the span was kept."""
    st[SPAN_NEW], st[SPAN_DEMANDS] = added, demanded
    if k < 0:
        if added >= room:
            _undo(bits, wstamp)
            st[CAP] = -k // 2
            return False
        _keep(wstamp)
        st[CAP] = _NO_CAP
    _count(st, added, as_int(0))
    return True
