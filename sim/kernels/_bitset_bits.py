"""64-bit word operations the bitset buffer walks are made of: masks, counts, range sets.

A buffer window is one bit per operand word and one stamp per 64-bit word: a word whose
stamp is not the current one is empty (so a turnover is a stamp increment, not a clear).
"""
from __future__ import annotations

import numpy as np

from .._numba import njit_inline

_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_S1, _S2, _S4, _S56 = np.uint64(1), np.uint64(2), np.uint64(4), np.uint64(56)


@njit_inline
def _popcount(x):
    x = x - ((x >> _S1) & _M1)
    x = (x & _M2) + ((x >> _S2) & _M2)
    x = (x + (x >> _S4)) & _M4
    return np.int64((x * _H01) >> _S56)


@njit_inline
def _mask(lo, hi):
    """Bits ``lo .. hi-1`` of a word (0 <= lo < hi <= 64)."""
    if hi - lo == 64:
        return _ALL
    return ((_ONE << np.uint64(hi - lo)) - _ONE) << np.uint64(lo)


# The word update below is written out in both setters on purpose: as an inlined helper taking
# the two arrays (commit dcf0033) it made every walk 2.6x slower (ResNet-18 WS on 128x8,
# conv2_1a: 15 -> 40 ms); ``benchmarks/bench_resnet18.py`` shows the difference.


@njit_inline
def _set_range(bits, wstamp, stamp, first, last):
    """Set bits ``first .. last-1`` of the window; returns how many were new."""
    added = 0
    for j in range(first >> 6, ((last - 1) >> 6) + 1):
        m = _mask(max(first - j * 64, 0), min(last - j * 64, 64))
        if wstamp[j] != stamp:  # first touch since the last turnover: an empty word
            wstamp[j] = stamp
            old = np.uint64(0)
        else:
            old = bits[j]
        new = old | m
        bits[j] = new
        added += _popcount(new ^ old)
    return added


@njit_inline
def _set_strided(bits, wstamp, stamp, first, last, stride, patterns):
    """Set every ``stride``-th bit from ``first`` up to ``last - 1``; ``patterns[ph]`` holds
    the bits ``ph, ph + stride, ...`` of a word. Returns how many were new."""
    added = 0
    for j in range(first >> 6, ((last - 1) >> 6) + 1):
        m = _mask(max(first - j * 64, 0), min(last - j * 64, 64))
        m &= patterns[(first - j * 64) % stride]
        if wstamp[j] != stamp:  # first touch since the last turnover: an empty word
            wstamp[j] = stamp
            old = np.uint64(0)
        else:
            old = bits[j]
        new = old | m
        bits[j] = new
        added += _popcount(new ^ old)
    return added
