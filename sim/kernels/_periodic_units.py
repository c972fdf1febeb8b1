"""When the fixed-pipe timing of :mod:`._periodic_pipe` may skip ahead: snapshots of its state,
units that repeat, and how many more times they repeat.

A *unit* runs from one snapshot to a later one. Two equal units in a row (the same events per
stream, each stream's in one repeating piece, the same growth of every state value, and the
same choice made by every ``max`` of the timing) repeat for as long as (a) every stream stays
in its piece, (b) every event keeps its place among the other streams' events (streams drift
apart by a fixed number of rows per unit: each event of the unit is checked against its
neighbours), and (c) no ``max`` changes its choice (each margin moves by a fixed step per
unit). Under a fixed choice every state value is one earlier value plus terms linear in the
unit count, so equal growth over two units is growth per unit from then on.

In (b), two events that both leave the stall as it was may pass each other: each reads the
stall but neither writes it, so they commute. An event only keeps its place against the
other stream's events that move the stall (against all of them if it moves the stall).
"""
from __future__ import annotations

import numpy as np

from ._event_pieces import COUNT, FIRST, PERIOD, SHIFT, _piece, _row, _row_in
from ._numba import njit, njit_inline
from ._periodic_absorb import _PRIO, RING, _absorb, _template

BIG = np.int64(1) << 62
#: Snapshots kept: a unit spans up to (SNAPS - 1) // 2 reference periods (a stream of long
#: period, or of few events a period, needs several).
SNAPS = 65
#: Snapshot columns: reference stream, idx x4, then the state: S, port free x3, release x2,
#: drain starts kept, and those starts (newest first).
_X = 5
_WIDTH = _X + 7 + RING
#: Events remembered per stream: whether each left the stall as it was (a unit's events
#: must fit).
NEUTRAL = 8192
#: Choices (max terms) remembered per reference period.
MARGINS = 2048


@njit_inline
def _snapshot(x, idx, ref, snap):
    """The state in one row: stall, ports, and the ofmap drain starts still to be read."""
    snap[0] = ref
    for s in range(4):
        snap[1 + s] = idx[s]
    for t in range(6):
        snap[_X + t] = x[t]
    js, jf = idx[2], idx[3]
    kept = min(RING, jf - max(0, js - 2))
    snap[_X + 6] = kept if jf - max(0, js - 2) <= RING else -1
    for t in range(kept):  # only these are compared
        snap[_X + 7 + t] = x[6 + (jf - 1 - t) % RING]


