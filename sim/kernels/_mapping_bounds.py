"""The mapper's bounds for every candidate tiling in one pass (the fast twin of
``sim/tiling/_bounds.py``, which is its reference: ``tests/sim/test_mapping_kernel.py``).

Per candidate, each loop (m, n, k) comes as up to four tile classes (count, GEMM extent,
ifmap factor). From per-loop sums the kernel forms, per dataflow, the tiles' classic cycles
and SRAM traffic (the schedule's separable sums), per loop order the DRAM words by the reuse
rule, then the energy (linear prices) and the objective's lower bound.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit


@njit
def _visits(order, trips, mask):
    """Visits of an operand's tiles: the trips of the loops outside its innermost live
    dependent loop that it ignores (``order`` outermost first, as loop indices)."""
    factor = 1
    seen = False
    for i in range(2, -1, -1):
        loop = order[i]
        live = trips[loop] > 1
        if (mask >> loop) & 1:
            seen = seen or live
        elif seen:
            factor *= trips[loop]
    return factor


@njit
def _sums(counts, extents, along):
    """(sum of count x extent, sum of count x ceil(extent / along))."""
    total = 0
    folds = 0
    for i in range(counts.size):
        total += counts[i] * extents[i]
        folds += counts[i] * ((extents[i] + along - 1) // along)
    return total, folds


@njit
def _mapping_bounds(trips, counts, extents, factors, orders, rows, cols, groups, outputs,
                    macs, bws, prices, objective, bound, energy, cycles, compute, dram):
    """Fill ``bound``/``energy``/``cycles`` (dataflow, order, candidate), ``compute``
    (dataflow, candidate) and ``dram`` (order, candidate).

    ``trips`` (3, N) per loop m, n, k; ``counts``/``extents``/``factors`` (3, 4, N) per loop
    and class (count 0 pads); ``orders`` (6, 3) loop indices outermost first; ``bws`` the
    three ports' words per cycle (0: unlimited); ``prices`` (3, 10) pJ per counter;
    ``objective`` 0 latency, 1 energy, 2 edp.
    """
    n = trips.shape[1]
    n_orders = orders.shape[0]
    t = np.zeros(3, dtype=np.int64)
    words = np.zeros((n_orders, 4), dtype=np.int64)
    port = np.zeros(n_orders)
    for c in range(n):
        for loop in range(3):
            t[loop] = trips[loop, c]
        sm, fm_r = _sums(counts[0, :, c], extents[0, :, c], rows)
        _, fm_c = _sums(counts[0, :, c], extents[0, :, c], cols)
        sn, _ = _sums(counts[1, :, c], extents[1, :, c], rows)
        _, fn_c = _sums(counts[1, :, c], extents[1, :, c], cols)
        sk, fk_r = _sums(counts[2, :, c], extents[2, :, c], rows)
        im, _ = _sums(counts[0, :, c], factors[0, :, c], 1)
        ik, _ = _sums(counts[2, :, c], factors[2, :, c], 1)
        once_i, once_f, once_o = im * ik, sk * sn, sm * sn
        first_i = factors[0, 0, c] * factors[2, 0, c]
        first_f = extents[2, 0, c] * extents[1, 0, c]
        first_o = extents[0, 0, c] * extents[1, 0, c]
        for o in range(n_orders):  # DRAM words and port time: the same under every dataflow
            vo = _visits(orders[o], t, 1 | 2)
            words[o, 0] = once_i * _visits(orders[o], t, 1 | 4)
            words[o, 1] = once_f * _visits(orders[o], t, 4 | 2)
            words[o, 2] = once_o * vo
            words[o, 3] = once_o * (vo - 1)
            dram[o, c] = words[o, 0] + words[o, 1] + words[o, 2] + words[o, 3]
            need = 0.0
            if bws[0] > 0:
                need = max(need, (words[o, 0] - first_i) / bws[0])
            if bws[1] > 0:
                need = max(need, (words[o, 1] - first_f) / bws[1])
            if bws[2] > 0:
                need = max(need, (words[o, 2] + words[o, 3] - 2 * first_o) / bws[2])
            port[o] = np.ceil(need)
        tiles = t[0] * t[1] * t[2]
        for d in range(3):
            if d == 0:  # OS: m on rows, n on cols, k in time
                cyc = fm_r * fn_c * (sk + (rows + cols - 2) * t[2]) - tiles
                s_i, s_f, s_o = fn_c * sm * sk, fm_r * sk * sn, t[2] * sm * sn
            elif d == 1:  # WS: k on rows, n on cols, m in time
                cyc = fk_r * fn_c * (sm + (2 * rows + cols - 2) * t[0]) - tiles
                s_i, s_f, s_o = fn_c * sm * sk, t[0] * sk * sn, fk_r * sm * sn
            else:  # IS: k on rows, m on cols, n in time
                cyc = fk_r * fm_c * (sn + (2 * rows + cols - 2) * t[1]) - tiles
                s_i, s_f, s_o = t[1] * sk * sm, fm_c * sn * sk, fk_r * sm * sn
            compute[d, c] = cyc
            p = prices[d]
            fixed = (p[0] * macs + groups * (p[1] * s_i + p[2] * s_f + p[3] * s_o
                                             + p[4] * (s_o - outputs)))
            for o in range(n_orders):
                total = max(float(cyc), port[o]) * groups
                pj = (fixed + groups * (p[5] * words[o, 0] + p[6] * words[o, 1]
                                        + p[7] * words[o, 2] + p[8] * words[o, 3])
                      + p[9] * total)
                cycles[d, o, c] = total
                energy[d, o, c] = pj
                bound[d, o, c] = total if objective == 0 else (pj if objective == 1 else pj * total)
