"""Counting the demand of a skewed fold: line ``c`` is busy in steps ``c .. c + temporal - 1``.

SCALE-Sim delays array line ``c`` by ``c`` rows, so a fold's demand (or an ofmap band's
writes) is a parallelogram of ``lines`` x ``temporal`` entries; these closed forms count it up
to a step and invert the count.
"""
from __future__ import annotations

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
    """The step of the ``m``-th demand (1-based) of a fold of ``lines`` x ``temporal``."""
    lo, hi = 0, lines + temporal - 2  # the smallest u with demands through step u >= m
    while lo < hi:
        mid = (lo + hi) // 2
        if _demands_before(mid + 1, lines, temporal) >= m:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit
def _fold_rows(code, rows, cols, temporal):
    """Demand rows of one fold of ``temporal`` steps (``code`` 0 OS, 1 WS, 2 IS): OS streams
    both operands skewed and drains after them; WS and IS first load the stationary tile."""
    if code == 0:
        return temporal + rows + cols - 2
    return 2 * rows + cols + temporal - 2
