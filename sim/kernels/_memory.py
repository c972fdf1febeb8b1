"""The memory side of a run with finite DRAM bandwidth: transfer events, then their timing.

Two kernels. :func:`_walk_reads` feeds demand rows through SCALE-Sim's set-window read
buffer (the stall-free engine's model, so the words fetched are the same) and records, per
double-buffer block, how many words it holds and the first demand row that needs it.
:func:`_walk_writes` cuts the ofmap stream into buffer halves. :func:`_pipe_timing` then
times those events against DRAM ports of fixed bandwidth and latency, once per event, never
per cycle (the rules are in ``docs/memory-timing.md``).
"""
from __future__ import annotations

import numpy as np

from ._numba import njit

# read-walk state vector
PER_SET, ACTIVE_SETS, PREFETCH_SETS, CUR_SET, IN_SET, READ_START, READ_END, FETCHED = range(8)
# write-walk state vector
HALF, WRITTEN = range(2)


@njit
def _walk_reads(demand, row0, st, marks, block_words, block_need, fetched):
    """Feed ``demand`` (rows starting at stall-free row ``row0``) through the read buffer.

    The words fetched in this call are written to ``fetched`` in order when it can hold a
    call's worth (pass a 1-element array not to record them); ``st[FETCHED]`` counts them.

    ``marks[addr]`` is the set that last fetched ``addr`` (-1: never); a word is resident
    while that set is in the active window. Set ``s`` belongs to block 0 if ``s`` is among
    the first ``ACTIVE_SETS`` sets, else to block ``1 + (s - ACTIVE_SETS) // PREFETCH_SETS``.
    """
    per_set, active, prefetch = st[PER_SET], st[ACTIVE_SETS], st[PREFETCH_SETS]
    cur, in_set, rstart, rend = st[CUR_SET], st[IN_SET], st[READ_START], st[READ_END]
    total = st[FETCHED]
    record = fetched.size > 1
    n, width = demand.shape
    for i in range(n):
        for j in range(width):
            a = demand[i, j]
            if a < 0 or marks[a] >= rstart:
                continue
            marks[a] = cur
            if cur < active:
                b = 0
            else:
                b = 1 + (cur - active) // prefetch
            if in_set == 0 and (cur == 0 or (cur >= active and (cur - active) % prefetch == 0)):
                block_need[b] = row0 + i
            block_words[b] += 1
            if record:
                fetched[total] = a
            total += 1
            in_set += 1
            if in_set == per_set:
                in_set = 0
                cur += 1
                if cur == rend + 1:
                    rstart += prefetch
                    rend += prefetch
    st[CUR_SET], st[IN_SET], st[READ_START], st[READ_END] = cur, in_set, rstart, rend
    st[FETCHED] = total


