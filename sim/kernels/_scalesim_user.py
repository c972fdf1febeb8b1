"""SCALE-Sim v3's fixed-bandwidth (``USER``) memory system, replayed exactly.

In ``USER`` mode SCALE-Sim (``memory/read_buffer.py``, ``memory/write_buffer.py``,
``memory/double_buffered_scratchpad_mem.py``) serves each demand row in turn:

* **Read buffers** (ifmap, filter). The operand's *prefetch matrix* (per-fold operand tiles,
  read in diagonal order for all but WS filters and IS ifmaps) is cut into *sets* of
  ``ceil(words / 100)`` valid elements. A window of ``A`` active sets serves reads; a miss
  slides the window by ``P`` prefetch sets (modulo the number of sets) and issues a prefetch
  of ``ceil(prefetch words / bw)`` DRAM lines right after the previous one, so prefetches
  form a chain in time that never waits for the array. The row's completion ``offset``
  grows by ``potential_stall = last prefetch cycle - (cycle + offset)``; SCALE-Sim adds that
  term unconditionally and then again when it is positive (``fix == 0``); the defect-fixed
  variant (``fix == 1``) adds it once when positive and never subtracts.
* **Write buffer** (ofmap): words packed into lines of ``bw``; drains as in CALC mode with
  ``bw``-word lines (see ``_write_buffer.py``).

Which fetch-matrix lines a prefetch names (``next_line_prefetch_idx``/``next_col_prefetch_idx``,
the wrap-around) changes only the addresses in SCALE-Sim's DRAM trace, never its counts or
cycles: every prefetch counts ``lines * bw`` words and its cycles come from the previous one
(the first fills the active half from cycle ``-lines``; the read port answers in 1 cycle).

Every row's stall is the largest of the three and accumulates into the next row's cycle.
Set membership is kept as a CSR list of set ids per operand-local address (an ifmap word
sits in several windows), so a hit test is a scan of a few ids against the window.

Configuration and state vectors are int64 arrays indexed by the module constants, so a run
can be fed in chunks of demand rows.
"""
from __future__ import annotations

from ._demand import FILTERS, PIXELS, WINDOW, _ifmap_addr
from ._numba import njit, njit_inline

# read-buffer configuration: active sets, prefetch sets, sets, lines per prefetch, bandwidth
R_ACTIVE, R_PREFETCH, R_SETS, R_LINES, R_BW = range(5)
# read-buffer state: window start/end, last prefetch cycle, words read, prefetches
S_START, S_END, S_LAST, S_READS, S_PREFETCHES = range(5)
# write-buffer configuration: bandwidth, words, active words, lines per drain
W_BW, W_TOTAL, W_ACTIVE, W_DRAIN_LINES = range(4)
# write-buffer state: fill of the open line, lines, lines drained, free words, drain end,
# words written, first drain start, last drain end, drains
S_LINE_FILL, S_LINES, S_DRAINED, S_FREE, S_DRAIN_END, S_WRITES, S_FIRST, S_STOP, \
    S_DRAINS = range(9)
# run state: stall cycles, largest ofmap completion cycle, last row's ofmap completion cycle
S_STALLS, S_MAX_OUT, S_LAST_OUT = range(3)
# error codes, and the value a row's service returns on one (stalls may be negative)
OK, ERR_NEVER_HIT, ERR_EMPTY_DRAIN = range(3)
FAILED = -(1 << 62)


@njit_inline
def _prefetch_elem(code, op, rows, cols, g, r, c):
    """Element (r, c) of SCALE-Sim's prefetch matrix (operand-local address or -1).

    ``op`` 0 = ifmap, 1 = filter; rows of the matrix are fold tiles stacked in fold order.
    """
    pixels, filters, window = g[PIXELS], g[FILTERS], g[WINDOW]
    if code == 0:  # OS: ifmap tiles window x rows (pixels), filter tiles window x cols
        fold = r // window
        t = r - fold * window
        if op == 0:
            p = fold * rows + c
            return _ifmap_addr(g, p, t) if p < pixels else -1
        n = fold * cols + c
        return n * window + t if n < filters else -1
    if code == 1:  # WS: ifmap tiles pixels x rows (window), filter tiles window x cols
        if op == 0:
            fold = r // pixels
            p = r - fold * pixels
            w = fold * rows + c
            return _ifmap_addr(g, p, w) if w < window else -1
        fold = r // window
        w = r - fold * window
        n = fold * cols + c
        return n * window + w if n < filters else -1
    if op == 0:  # IS: ifmap tiles window x cols (pixels), filter tiles filters x rows (window)
        fold = r // window
        w = r - fold * window
        p = fold * cols + c
        return _ifmap_addr(g, p, w) if p < pixels else -1
    fold = r // filters
    n = r - fold * filters
    w = fold * rows + c
    return n * window + w if w < window else -1


@njit
def _assign_sets(code, op, rows, cols, g, m, n, diagonal, per_set, fill_pass, ptr, ids, used):
    """Walk the prefetch matrix (m x n) in SCALE-Sim's order, cutting it into sets.

    Pass 0 counts occurrences per address into ``ptr[addr + 1]``; pass 1 (``ptr`` now the
    CSR offsets) writes each address's distinct set ids into ``ids`` (``used`` = ids per
    address). Returns the number of sets (SCALE-Sim always closes a last, maybe empty, set).
    """
    set_id = 0
    count = 0
    diags = m + n - 1 if diagonal else m
    for d in range(diags):
        if diagonal:  # anti-diagonal d, bottom-left to top-right
            r_hi = min(d, m - 1)
            r_lo = max(0, d - n + 1)
            length = r_hi - r_lo + 1
        else:
            length = n
        for k in range(length):
            if diagonal:
                r = r_hi - k
                c = d - r
            else:
                r = d
                c = k
            addr = _prefetch_elem(code, op, rows, cols, g, r, c)
            if addr == -1:
                continue
            if fill_pass == 0:
                ptr[addr + 1] += 1
            else:
                u = used[addr]
                if u == 0 or ids[ptr[addr] + u - 1] != set_id:
                    ids[ptr[addr] + u] = set_id
                    used[addr] = u + 1
            count += 1
            if count >= per_set:
                set_id += 1
                count = 0
    return set_id + 1


