"""Events of the streams with none in a repeating unit, timed while the units run at once.

A run of units (:mod:`._periodic_units`) would stop before the next event of a stream that
has no events in the unit (a filter block every few hundred ifmap blocks, an ofmap half
every few dozen). Such an event changes only its own stream's state, unless it moves the
stall; the stall it sees is the stall after the unit's event just before it, which under
the run's fixed choices is that event's stall in the template unit plus its growth per unit
times the units run. So the event is timed where it falls, and the run goes on past it; an
event that would move the stall ends the run before its unit.

The template: the unit's events in order, each one's stream and the stall after it, and
how much that stall grows per unit (from the margins of the two equal units: a stall choice
that went to the new value raised the stall by minus its margin).
"""
from __future__ import annotations

from ._event_pieces import _piece, _row, _row_in
from ._numba import njit

#: Template events kept (a unit with more takes no events of other streams along).
TEMPLATE = 4096
#: Ofmap drain starts kept (chunks ``js - 2 .. jf - 1`` are ever read); their words follow.
RING = 64
#: Processing order of streams whose events fall on one row (ifmap, filter, ofmap starts,
#: fills).
_PRIO = (0, 1, 2, 3)


@njit
def _replay(marg, nm, first, last, stall, tmpl, row):
    """Events of the unit in snapshots ``first + 1 .. last`` (stream, stall after) from its
    margins into ``tmpl[row]`` / ``tmpl[0]``; returns their number (-1: too many)."""
    e = 0
    for t in range(first + 1, last + 1):
        slot = t % marg.shape[0]
        half = marg.shape[1] // 2
        i = 0
        while i < nm[slot]:
            s = marg[slot, half + i]
            if s < 2:  # a read chooses its start, then the stall
                i += 1
            if s != 3:  # margin = stall - candidate; a drain never moves the stall
                stall = max(stall, stall - marg[slot, i])
            i += 1
            if e >= TEMPLATE:
                return -1
            tmpl[0, e] = s
            tmpl[row, e] = stall
            e += 1
    return e


@njit
def _template(marg, nm, snaps, taken, back, x_col, tmpl):
    """The template of the unit ending at snapshot ``taken`` (``back`` snapshots long, the
    one before it equal): returns its events (0: none kept)."""
    c, b, a = taken, taken - back, taken - 2 * back
    n = _replay(marg, nm, b, c, snaps[b % snaps.shape[0], x_col], tmpl, 1)
    if n <= 0 or _replay(marg, nm, a, b, snaps[a % snaps.shape[0], x_col], tmpl, 2) != n:
        return 0
    for e in range(n):
        tmpl[2, e] = tmpl[1, e] - tmpl[2, e]
    return n


@njit
def _stall_before(pieces, npieces, rows, tmpl, n, first, counts, delta, unit, r, prio):
    """The stall just before an event at row ``r`` (priority ``prio``) processed in unit
    ``unit`` of the run (template unit 0): after the unit's events with a smaller key."""
    before = 0
    for s in range(4):
        if counts[s] == 0:
            continue
        k = _piece(pieces, npieces, s, first[s])
        lo, hi = 0, counts[s]  # s events of the unit that come first
        while lo < hi:
            mid = (lo + hi) // 2
            x = _row_in(pieces, rows, s, k, first[s] + mid) + unit * delta[s]
            if x < r or (x == r and _PRIO[s] < prio):
                lo = mid + 1
            else:
                hi = mid
        before += lo
    if before == 0:  # first in its unit: the stall the unit before ended with
        return tmpl[1, n - 1] + (unit - 1) * tmpl[2, n - 1]
    return tmpl[1, before - 1] + unit * tmpl[2, before - 1]