@njit
def _walk_writes(demand, row0, st, start_row, fill_row, written_addrs):
    """Cut the ofmap writes of ``demand`` into halves of ``st[HALF]`` words (recording this
    call's written addresses in order when ``written_addrs`` can hold them)."""
    half, written = st[HALF], st[WRITTEN]
    base = written
    record = written_addrs.size > 1
    n, width = demand.shape
    for i in range(n):
        c = 0
        for j in range(width):
            if demand[i, j] >= 0:
                if record:
                    written_addrs[written - base + c] = demand[i, j]
                c += 1
        if c == 0:
            continue
        first, last = written, written + c - 1
        j0 = (first + half - 1) // half  # chunks whose first word is in [first, last]
        for k in range(j0, last // half + 1):
            start_row[k] = row0 + i
        for k in range(first // half, (last + 1) // half):  # chunks whose last word is here
            fill_row[k] = row0 + i
        written += c
        if written % half != 0:
            fill_row[written // half] = row0 + i  # the partial chunk, until it fills
    st[WRITTEN] = written


@njit
def _read_event(words, k, bw, latency, port_free, release, now_stall, row):
    """(start cycle, transfer cycles, stall) of read block ``k``, first needed at ``row``.

    Block 0 is prefetched to be usable exactly when first needed; block ``k`` starts once
    the port is free and block ``k-1`` has begun to be used (its half held block ``k-2``).
    """
    d = (words[k] + bw - 1) // bw
    if k == 0:
        s = row + now_stall - (d - 1) - latency
    else:
        s = max(port_free, release)
    usable = s + d - 1 + latency
    return s, d, max(now_stall, usable - row)


@njit
def _drain(starts_o, words_o, j, bw, now, port_free):
    """Start ofmap chunk ``j``'s drain at ``now`` or when the port frees; returns port free."""
    s = max(now, port_free)
    starts_o[j] = s
    return s + (words_o[j] + bw - 1) // bw


@njit
def _head(rows, k, big):
    """Row of event ``k`` of a stream, or ``big`` when the stream is done."""
    return rows[k] if k < rows.size else big


@njit
def _pipe_timing(need_if, words_if, need_f, words_f, start_o, fill_o, words_o, bws, latency,
                 starts_if, starts_f, starts_o, stall_rows, stall_vals,
                 issue_p, need_p, words_p, starts_p):
    """Time every transfer; returns (final stall, number of stall events).

    ``bws`` = (ifmap, filter, ofmap) words per cycle. Fills ``starts_*`` with the first
    cycle of each transfer and ``stall_rows``/``stall_vals`` with (row, stall after it)
    each time the stall grows, so that stall-free row ``r`` runs at cycle ``r + stall``
    (empty ``stall_rows``/``stall_vals`` record nothing: only a trace needs that history).
    Partial sums read back (``*_p``, explicit mappings; empty otherwise) share the ofmap
    port: one is issued at its ``issue_row`` once the port is free and is needed at
    ``need_row``.
    """
    big = np.int64(1) << 62
    ki = kf = js = jf = kp = kq = 0
    ni, nf, no, np_ = need_if.size, need_f.size, words_o.size, words_p.size
    stall, events = np.int64(0), 0
    free_if = free_f = free_o = rel_if = rel_f = -big
    while True:
        r = min(_head(need_if, ki, big), _head(need_f, kf, big), _head(start_o, js, big),
                _head(fill_o, jf, big), _head(issue_p, kp, big), _head(need_p, kq, big))
        if r == big:
            break
        before = stall
        while ki < ni and need_if[ki] == r:
            s, d, stall = _read_event(words_if, ki, bws[0], latency, free_if, rel_if, stall, r)
            starts_if[ki] = s
            free_if = s + d
            rel_if = r + stall
            ki += 1
        while kf < nf and need_f[kf] == r:
            s, d, stall = _read_event(words_f, kf, bws[1], latency, free_f, rel_f, stall, r)
            starts_f[kf] = s
            free_f = s + d
            rel_f = r + stall
            kf += 1
        while js < no and start_o[js] == r:
            if js >= 2:  # this half was chunk js-2's: its drain must have left
                while jf <= js - 2 and fill_o[jf] == r:  # ... which may start in this row
                    free_o = _drain(starts_o, words_o, jf, bws[2], r + stall, free_o)
                    jf += 1
                done = starts_o[js - 2] + (words_o[js - 2] + bws[2] - 1) // bws[2]
                stall = max(stall, done - r)
            js += 1
        while kq < kp and need_p[kq] == r:  # a read-back must have arrived
            stall = max(stall, starts_p[kq] + (words_p[kq] + bws[2] - 1) // bws[2] - 1
                        + latency - r)
            kq += 1
        while jf < no and fill_o[jf] == r:
            free_o = _drain(starts_o, words_o, jf, bws[2], r + stall, free_o)
            jf += 1
        while kp < np_ and issue_p[kp] == r:  # queues on the ofmap port as a drain does
            free_o = _drain(starts_p, words_p, kp, bws[2], r + stall, free_o)
            kp += 1
        if stall > before:
            if events < stall_rows.size:  # an untraced run keeps no history
                stall_rows[events] = r
                stall_vals[events] = stall
            events += 1
    return stall, events
