"""The fixed-pipe timing of :func:`._memory._pipe_timing` over streams of pieces
(:mod:`._event_pieces`), running at once the units that repeat (:mod:`._periodic_units`).

Streams: 0 ifmap blocks, 1 filter blocks, 2 ofmap half starts, 3 ofmap half fills, timed in
the order and by the rules of ``_pipe_timing``: each stream's next event is kept in a cursor
(no search per event) and the state in locals. Snapshots are taken at the period boundaries
of a reference stream; where two units in a row are equal, the next ones are run at once.
``tests/sim/test_periodic_timing.py`` holds the result equal to the event path. The engine
takes it for large layers of equal folds (``hwloop.sim.memory._periodic``).
"""
from __future__ import annotations

import numpy as np

from ._event_pieces import COUNT, FIRST, OFFSET, PERIOD, SHIFT, _piece
from ._numba import njit, njit_inline
from ._periodic_absorb import TEMPLATE
from ._periodic_units import (
    _WIDTH,
    BIG,
    MARGINS,
    NEUTRAL,
    RING,
    SNAPS,
    _resume,
    _snapshot,
    _try_skip,
)


@njit
def _sync(pieces, npieces, rows, words, nevents, idx, cur, s):
    """Point stream ``s``'s cursor at event ``idx[s]``: ``cur[s]`` = (piece, phase, turns,
    row, words); the row is BIG once the stream is done."""
    i = idx[s]
    if i >= nevents[s]:
        cur[s, 3] = BIG
        return
    k = _piece(pieces, npieces, s, i)
    local = i - pieces[s, k, FIRST]
    period = pieces[s, k, PERIOD]
    cur[s, 0], cur[s, 1], cur[s, 2] = k, local % period, local // period
    off = pieces[s, k, OFFSET] + cur[s, 1]
    cur[s, 3] = rows[s, off] + cur[s, 2] * pieces[s, k, SHIFT]
    cur[s, 4] = words[s, off]


@njit_inline
def _advance(pieces, rows, words, nevents, idx, cur, s):
    """Step stream ``s`` to its next event, without a division."""
    i = idx[s] + 1
    idx[s] = i
    if i >= nevents[s]:
        cur[s, 3] = BIG
        return
    k = cur[s, 0]
    if i == pieces[s, k, FIRST] + pieces[s, k, COUNT]:
        k += 1
        cur[s, 0], cur[s, 1], cur[s, 2] = k, 0, 0
    else:
        cur[s, 1] += 1
        if cur[s, 1] == pieces[s, k, PERIOD]:
            cur[s, 1] = 0
            cur[s, 2] += 1
    off = pieces[s, k, OFFSET] + cur[s, 1]
    cur[s, 3] = rows[s, off] + cur[s, 2] * pieces[s, k, SHIFT]
    cur[s, 4] = words[s, off]


@njit_inline
def _choose(a, b, marg, slot, n, stream):
    """``max(a, b)``, remembering ``a - b`` as margin ``n`` of the unit in ``slot`` and the
    stream whose event chose (``marg[slot, MARGINS + n]``: units compare their sequences of
    choices)."""
    if n < MARGINS:
        marg[slot, n] = a - b
        marg[slot, MARGINS + n] = stream
    return max(a, b), n + 1


@njit_inline
def _read(cur, s, k, r, bw, latency, stall, free, release, marg, slot, n):
    """Block ``k`` of read stream ``s``, needed at row ``r``: (its start, the stall, the
    port's free cycle and release row, margins noted)."""
    d = cur[s, 4]  # cycles on the port
    if k == 0:
        start = r + stall - (d - 1) - latency
    else:
        start, n = _choose(free, release, marg, slot, n, s)
    stall, n = _choose(stall, start + d - 1 + latency - r, marg, slot, n, s)
    return start, stall, start + d, r + stall, n