@njit
def _unit_of(pieces, npieces, rows, tmpl, n, first, counts, delta, done, r, prio):
    """The unit (after ``done``) in which an event at row ``r`` is processed: the first
    whose last event comes after it (-1: the units never reach it)."""
    s = tmpl[0, n - 1]
    k = _piece(pieces, npieces, s, first[s])
    x = _row_in(pieces, rows, s, k, first[s] + counts[s] - 1)
    if delta[s] <= 0:
        return -1
    unit = max(done + 1, (r - x) // delta[s])
    while x + unit * delta[s] < r or (x + unit * delta[s] == r and _PRIO[s] < prio):
        unit += 1
    return unit


@njit
def _take_read(u, r, stall, d, latency, idx, x, out):
    """Read block ``idx[u]`` (``d`` cycles on its port) at row ``r`` with the stall ``stall``
    before it, if it leaves the stall as it is (a stream's first block is never taken)."""
    k = idx[u]
    if k == 0:
        return False
    start = max(x[1 + u], x[4 + u])
    if start + d - 1 + latency - r > stall:
        return False
    x[1 + u] = start + d
    x[4 + u] = r + stall
    out[2 + 2 * u] = start
    idx[u] = k + 1
    return True


@njit
def _take_ofmap(u, r, stall, d, ring_at, idx, x, out):
    """Ofmap half start (``u`` 2) or fill (3, ``d`` cycles on the port) at row ``r``, the
    stall before it ``stall``: a start if its half's previous contents have left by then, a
    fill always (a drain never moves the stall)."""
    if u == 2:
        js = idx[2]
        if js < 2:
            return False
        left = x[ring_at + (js - 2) % RING] if idx[3] > js - 2 else 0
        if left + x[ring_at + RING + (js - 2) % RING] - r > stall:
            return False
        idx[2] = js + 1
        return True
    j = idx[3]
    start = max(r + stall, x[3])
    x[ring_at + j % RING] = start
    x[ring_at + RING + j % RING] = d
    x[3] = start + d
    if j == 0:
        out[5] = start
    out[6] = start
    idx[3] = j + 1
    return True


@njit
def _next_other(pieces, npieces, rows, nevents, idx, counts):
    """The next event of the streams with none in the unit: (stream, row), (-1, 0) if none,
    (-2, 0) if an ofmap start and fill share its row (not taken: their order has a rule
    of its own)."""
    best, row = -1, 0
    for u in range(4):
        if counts[u] or idx[u] >= nevents[u]:
            continue
        r = _row(pieces, npieces, rows, u, idx[u])
        if best < 0 or r < row:
            best, row = u, r
        elif r == row and best >= 2 and u >= 2:
            return -2, 0
    return best, row


@njit
def _absorb(pieces, npieces, rows, cycles, nevents, idx, x, out, counts, delta, tmpl, n,
            first, done, limit, latency, ring_at):
    """Take the other streams' events that fall in the next ``limit`` units after unit
    ``done`` of a run; returns the units the run may go (up to ``limit``): to the unit
    before the first event that would move the stall (-1: an event it cannot place; the
    caller keeps the run clear of it)."""
    while True:
        u, r = _next_other(pieces, npieces, rows, nevents, idx, counts)
        if u == -1:
            return limit
        if u == -2 or n == 0:
            return -1
        unit = _unit_of(pieces, npieces, rows, tmpl, n, first, counts, delta, done, r,
                        _PRIO[u])
        if unit < 0:
            return -1
        if unit > done + limit:
            return limit
        stall = _stall_before(pieces, npieces, rows, tmpl, n, first, counts, delta, unit, r,
                              _PRIO[u])
        k = _piece(pieces, npieces, u, idx[u])
        size = cycles[u, pieces[u, k, 4] + (idx[u] - pieces[u, k, 0]) % pieces[u, k, 2]]
        taken = (_take_read(u, r, stall, size, latency, idx, x, out) if u < 2 else
                 _take_ofmap(u, r, stall, size, ring_at, idx, x, out))
        if not taken:
            return min(limit, unit - done - 1)
