"""An explicit mapping's DRAM transfers, tile by tile, in one pass (the fast twin of the NumPy
``mapped_events_reference`` in ``sim/tiling/_events.py``; ``tests/sim/test_mapping_kernel.py``
holds them equal). The rules are in that module's docstring."""
from __future__ import annotations

import numpy as np

from ._numba import njit


@njit
def _tile_cycles(m, n, k, rows, cols, code):
    """The classic engine's cycles of one ``m x k`` by ``k x n`` tile (demand rows - 1)."""
    if code == 0:
        return -(-m // rows) * -(-n // cols) * (k + rows + cols - 2) - 1
    if code == 1:
        return -(-k // rows) * -(-n // cols) * (2 * rows + cols + m - 2) - 1
    return -(-k // rows) * -(-m // cols) * (2 * rows + cols + n - 2) - 1


@njit
def _nest_events(order, ext_m, fac_m, ext_n, ext_k, fac_k, rows, cols, code,
                 need_i, words_i, need_f, words_f, start_o, fill_o, words_o,
                 issue_p, need_p, words_p, counts):
    """Fill the event arrays (each sized for one event per tile) and ``counts`` = (ifmap
    blocks, filter blocks, ofmap chunks, read-backs, last row). ``order`` holds the loop
    indices (0 m, 1 n, 2 k) outermost first."""
    trips = np.array([ext_m.size, ext_n.size, ext_k.size])
    at = np.zeros(3, dtype=np.int64)
    visited = np.zeros(ext_m.size * ext_n.size, dtype=np.bool_)
    ni = nf = no = npb = 0
    row = 0
    prev_i = prev_f = prev_o = -1
    chunk_start_prev = 0
    steps = trips[0] * trips[1] * trips[2]
    for step in range(steps):
        rest = step
        for depth in range(2, -1, -1):  # the innermost loop varies fastest
            loop = order[depth]
            at[loop] = rest % trips[loop]
            rest //= trips[loop]
        im, in_, ik = at[0], at[1], at[2]
        key_i, key_f, key_o = im * trips[2] + ik, ik * trips[1] + in_, im * trips[1] + in_
        if key_i != prev_i:
            need_i[ni], words_i[ni] = row, fac_m[im] * fac_k[ik]
            ni += 1
        if key_f != prev_f:
            need_f[nf], words_f[nf] = row, ext_k[ik] * ext_n[in_]
            nf += 1
        if key_o != prev_o:
            if no > 0:
                fill_o[no - 1] = row
                chunk_start_prev = start_o[no - 1]
            start_o[no], words_o[no] = row, ext_m[im] * ext_n[in_]
            if visited[key_o]:  # returns with partial sums
                issue_p[npb], need_p[npb], words_p[npb] = chunk_start_prev, row, words_o[no]
                npb += 1
            visited[key_o] = True
            no += 1
        prev_i, prev_f, prev_o = key_i, key_f, key_o
        row += _tile_cycles(ext_m[im], ext_n[in_], ext_k[ik], rows, cols, code)
    fill_o[no - 1] = row
    counts[0], counts[1], counts[2], counts[3], counts[4] = ni, nf, no, npb, row
