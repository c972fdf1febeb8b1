"""Counting the demand of a skewed fold: line ``c`` is busy in steps ``c .. c + temporal - 1``.

SCALE-Sim delays array line ``c`` by ``c`` rows, so a fold's demand (or an ofmap band's
writes) is a parallelogram of ``lines`` x ``temporal`` entries; these closed forms count it up
to a step and invert the count.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit, njit_inline


@njit_inline
def _ramp(n, temporal):
    """``sum(clamp(x, 0, temporal) for x <= n)`` over integers ``x``."""
    if n <= 0:
        return 0
    if n <= temporal:
        return n * (n + 1) // 2
    return temporal * (temporal + 1) // 2 + (n - temporal) * temporal


@njit_inline
def _demands_before(t, ru, temporal):
    """Demand entries of a skewed fold in steps ``0 .. t-1``: the sum over lines ``c < ru``
    of ``clamp(t - c, 0, temporal)``."""
    return _ramp(t, temporal) - _ramp(t - ru, temporal)


@njit
def _step_of_demand(m, lines, temporal):
    """The step of the ``m``-th demand (1-based) of a fold of ``lines`` x ``temporal``.

    Steps ``0 .. A-1`` hold 1, 2, .. A demands (``A = min(lines, temporal)``), steps up to
    ``B - 1`` (``B = max(...)``) hold ``A`` each, then ``A - 1``, ``A - 2``, .. 1: invert
    each part's count in closed form (a square root, corrected to the exact integer)."""
    a, b = min(lines, temporal), max(lines, temporal)
    up = a * (a + 1) // 2  # demands through step a - 1
    if m <= up:  # smallest x = u + 1 with x (x + 1) / 2 >= m
        x = np.int64((np.sqrt(8.0 * m + 1.0) - 1.0) / 2.0)
        while x * (x + 1) // 2 < m:
            x += 1
        while x > 1 and (x - 1) * x // 2 >= m:
            x -= 1
        return x - 1
    plateau = up + (b - a) * a  # demands through step b - 1
    if m <= plateau:
        return a - 1 + (m - up + a - 1) // a
    r = m - plateau  # smallest j with j a - j (j + 1) / 2 >= r; the step is b - 1 + j
    c = 2 * a - 1
    j = np.int64((c - np.sqrt(max(0.0, float(c * c - 8 * r)))) / 2.0)
    j = max(j, 1)
    while j * a - j * (j + 1) // 2 < r:
        j += 1
    while j > 1 and (j - 1) * a - (j - 1) * j // 2 >= r:
        j -= 1
    return b - 1 + j


@njit
def _fold_rows(code, rows, cols, temporal):
    """Demand rows of one fold of ``temporal`` steps (``code`` 0 OS, 1 WS, 2 IS): OS streams
    both operands skewed and drains after them; WS and IS first load the stationary tile."""
    if code == 0:
        return temporal + rows + cols - 2
    return 2 * rows + cols + temporal - 2
