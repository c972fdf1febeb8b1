"""64-bit word operations the bitset buffer walks are made of: masks, counts, range sets.

A buffer window is one bit per operand word and one stamp per 64-bit word: a word whose
stamp is not the current one is empty (so a turnover is a stamp increment, not a clear).

A walk may set a span of bits *speculatively*, before it knows whether the span turns the
buffer over: while the log is on, the first change of each 64-bit word saves its bits and
stamp, so :func:`_undo` puts the window back as it was. The log lives in the window's own two
arrays, after the window's ``words`` entries (the setters take no more arguments, and every
argument costs in the innermost calls): ``bits[words:]`` holds saved bits and
``wstamp[words:]`` the log's counters, each word's last speculation and (word, stamp) pairs.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit, njit_inline

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


# Offsets into wstamp[words:]: logging or not, this speculation's number, words saved; then a
# speculation number per word, then (word, stamp) pairs.
LOG_ON, LOG_ID, LOG_COUNT, LOG_HEAD = range(4)


def new_window(words: int) -> tuple[np.ndarray, np.ndarray]:
    """(bits, stamps) of an empty window of ``words`` 64-bit words, with room for its log."""
    return (np.zeros(2 * words, dtype=np.uint64),
            np.zeros(words + LOG_HEAD + 3 * words, dtype=np.int64))


@njit
def _speculate(wstamp):
    """Start logging: the changes from here on can be undone."""
    words = (wstamp.size - LOG_HEAD) // 4  # see new_window
    wstamp[words + LOG_ON] = 1
    wstamp[words + LOG_ID] += 1
    wstamp[words + LOG_COUNT] = 0


@njit
def _keep(wstamp):
    """Stop logging and keep the changes."""
    wstamp[(wstamp.size - LOG_HEAD) // 4 + LOG_ON] = 0


@njit
def _undo(bits, wstamp):
    """Stop logging and put back every word changed since :func:`_speculate`."""
    words = bits.size >> 1
    pairs = words + LOG_HEAD + words
    for k in range(wstamp[words + LOG_COUNT]):
        j = wstamp[pairs + 2 * k]
        wstamp[j] = wstamp[pairs + 2 * k + 1]
        bits[j] = bits[words + k]
    wstamp[words + LOG_ON] = 0


# The word update below (log, then set) is written out in both setters on purpose: as an
# inlined helper taking the two arrays (commit dcf0033) it made every walk 2.6x slower
# (ResNet-18 WS on 128x8, conv2_1a: 15 -> 40 ms), and saving through a called function doubled
# the walks' time again; ``benchmarks/bench_resnet18.py`` shows the difference.


@njit_inline
def _set_range(bits, wstamp, stamp, first, last):
    """Set bits ``first .. last-1`` of the window; returns how many were new."""
    added = 0
    words = bits.size >> 1
    logging = wstamp[words + LOG_ON]
    for j in range(first >> 6, ((last - 1) >> 6) + 1):
        m = _mask(max(first - j * 64, 0), min(last - j * 64, 64))
        if logging and wstamp[words + LOG_HEAD + j] != wstamp[words + LOG_ID]:  # save it
            wstamp[words + LOG_HEAD + j] = wstamp[words + LOG_ID]
            k = wstamp[words + LOG_COUNT]
            wstamp[words + LOG_COUNT] = k + 1
            wstamp[2 * words + LOG_HEAD + 2 * k] = j
            wstamp[2 * words + LOG_HEAD + 2 * k + 1] = wstamp[j]
            bits[words + k] = bits[j]
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
    words = bits.size >> 1
    logging = wstamp[words + LOG_ON]
    for j in range(first >> 6, ((last - 1) >> 6) + 1):
        m = _mask(max(first - j * 64, 0), min(last - j * 64, 64))
        m &= patterns[(first - j * 64) % stride]
        if logging and wstamp[words + LOG_HEAD + j] != wstamp[words + LOG_ID]:  # save it
            wstamp[words + LOG_HEAD + j] = wstamp[words + LOG_ID]
            k = wstamp[words + LOG_COUNT]
            wstamp[words + LOG_COUNT] = k + 1
            wstamp[2 * words + LOG_HEAD + 2 * k] = j
            wstamp[2 * words + LOG_HEAD + 2 * k + 1] = wstamp[j]
            bits[words + k] = bits[j]
        if wstamp[j] != stamp:  # first touch since the last turnover: an empty word
            wstamp[j] = stamp
            old = np.uint64(0)
        else:
            old = bits[j]
        new = old | m
        bits[j] = new
        added += _popcount(new ^ old)
    return added