@njit_inline
def _hit(addr, ptr, ids, used, start, end):
    """Whether one of ``addr``'s sets is in the active window (``start < end`` or wrapped)."""
    base = ptr[addr]
    for k in range(base, base + used[addr]):
        s = ids[k]
        if start < end:
            if start <= s < end:
                return True
        elif s >= start or s < end:
            return True
    return False


@njit_inline
def _serve_reads(row, cycle, fix, ptr, ids, used, cfg, st):
    """One demand row through a read buffer: its stall cycles (``FAILED`` if a word never hits).

    With the defect a row's stall can be negative (a prefetch that landed early).
    """
    offset = 1  # the hit latency
    sets = cfg[R_SETS]
    for addr in row:
        if addr == -1:
            continue
        slides = 0
        while not _hit(addr, ptr, ids, used, st[S_START], st[S_END]):
            slides += 1
            if slides > sets + 1:
                return FAILED
            start = (st[S_START] + cfg[R_PREFETCH]) % sets
            st[S_START] = start
            st[S_END] = (start + cfg[R_ACTIVE]) % sets
            st[S_READS] += cfg[R_LINES] * cfg[R_BW]
            st[S_LAST] += cfg[R_LINES] + 1
            st[S_PREFETCHES] += 1
            potential = st[S_LAST] - (cycle + offset)
            if fix == 0:
                offset += potential  # SCALE-Sim's defect: added unconditionally ...
            if potential > 0:
                offset += potential  # ... and (again) when positive
    return offset - 1


@njit_inline
def _drain(start, cfg, st, lines):
    """Drain up to one drain half of lines from ``start``; False if there is nothing to drain."""
    bw = cfg[W_BW]
    first = st[S_DRAINED]
    end = min(first + cfg[W_DRAIN_LINES], st[S_LINES])
    if end == first:
        return False
    words = (end - first) * bw - (bw - lines[end - 1])  # only the last line's gaps are removed
    st[S_WRITES] += words
    st[S_FREE] += words
    st[S_DRAIN_END] = start + (end - first) - 1
    if st[S_DRAINS] == 0:
        st[S_FIRST] = start
    st[S_STOP] = max(st[S_STOP], st[S_DRAIN_END])
    st[S_DRAINS] += 1
    st[S_DRAINED] = end
    return True


@njit_inline
def _push_line(st, lines):
    if st[S_LINE_FILL] != 0:
        lines[st[S_LINES]] = st[S_LINE_FILL]
        st[S_LINES] += 1
        st[S_LINE_FILL] = 0


@njit_inline
def _serve_writes(row, cycle, cfg, st, lines):
    """One demand row into the write buffer: its completion cycle (``FAILED`` on an empty drain)."""
    current = cycle
    for addr in row:
        if addr == -1:
            continue
        st[S_LINE_FILL] += 1
        st[S_FREE] -= 1
        if st[S_LINE_FILL] == cfg[W_BW]:
            _push_line(st, lines)
        if current < st[S_DRAIN_END]:
            if st[S_FREE] <= 0:
                current = st[S_DRAIN_END]
        elif st[S_FREE] < cfg[W_ACTIVE]:
            _push_line(st, lines)
            if not _drain(current, cfg, st, lines):
                return FAILED
    return current


@njit
def _replay_rows(row0, dem_if, dem_f, dem_o, fix,
                 if_ptr, if_ids, if_used, if_cfg, if_st,
                 f_ptr, f_ids, f_used, f_cfg, f_st,
                 w_cfg, w_st, lines, run):
    """Serve demand rows ``row0 ..`` (one chunk) as ``service_memory_requests`` does.

    Returns an error code (``OK`` when every row was served).
    """
    for i in range(dem_o.shape[0]):
        cycle = row0 + i + run[S_STALLS]
        stall_if = _serve_reads(dem_if[i], cycle, fix, if_ptr, if_ids, if_used, if_cfg, if_st)
        stall_f = _serve_reads(dem_f[i], cycle, fix, f_ptr, f_ids, f_used, f_cfg, f_st)
        if stall_if == FAILED or stall_f == FAILED:
            return ERR_NEVER_HIT
        out = _serve_writes(dem_o[i], cycle, w_cfg, w_st, lines)
        if out == FAILED:
            return ERR_EMPTY_DRAIN
        run[S_MAX_OUT] = max(run[S_MAX_OUT], out)
        run[S_LAST_OUT] = out
        run[S_STALLS] += max(stall_if, stall_f, out - cycle)
    return OK


@njit
def _drain_all(cycle, cfg, st, lines):
    """SCALE-Sim's ``empty_all_buffers``: drain what is left, batch after batch."""
    _push_line(st, lines)
    while st[S_DRAINED] < st[S_LINES]:
        _drain(cycle, cfg, st, lines)
        cycle = st[S_DRAIN_END] + 1


#: The entry points ``sim.memory`` calls (under public names).
assign_sets = _assign_sets
replay_rows = _replay_rows
drain_all = _drain_all