@njit_inline
def _ofmap_row(pieces, rows, words, nevents, cur, idx, r, stall, free, ring, out, marg, slot, n,
               mark, neutral):
    """The ofmap halves starting and filling at row ``r``: each start waits for its half's
    previous contents to leave, first draining the halves filled on its row whose place it
    takes; then the other fills drain. Returns (stall, port free, margins noted, whether a
    start was at a period boundary when ``mark``). ``words``: cycles on the port."""
    marked = False
    while cur[2, 3] == r or cur[3, 3] == r:
        js = idx[2]
        if cur[2, 3] == r and not (cur[3, 3] == r and idx[3] <= js - 2):
            marked |= mark and cur[2, 1] == 0
            if js >= 2:
                left = ring[(js - 2) % RING] if idx[3] > js - 2 else 0
                done = left + ring[RING + (js - 2) % RING]
                neutral[2, js % NEUTRAL] = done - r <= stall
                stall, n = _choose(stall, done - r, marg, slot, n, 2)
            else:
                neutral[2, js % NEUTRAL] = True
            _advance(pieces, rows, words, nevents, idx, cur, 2)
            continue
        j = idx[3]  # a drain reads the stall, never moves it
        neutral[3, j % NEUTRAL] = True
        start, n = _choose(r + stall, free, marg, slot, n, 3)
        ring[j % RING] = start
        ring[RING + j % RING] = cur[3, 4]
        if j == 0:
            out[5] = start
        out[6] = start
        free = start + cur[3, 4]
        _advance(pieces, rows, words, nevents, idx, cur, 3)
    return stall, free, n, marked


@njit_inline
def _reference(pieces, rows, cur, idx, nevents):
    """The stream whose period boundaries take snapshots: the first of ifmap, ofmap starts,
    filter whose current piece repeats. None (-1) while another stream is in a piece of
    explicit events at least as dense as the reference's periods: no unit can repeat there,
    so snapshots would only cost."""
    ref = -1
    for s in (0, 2, 1):
        if idx[s] < nevents[s] and pieces[s, cur[s, 0], PERIOD] < pieces[s, cur[s, 0], COUNT]:
            ref = s
            break
    if ref < 0:
        return ref
    step = pieces[ref, cur[ref, 0], SHIFT]  # rows a reference period
    for s in range(4):
        k = cur[s, 0]
        count = pieces[s, k, COUNT]
        if idx[s] < nevents[s] and count > 1 and pieces[s, k, PERIOD] == count:
            off = pieces[s, k, OFFSET]
            if rows[s, off + count - 1] - rows[s, off] < (count - 1) * step:
                return -1
    return ref


@njit
def _after_snapshot(pieces, npieces, rows, words, nevents, snaps, marg, nm, taken, idx, x,
                    counts, delta, neutral, cur, out, ref, regime, growth, anchor, tmpl, bws,
                    latency):
    """Snapshot ``taken`` of the state in ``x``; run the units that repeat, if any (then
    ``x``, ``idx`` and the cursors are past them; ``tmpl``: the run's template unit, see
    :mod:`._periodic_absorb`). Returns the next snapshot's number."""
    now = snaps[taken % SNAPS]
    _snapshot(x, idx, ref, now)
    out[10] += 1
    m = 0
    if regime[0]:
        m = _resume(pieces, npieces, rows, words, nevents, regime, growth, anchor, now, idx, x,
                    counts, delta, neutral, tmpl, out, latency)
    if m == 0:
        m = _try_skip(pieces, npieces, rows, words, nevents, snaps, marg, nm, taken, idx, x,
                      counts, delta, neutral, regime, growth, tmpl, out, latency)
    if m == 0:
        for s in range(4):
            if idx[s] != now[1 + s]:  # another stream's events were taken along
                _sync(pieces, npieces, rows, words, nevents, idx, cur, s)
        return taken + 1
    out[7] += m
    out[8] += m * counts.sum()
    for s in range(4):
        _sync(pieces, npieces, rows, words, nevents, idx, cur, s)
    _snapshot(x, idx, ref, snaps[0])
    anchor[:] = snaps[0]
    return 1


@njit
def _cycles(words, bws):
    """Each stream's transfers in cycles on its port (ceil(words / words a cycle))."""
    out = np.empty_like(words)
    for s in range(4):
        bw = bws[min(s, 2)]
        for i in range(words.shape[1]):
            out[s, i] = (words[s, i] + bw - 1) // bw
    return out


@njit
def _run_buffers():
    """A run of units: its state (see _try_skip), its growth per unit, the snapshot it
    started from."""
    return np.zeros(19, np.int64), np.zeros(_WIDTH, np.int64), np.zeros(_WIDTH, np.int64)


