"""The fixed-pipe timing of :func:`._memory._pipe_timing` over streams of pieces
(:mod:`._event_pieces`), skipping the units that repeat (:mod:`._periodic_units`).

Streams: 0 ifmap blocks, 1 filter blocks, 2 ofmap half starts, 3 ofmap half fills, walked in
the order and with the rules of ``_pipe_timing`` (each stream's next event kept in a cursor,
so an event costs no search). Snapshots are taken at the period boundaries of a reference
stream; where two units in a row are equal, the next ones are run at once.
``tests/sim/test_periodic_timing.py`` holds the result equal to ``_pipe_timing`` on the
expanded streams.

Not yet faster than ``_pipe_timing`` on the layers issue 19 times (see
``benchmarks/results/bench_finite_scale_2026-12-04.txt``), so the engine does not use it.
"""
from __future__ import annotations

import numpy as np

from ._event_pieces import COUNT, FIRST, OFFSET, PERIOD, SHIFT, _piece, _words
from ._numba import njit, njit_inline
from ._periodic_units import _WIDTH, BIG, MARGINS, RING, SNAPS, _mx, _snapshot, _try_skip


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
def _read(pieces, rows, words, nevents, cur, s, r, bw, latency, idx, x, out, marg, nm, slot):
    """Read block ``idx[s]`` of stream ``s`` (0 ifmap, 1 filter), needed at row ``r``."""
    k = idx[s]
    d = (cur[s, 4] + bw - 1) // bw
    if k == 0:
        start = r + x[0] - (d - 1) - latency
        out[1 + 2 * s] = start
    else:
        start = _mx(x[1 + s], x[4 + s], marg, nm, slot)
    x[0] = _mx(x[0], start + d - 1 + latency - r, marg, nm, slot)
    x[1 + s] = start + d
    x[4 + s] = r + x[0]
    out[2 + 2 * s] = start
    _advance(pieces, rows, words, nevents, idx, cur, s)


@njit_inline
def _drain(pieces, rows, words, nevents, cur, r, bw, idx, x, out, marg, nm, slot):
    """Drain ofmap half ``idx[3]``, filled at row ``r``."""
    j = idx[3]
    start = _mx(r + x[0], x[3], marg, nm, slot)
    x[6 + j % RING] = start
    x[3] = start + (cur[3, 4] + bw - 1) // bw
    if j == 0:
        out[5] = start
    out[6] = start
    _advance(pieces, rows, words, nevents, idx, cur, 3)


@njit
def _ofmap_start(pieces, npieces, rows, words, nevents, cur, r, bw, idx, x, out, marg, nm,
                 slot):
    """Half ``idx[2]`` starts filling at row ``r``: its previous contents must have left."""
    js = idx[2]
    if js >= 2:
        while idx[3] <= js - 2 and cur[3, 3] == r:
            _drain(pieces, rows, words, nevents, cur, r, bw, idx, x, out, marg, nm, slot)
        left = x[6 + (js - 2) % RING] if idx[3] > js - 2 else 0
        done = left + (_words(pieces, npieces, words, 3, js - 2) + bw - 1) // bw
        x[0] = _mx(x[0], done - r, marg, nm, slot)
    _advance(pieces, rows, words, nevents, idx, cur, 2)


@njit
def _reference(pieces, cur, idx, nevents):
    """The stream whose period boundaries take snapshots: the first of ifmap, ofmap starts,
    filter whose current piece repeats (-1: none)."""
    for s in (0, 2, 1):
        if idx[s] < nevents[s]:
            k = cur[s, 0]
            if pieces[s, k, PERIOD] < pieces[s, k, COUNT]:
                return s
    return -1


@njit
def _row_events(pieces, npieces, rows, words, nevents, cur, r, ref, bws, latency, idx, x,
                out, marg, nm, slot):
    """Every event at row ``r``, in :func:`._memory._pipe_timing`'s order; returns whether
    one was the reference stream's at a period boundary."""
    marked = False
    for s in range(2):
        while cur[s, 3] == r:
            marked |= s == ref and cur[s, 1] == 0
            _read(pieces, rows, words, nevents, cur, s, r, bws[s], latency, idx, x, out, marg,
                  nm, slot)
    while cur[2, 3] == r:
        marked |= ref == 2 and cur[2, 1] == 0
        _ofmap_start(pieces, npieces, rows, words, nevents, cur, r, bws[2], idx, x, out, marg,
                     nm, slot)
    while cur[3, 3] == r:
        _drain(pieces, rows, words, nevents, cur, r, bws[2], idx, x, out, marg, nm, slot)
    return marked


@njit
def _periodic_pipe(pieces, npieces, rows, words, nevents, bws, latency):
    """Time the four streams; returns [stall, first and last start of ifmap, filter and
    ofmap transfers (-BIG: none), units skipped, events skipped, events timed one by one,
    snapshots]."""
    idx = np.zeros(4, dtype=np.int64)
    x = np.zeros(6 + RING, dtype=np.int64)  # S, port free x3, release x2, drain starts
    x[1:6] = -BIG
    out = np.full(11, -BIG, dtype=np.int64)
    out[7:] = 0
    snaps = np.zeros((SNAPS, _WIDTH), dtype=np.int64)
    marg = np.zeros((SNAPS, MARGINS), dtype=np.int64)
    nm = np.zeros(SNAPS, dtype=np.int64)
    counts = np.zeros(4, dtype=np.int64)
    delta = np.zeros(4, dtype=np.int64)
    cur = np.zeros((4, 5), dtype=np.int64)  # each stream's next event: see _sync
    for s in range(4):
        _sync(pieces, npieces, rows, words, nevents, idx, cur, s)
    taken = 0
    while True:
        r = min(min(cur[0, 3], cur[1, 3]), min(cur[2, 3], cur[3, 3]))
        if r == BIG:
            break
        ref = _reference(pieces, cur, idx, nevents)
        if not _row_events(pieces, npieces, rows, words, nevents, cur, r, ref, bws, latency,
                           idx, x, out, marg, nm, taken % SNAPS):
            continue
        _snapshot(x, idx, ref, snaps[taken % SNAPS])
        out[10] += 1
        m = _try_skip(pieces, npieces, rows, nevents, snaps, marg, nm, taken, idx, x,
                      counts, delta)
        if m > 0:
            out[7] += m
            out[8] += m * counts.sum()
            for s in range(4):
                _sync(pieces, npieces, rows, words, nevents, idx, cur, s)
            taken = 0
            _snapshot(x, idx, ref, snaps[0])
        taken += 1
        nm[taken % SNAPS] = 0
    out[0] = x[0]
    out[9] = nevents.sum() - out[8]
    return out