@njit
def _unit(pieces, current, snaps, a, b, c, counts, delta):
    """Whether snapshots ``a -> b -> c`` are two equal units (same events per stream, in one
    repeating piece each, and the same state growth); fills ``counts`` and ``delta``.
    ``current[s]``: the piece of stream ``s``'s last event (-1: none)."""
    for t in (a, b, c):
        if snaps[t, 0] != snaps[c, 0] or snaps[t, _X + 6] < 0:
            return False
    for t in range(_X, _X + 6):  # cheap first: the stall and ports grew alike
        if snaps[c, t] - snaps[b, t] != snaps[b, t] - snaps[a, t]:
            return False
    for s in range(4):
        n = snaps[c, 1 + s] - snaps[b, 1 + s]
        counts[s] = n
        delta[s] = 0
        if n != snaps[b, 1 + s] - snaps[a, 1 + s]:
            return False
        if n == 0:
            continue
        k = current[s]
        period = pieces[s, k, PERIOD]
        if (snaps[a, 1 + s] - 2 < pieces[s, k, FIRST] or period == pieces[s, k, COUNT]
                or n % period):
            return False
        delta[s] = (n // period) * pieces[s, k, SHIFT]
    if counts[2] != counts[3]:  # drains and starts move the ofmap ring together
        return False
    if snaps[a, _X + 6] != snaps[c, _X + 6] or snaps[b, _X + 6] != snaps[c, _X + 6]:
        return False
    for t in range(_X, _X + 7 + snaps[c, _X + 6]):
        if snaps[c, t] - snaps[b, t] != snaps[b, t] - snaps[a, t]:
            return False
    return True


@njit
def _policy_holds(marg, nm, a, b, c):
    """Units the choices of units ``a -> b`` and ``b -> c`` keep making the same way, as
    each margin moves by its step per unit (-1: the units made different choices, or the
    same ones in another order of events)."""
    total = 0
    for t in range(b + 1, c + 1):
        total += nm[t % SNAPS]
    other = 0
    for t in range(a + 1, b + 1):
        other += nm[t % SNAPS]
    if total != other:
        return -1
    for t in range(a + 1, c + 1):
        if nm[t % SNAPS] > MARGINS:  # not all remembered
            return -1
    limit = BIG
    ta, ia, tb, ib = a + 1, 0, b + 1, 0
    for _ in range(total):
        while ia >= nm[ta % SNAPS]:
            ta, ia = ta + 1, 0
        while ib >= nm[tb % SNAPS]:
            tb, ib = tb + 1, 0
        before, now = marg[ta % SNAPS, ia], marg[tb % SNAPS, ib]
        if (before >= 0) != (now >= 0) or (marg[ta % SNAPS, MARGINS + ia]
                                           != marg[tb % SNAPS, MARGINS + ib]):
            return -1
        ia += 1
        ib += 1
        rate = now - before
        if now >= 0 and rate < 0:
            limit = min(limit, now // -rate)
        elif now < 0 and rate > 0:
            limit = min(limit, -now // rate)
    return limit


@njit
def _gap_limit(gap, drift, tie_ok, limit):
    """Units over which a gap that shrinks by ``drift`` a unit keeps its sign."""
    return min(limit, gap // drift if tie_ok else (gap - 1) // drift)


@njit
def _binding_neighbours(neutral, u, first, n):
    """For the ``n`` events of stream ``u`` from ``first`` (one unit, repeating): the offset
    of the first event at or after each one that moves the stall, and of the last one at or
    before it (offsets may pass the unit's ends; +-BIG: none moves it)."""
    nxt = np.empty(n, dtype=np.int64)
    prv = np.empty(n, dtype=np.int64)
    upcoming, latest = BIG, -BIG
    for t in range(2 * n - 1, -1, -1):
        if not neutral[u, (first + t % n) % NEUTRAL]:
            upcoming = t
        if t < n:
            nxt[t] = upcoming
    for t in range(-n, n):
        if not neutral[u, (first + t % n) % NEUTRAL]:
            latest = t
        if t >= 0:
            prv[t] = latest
    return nxt, prv


@njit
def _pair_limit(pieces, npieces, rows, nevents, idx, counts, delta, neutral, s, u, limit):
    """Most units (up to ``limit``) over which every event of stream ``s`` in the unit keeps
    its place among stream ``u``'s events (a merge of the two: both are in row order).
    Two events that leave the stall as it is commute, so they may pass each other: an event
    only has to keep its place against the other stream's events that move the stall (or
    against all of them, if it moves the stall itself)."""
    drift = delta[s] - delta[u]
    if drift == 0:
        return limit
    before = _PRIO[u] < _PRIO[s]  # a u event on the same row comes first
    strict = s >= 2 and u >= 2  # a start and a fill: never let them meet
    ks = _piece(pieces, npieces, s, idx[s] - 1)
    nu = counts[u]
    ku = _piece(pieces, npieces, u, idx[u] - 1) if nu else -1
    if ku >= 0 and idx[u] - nu - 1 < pieces[u, ku, FIRST]:
        return 0
    first = idx[u] - nu  # every u event before the unit came before it
    if nu:
        nxt, prv = _binding_neighbours(neutral, u, first, nu)
    j = first
    # against a stream with no events in the unit (rows fixed, s moving later) the unit's
    # last event comes nearest to passing its next event
    for i in range(idx[s] - counts[s] if nu else idx[s] - 1, idx[s]):
        x = _row_in(pieces, rows, s, ks, i)
        while j < idx[u]:
            r = _row_in(pieces, rows, u, ku, j) if ku >= 0 else _row(pieces, npieces, rows, u, j)
            if r < x or (r == x and before):
                j += 1
            else:
                break
        free = nu > 0 and neutral[s, i % NEUTRAL]
        if drift > 0:  # s moves later: the next u event it may not pass must stay after it
            t = j
            if free:
                off = nxt[(j - first) % nu]
                if off == BIG:
                    continue
                t = first + (j - first) // nu * nu + off
            if t >= nevents[u]:
                continue
            if ku >= 0:
                limit = min(limit, (pieces[u, ku, FIRST] + pieces[u, ku, COUNT] - 1 - t) // nu)
            gap = _row(pieces, npieces, rows, u, t) - x
            limit = _gap_limit(gap, drift, not strict and not before, limit)
        else:  # s moves earlier: the previous one must stay before it
            t = j - 1
            if free:
                off = prv[(t - first) % nu]
                if off == -BIG:
                    continue
                t = first + (t - first) // nu * nu + off
            if t < 0:
                continue
            if ku >= 0 and t < pieces[u, ku, FIRST]:
                return 0
            gap = x - _row(pieces, npieces, rows, u, t)
            limit = _gap_limit(gap, -drift, not strict and before, limit)
        if limit <= 0:
            return 0
    return limit


@njit
def _repeats(pieces, npieces, rows, nevents, idx, counts, delta, neutral, limit, active):
    """How many more times (up to ``limit``) the unit just run keeps its events in their
    pieces and in their order: among themselves (``active``) or against the next events of
    the streams with none in the unit (not ``active``)."""
    for s in range(4):
        if counts[s] > NEUTRAL:
            return 0
        if counts[s]:
            k = _piece(pieces, npieces, s, idx[s] - 1)
            end = pieces[s, k, FIRST] + pieces[s, k, COUNT]
            limit = min(limit, (end - idx[s]) // counts[s] - 1)
    for s in range(4):
        for u in range(s + 1, 4):
            if limit <= 0:
                return 0
            if counts[s] and counts[u] and active:
                limit = _pair_limit(pieces, npieces, rows, nevents, idx, counts, delta, neutral,
                                    s, u, limit)
            elif counts[s] and not counts[u] and not active:
                limit = _pair_limit(pieces, npieces, rows, nevents, idx, counts, delta, neutral,
                                    s, u, limit)
            elif counts[u] and not counts[s] and not active:
                limit = _pair_limit(pieces, npieces, rows, nevents, idx, counts, delta, neutral,
                                    u, s, limit)
    return max(0, limit)


@njit
def _skip(m, growth, now, counts, idx, x):
    """Run ``m`` more units at once from the state in snapshot row ``now``: every state value
    grows by its ``growth`` per unit."""
    for t in range(6):
        x[t] += m * growth[_X + t]
    kept = now[_X + 6] if counts[2] else 0  # an ofmap with no events keeps its ring
    step = m * counts[2]
    jf = idx[3]
    for t in range(kept):  # a drained half's cycles move with it (x[6 + 2 RING:]: scratch)
        x[6 + 2 * RING + t] = x[6 + RING + (jf - 1 - t) % RING]
    for t in range(kept):
        x[6 + (jf - 1 - t + step) % RING] = now[_X + 7 + t] + m * growth[_X + 7 + t]
        x[6 + RING + (jf - 1 - t + step) % RING] = x[6 + 2 * RING + t]
    for s in range(4):
        idx[s] += m * counts[s]


@njit
def _owned(t, counts):
    """Whether snapshot column ``t`` (a state value) belongs to a stream with events in a
    unit of ``counts`` (the stall belongs to all)."""
    if t == _X:
        return True
    if t in (_X + 1, _X + 4):
        return counts[0] > 0
    if t in (_X + 2, _X + 5):
        return counts[1] > 0
    return counts[2] > 0


@njit
def _resume(pieces, npieces, rows, words, nevents, regime, growth, anchor, now, idx, x, counts,
            delta, neutral, tmpl, out, latency):
    """After a run of units stopped at another stream's event, the unit that held it: if the
    state of the streams in the unit is where the run would have put it, the run goes on
    (the other stream's event changed its own state only). Returns units run (0: none)."""
    back = regime[1]
    regime[4] += 1
    if regime[4] < back:
        return 0
    regime[0] = 0
    left = regime[2] - 1  # units the run's own order and choices still hold for
    if regime[4] > back or now[0] != regime[3] or left < 1:
        return 0
    for s in range(4):
        counts[s], delta[s] = regime[5 + s], regime[9 + s]
        if counts[s] and now[1 + s] != anchor[1 + s] + counts[s]:
            return 0
    if counts[2] and now[_X + 6] != anchor[_X + 6]:
        return 0
    for t in range(_X, _X + 7 + (now[_X + 6] if counts[2] else 0)):
        if _owned(t, counts) and now[t] != anchor[t] + growth[t]:
            return 0
    done = regime[18] + 1  # the unit that held the other stream's event
    m = _absorb(pieces, npieces, rows, words, nevents, idx, x, out, counts, delta, tmpl,
                regime[17], regime[13:17], done, left, latency, 6)
    if m < 0:
        m = _repeats(pieces, npieces, rows, nevents, idx, counts, delta, neutral, left, False)
    if m > 0:
        _skip(m, growth, now, counts, idx, x)
        regime[0], regime[2], regime[4], regime[18] = 1, left - m, 0, done + m
    return m


@njit
def _try_skip(pieces, npieces, rows, words, nevents, snaps, marg, nm, taken, idx, x, counts,
              delta, neutral, regime, growth, tmpl, out, latency):
    """Units skipped at snapshot ``taken`` (0: none). A run of units is remembered in
    ``regime`` (on, reference periods a unit, units its own order and choices hold for,
    reference stream, snapshots since, events a unit x4, rows a unit x4, each stream's
    first event in the template unit x4, template events, units run since the template)
    with ``growth`` and the template ``tmpl`` (:mod:`._periodic_absorb`)."""
    current = x[6 + 2 * RING:6 + 2 * RING + 4]  # scratch: each stream's piece, its period
    periods = x[6 + 2 * RING + 4:6 + 2 * RING + 8]
    for s in range(4):
        current[s] = _piece(pieces, npieces, s, idx[s] - 1) if idx[s] else 0
        periods[s] = pieces[s, current[s], PERIOD] if idx[s] else 1
    c = taken % SNAPS
    for back in range(1, min(taken // 2, (SNAPS - 1) // 2) + 1):
        b, a = (taken - back) % SNAPS, (taken - 2 * back) % SNAPS
        whole = True  # cheap first: equal counts, whole periods of every stream
        for s in range(4):
            n = snaps[c, 1 + s] - snaps[b, 1 + s]
            whole &= n == snaps[b, 1 + s] - snaps[a, 1 + s] and (n == 0 or n % periods[s] == 0)
        if not whole or not _unit(pieces, current, snaps, a, b, c, counts, delta):
            continue
        limit = _policy_holds(marg, nm, taken - 2 * back, taken - back, taken)
        if limit < 0:
            continue
        own = _repeats(pieces, npieces, rows, nevents, idx, counts, delta, neutral, limit, True)
        regime[17] = _template(marg, nm, snaps, taken, back, _X, tmpl) if own > 0 else 0
        regime[13:17] = idx - counts
        m = _absorb(pieces, npieces, rows, words, nevents, idx, x, out, counts, delta, tmpl,
                    regime[17], regime[13:17], 0, own, latency, 6)
        if m < 0:
            m = _repeats(pieces, npieces, rows, nevents, idx, counts, delta, neutral, own, False)
        if m > 0:
            for t in range(_WIDTH):
                growth[t] = snaps[c, t] - snaps[b, t]
            _skip(m, growth, snaps[c], counts, idx, x)
            regime[0], regime[1], regime[2], regime[3], regime[4] = 1, back, own - m, snaps[c, 0], 0
            regime[5:9] = counts
            regime[9:13] = delta
            regime[18] = m
        return m
    return 0
