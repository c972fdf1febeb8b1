"""The mapper's bounds for every candidate tiling in one pass (the fast twin of
``sim/tiling/_bounds.py``, which is its reference: ``tests/sim/test_mapping_kernel.py``).

Per candidate, each loop (m, n, k) comes as up to four tile classes (count, GEMM extent,
ifmap factor). From per-loop sums the kernel forms, per dataflow, the tiles' classic cycles
and SRAM traffic (the schedule's separable sums), per loop order the DRAM words by the reuse
rule, then the energy (linear prices) and the objective's lower bound.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit, njit_inline


@njit_inline
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


@njit_inline
def _sums(parts, loop, c, what, along):
    """(sum of count x ``what``, sum of count x ceil(``what`` / along)) over one loop's classes
    (``parts`` (3 parts, 3 loops, 4 classes, candidates); part 0 counts, 1 extents, 2 factors)."""
    total = 0
    folds = 0
    for i in range(4):
        count, value = parts[0, loop, i, c], parts[what, loop, i, c]
        total += count * value
        folds += count * ((value + along - 1) // along)
    return total, folds


@njit_inline
def _order_words(order, trips, once_i, once_f, once_o, words):
    """Fill ``words`` (ifmap, filter, ofmap written, ofmap read back) under one loop order
    by the reuse rule; returns their sum."""
    vo = _visits(order, trips, 1 | 2)
    words[0] = once_i * _visits(order, trips, 1 | 4)
    words[1] = once_f * _visits(order, trips, 4 | 2)
    words[2] = once_o * vo
    words[3] = once_o * (vo - 1)
    return words[0] + words[1] + words[2] + words[3]


@njit_inline
def _port_time(words, first_i, first_f, first_o, bws):
    """Cycles the busiest port needs for the words it cannot prefetch before cycle 0 (ports of
    bandwidth 0 are unlimited), rounded up."""
    need = 0.0
    if bws[0] > 0:
        need = max(need, (words[0] - first_i) / bws[0])
    if bws[1] > 0:
        need = max(need, (words[1] - first_f) / bws[1])
    if bws[2] > 0:
        need = max(need, (words[2] + words[3] - 2 * first_o) / bws[2])
    return np.ceil(need)


@njit_inline
def _dataflow_costs(d, t, sm, sn, sk, fm_r, fm_c, fn_c, fk_r, rows, cols):
    """(cycles, ifmap, filter SRAM reads, ofmap SRAM writes) of all tiles under dataflow
    ``d``, from per-loop sums of extents (``s*``) and fold counts (``f*_r``/``f*_c``)."""
    tiles = t[0] * t[1] * t[2]
    if d == 0:  # OS: m on rows, n on cols, k in time
        cyc = fm_r * fn_c * (sk + (rows + cols - 2) * t[2]) - tiles
        return cyc, fn_c * sm * sk, fm_r * sk * sn, t[2] * sm * sn
    if d == 1:  # WS: k on rows, n on cols, m in time
        cyc = fk_r * fn_c * (sm + (2 * rows + cols - 2) * t[0]) - tiles
        return cyc, fn_c * sm * sk, t[0] * sk * sn, fk_r * sm * sn
    cyc = fk_r * fm_c * (sn + (2 * rows + cols - 2) * t[1]) - tiles  # IS: k rows, m cols
    return cyc, t[1] * sk * sm, fm_c * sn * sk, fk_r * sm * sn


@njit
def _mapping_bounds(trips, parts, orders, rows, cols, groups, outputs,
                    macs, bws, prices, objective, bound, energy, cycles, compute, dram, best):
    """Fill ``bound``/``energy``/``cycles`` (candidate, dataflow, order), ``compute``
    (candidate, dataflow), ``dram`` (candidate, order) and ``best`` (candidate, dataflow):
    the order of least bound, ties to less energy. Candidate-major, so that one candidate's
    numbers share cache lines.

    ``trips`` (3, N) per loop m, n, k; ``parts`` (3, 3, 4, N): count, extent and ifmap factor
    per loop and class (count 0 pads), each a row the candidates stream through; ``orders``
    (6, 3) loop indices outermost first; ``bws`` the three ports' words per cycle (0:
    unlimited); ``prices`` (3, 10) pJ per counter; ``objective`` 0 latency, 1 energy, 2 edp.
    """
    n = trips.shape[1]
    n_orders = orders.shape[0]
    t = np.zeros(3, dtype=np.int64)
    words = np.zeros((n_orders, 4), dtype=np.int64)
    port = np.zeros(n_orders)
    for c in range(n):
        for loop in range(3):
            t[loop] = trips[loop, c]
        sm, fm_r = _sums(parts, 0, c, 1, rows)
        _, fm_c = _sums(parts, 0, c, 1, cols)
        sn, _ = _sums(parts, 1, c, 1, rows)
        _, fn_c = _sums(parts, 1, c, 1, cols)
        sk, fk_r = _sums(parts, 2, c, 1, rows)
        im, _ = _sums(parts, 0, c, 2, 1)
        ik, _ = _sums(parts, 2, c, 2, 1)
        once_i, once_f, once_o = im * ik, sk * sn, sm * sn
        first_i = parts[2, 0, 0, c] * parts[2, 2, 0, c]
        first_f = parts[1, 2, 0, c] * parts[1, 1, 0, c]
        first_o = parts[1, 0, 0, c] * parts[1, 1, 0, c]
        for o in range(n_orders):  # DRAM words and port time: the same under every dataflow
            dram[c, o] = _order_words(orders[o], t, once_i, once_f, once_o, words[o])
            port[o] = _port_time(words[o], first_i, first_f, first_o, bws)
        for d in range(3):
            cyc, s_i, s_f, s_o = _dataflow_costs(d, t, sm, sn, sk, fm_r, fm_c, fn_c, fk_r,
                                                 rows, cols)
            compute[c, d] = cyc
            p = prices[d]
            fixed = (p[0] * macs + groups * (p[1] * s_i + p[2] * s_f + p[3] * s_o
                                             + p[4] * (s_o - outputs)))
            least = np.inf
            for o in range(n_orders):
                total = max(float(cyc), port[o]) * groups
                pj = (fixed + groups * (p[5] * words[o, 0] + p[6] * words[o, 1]
                                        + p[7] * words[o, 2] + p[8] * words[o, 3])
                      + p[9] * total)
                cycles[c, d, o] = total
                energy[c, d, o] = pj
                bound[c, d, o] = total if objective == 0 else (pj if objective == 1 else pj * total)
                least = min(least, bound[c, d, o])
            pick = 0
            for o in range(n_orders):  # as best_orders: within 1e-12 of the least, less energy
                if bound[c, d, o] <= least * (1 + 1e-12) and (
                        bound[c, d, pick] > least * (1 + 1e-12) or energy[c, d, o] < energy[c, d, pick]):
                    pick = o
            best[c, d] = pick