def workspace():
    """Work space for :func:`_periodic_pipe`: snapshots, margins (and the stream of each),
    whether each event left the stall, the template unit (:mod:`._periodic_absorb`)."""
    return (np.empty((SNAPS, _WIDTH), np.int64), np.empty((SNAPS, 2 * MARGINS), np.int64),
            np.empty((4, NEUTRAL), np.bool_), np.empty((3, TEMPLATE), np.int64))


@njit
def _periodic_pipe(pieces, npieces, rows, words, nevents, bws, latency, budget, snaps, marg,
                   neutral, tmpl):
    """Time the four streams: [stall, first and last start of ifmap, filter and ofmap
    transfers (-BIG: none), units skipped, events skipped, events timed one by one,
    snapshots]; stall -1: gave up, ``budget`` events timed one by one and fewer skipped.
    The state lives in locals (``x`` holds it for snapshots: see _snapshot). ``snaps``,
    ``marg``, ``neutral``, ``tmpl``: work space (see :func:`workspace`), read only where
    this call wrote it, so a caller may keep it between calls (its pages stay touched)."""
    idx, cur = np.zeros(4, dtype=np.int64), np.zeros((4, 5), dtype=np.int64)  # see _sync
    x = np.zeros(6 + 3 * RING, dtype=np.int64)  # state, drain starts and words, scratch
    out = np.concatenate((np.full(7, -BIG, dtype=np.int64), np.zeros(4, dtype=np.int64)))
    nm, counts, delta = np.zeros(SNAPS, np.int64), np.zeros(4, np.int64), np.zeros(4, np.int64)
    regime, growth, anchor = _run_buffers()
    words = _cycles(words, bws)  # from here on, each transfer's cycles on its port
    for s in range(4):
        _sync(pieces, npieces, rows, words, nevents, idx, cur, s)
    ring = x[6:]
    stall, free, release, free_o = np.int64(0), np.full(2, -BIG), np.full(2, -BIG), -BIG
    taken, slot, n, ref, ref_at = 0, 0, 0, -1, -1
    while True:
        r = min(min(cur[0, 3], cur[1, 3]), min(cur[2, 3], cur[3, 3]))
        if r == BIG:
            break
        at = cur[0, 0] + cur[1, 0] + cur[2, 0] + cur[3, 0]  # changes only with a piece
        if at != ref_at:
            ref, ref_at = _reference(pieces, rows, cur, idx, nevents), at
        marked = False
        for s in range(2):
            while cur[s, 3] == r:
                marked |= s == ref and cur[s, 1] == 0
                was = stall
                start, stall, free[s], release[s], n = _read(
                    cur, s, idx[s], r, bws[s], latency, stall, free[s], release[s], marg, slot, n)
                neutral[s, idx[s] % NEUTRAL] = stall == was
                if idx[s] == 0:
                    out[1 + 2 * s] = start
                out[2 + 2 * s] = start
                _advance(pieces, rows, words, nevents, idx, cur, s)
        if cur[2, 3] == r or cur[3, 3] == r:
            stall, free_o, n, started = _ofmap_row(pieces, rows, words, nevents, cur, idx, r,
                                                   stall, free_o, ring, out, marg, slot, n,
                                                   ref == 2, neutral)
            marked |= started
        if not marked:
            continue
        if 0 <= budget < idx.sum() - out[8] and out[8] < idx.sum() - out[8]:
            out[0] = -1  # past the budget, with fewer events skipped than timed: give up
            return out
        nm[slot] = n
        x[0], x[1], x[2], x[3], x[4], x[5] = stall, free[0], free[1], free_o, release[0], release[1]
        taken = _after_snapshot(pieces, npieces, rows, words, nevents, snaps, marg, nm, taken,
                                idx, x, counts, delta, neutral, cur, out, ref, regime, growth,
                                anchor, tmpl, bws, latency)
        stall, free_o = x[0], x[3]
        free[0], free[1], release[0], release[1] = x[1], x[2], x[4], x[5]
        n, slot = 0, taken % SNAPS  # the slot the next unit's margins go to
    out[0] = stall
    out[9] = nevents.sum() - out[8]
    return out
