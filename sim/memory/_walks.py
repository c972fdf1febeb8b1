"""Stall-free DRAM reads of the read buffers: closed forms, and memoised bitset walks.

Streams of distinct words (filters, windows that do not overlap) have closed forms; an ifmap
whose windows overlap is walked through the double-buffered scratchpad on channel bitsets
(``kernels/_bitset_buffer``). A walk is a pure function of a few integers, and in a
design-space search many points share them (every ofmap size, filter size, bandwidth and
energy table with the same array, dataflow and ifmap buffer), so each is walked once; the
stall-free count and the finite-bandwidth events share it. A store lent with
:func:`hwloop.sim.sharing_walks` shares the counts with other processes.
"""
from __future__ import annotations

import functools

import numpy as np

from hwloop.sim.kernels import distinct_ifmap_fetches, filter_fetches, ifmap_rows
from hwloop.sim.schedule import Schedule, ifmap_shape, schedule, touched_ifmap_words, windows_overlap

from ._memo import BytesLRU
from ._walk_store import shared_walk

#: Counts are kept for this many walks; block rows (a few bytes to a few hundred KiB each)
#: for the most recent walks up to :data:`IFMAP_ROWS_MEMO_BYTES` in all.
IFMAP_MEMO_SIZE = 1 << 14
IFMAP_ROWS_MEMO_BYTES = 64 << 20
#: Per-pass counts of walks, OS and WS by everything but the array width.
_PASS_FETCHES: dict[tuple[int, ...], np.ndarray] = {}
_WALKED_ROWS = BytesLRU(IFMAP_ROWS_MEMO_BYTES)


def stall_free_reads(sched: Schedule, ifmap: tuple[int, int], filt: tuple[int, int]) -> tuple[int, int]:
    """DRAM words the ifmap and filter buffers fetch (their (first, later) windows given)."""
    return ifmap_fetches(sched, *ifmap), filter_words(sched, *filt)


def ifmap_fetches(sched: Schedule, first: int, later: int) -> int:
    """Words the ifmap buffer fetches: once each if all fit, else a closed form or a walk."""
    layer = sched.layer
    unique = touched_ifmap_words(layer)
    if unique < first:
        return unique  # everything fits before the first turnover: each word is fetched once
    if not windows_overlap(layer):  # every pass reads `unique` distinct words
        pixels, filters, _ = sched.gemm
        return int(distinct_ifmap_fetches(sched.code, sched.cols, unique, filters, pixels,
                                          first, later))
    return _walked_ifmap_fetches(*_walk_key(sched, first, later))


def filter_words(sched: Schedule, first: int, later: int) -> int:
    """Words the filter buffer fetches (filters are streams of distinct words)."""
    pixels, filters, window = sched.gemm
    return int(filter_fetches(sched.code, sched.rows, sched.cols, window, filters, pixels,
                              first, later))


def _walk_key(sched: Schedule, first: int, later: int) -> tuple[tuple[int, ...], int]:
    """(memo key, passes) of an ifmap walk. OS and WS run one identical pass per column fold,
    so their key leaves out the width; an IS walk is one pass of its own."""
    layer = sched.layer
    dilation = (layer.dilation_h, layer.dilation_w)
    if sched.code == 2:
        return (sched.code, sched.rows, sched.cols, *ifmap_shape(layer), layer.num_filters,
                first, later, *dilation), 1
    return (sched.code, sched.rows, *ifmap_shape(layer), first, later, *dilation), sched.col_folds


@functools.lru_cache(maxsize=IFMAP_MEMO_SIZE)
def _walked_ifmap_fetches(key: tuple[int, ...], passes: int) -> int:
    """Words one ifmap walk fetches: a prefix sum of per-pass counts that every array width
    with these rows shares (OS and WS), or one IS pass."""
    per_pass = _PASS_FETCHES.get(key)
    if per_pass is None or len(per_pass) < passes:
        per_pass = shared_walk(key, passes, _walk_passes)
        if len(_PASS_FETCHES) >= IFMAP_MEMO_SIZE:
            _PASS_FETCHES.clear()
        _PASS_FETCHES[key] = per_pass
    return int(per_pass[:passes].sum())


def _walk_passes(key: tuple[int, ...], passes: int) -> np.ndarray:
    """Walk the ifmap buffer of ``key``: words per pass. The walk records its block rows too,
    so a finite-bandwidth point reuses it."""
    if key[0] == 2:
        return np.array([int(_is_rows(key)[0].sum())], dtype=np.int64)
    return _pass_rows(key, passes)[0]


def forget_walk_memos() -> None:
    """Clear this module's memos of buffer walks."""
    _walked_ifmap_fetches.cache_clear()
    _PASS_FETCHES.clear()
    _WALKED_ROWS.clear()


def walked_ifmap(sched: Schedule, first: int, later: int) -> tuple[int, np.ndarray]:
    """(words fetched, demand row of each buffer block's first word) of an ifmap walk, from
    the memo when it holds it. OS and WS walks are kept for one width and read off for any:
    a pass is the same for every width, which moves only the rows where folds start."""
    key, passes = _walk_key(sched, first, later)
    if sched.code == 2:
        per_pass, rows = _is_rows(key)
        return int(per_pass.sum()), rows
    per_pass, canonical = _pass_rows(key, passes)
    return int(per_pass[:passes].sum()), _rows_at_width(canonical, sched, passes)


def _is_rows(key: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    found = _WALKED_ROWS.get(key)
    if found is None:
        code, rows, cols, *rest = key
        found = _walk_rows(code, rows, cols, tuple(rest[:9]), rest[9], 1, *rest[10:])
        _WALKED_ROWS.put(key, found, found[0].nbytes + found[1].nbytes + 200)
    return found


def _pass_rows(key: tuple[int, ...], passes: int) -> tuple[np.ndarray, np.ndarray]:
    """An OS/WS walk of at least ``passes`` passes on a one-column array: (words per pass,
    block rows), from the memo when it holds one long enough."""
    found = _WALKED_ROWS.get(key)
    if found is None or found[0].size < passes:
        code, rows, *rest = key
        found = _walk_rows(code, rows, 1, tuple(rest[:9]), passes, passes, *rest[9:])
        _WALKED_ROWS.put(key, found, found[0].nbytes + found[1].nbytes + 200)
    return found


def _rows_at_width(canonical: np.ndarray, sched: Schedule, passes: int) -> np.ndarray:
    """Block rows of a one-column walk's first ``passes`` passes, moved to ``sched``'s width:
    a row is ``shift + pass * pass_rows + fold * per_fold + step`` and only ``per_fold``
    (so ``pass_rows``) grows with the columns."""
    one_col = schedule(sched.layer, sched.rows, 1, sched.dataflow).rows_per_fold
    folds, per_fold, shift = sched.row_folds, sched.rows_per_fold, sched.preload_rows
    kept = canonical[:np.searchsorted(canonical, shift + passes * folds * one_col)]
    pass_index, within = np.divmod(kept - shift, folds * one_col)
    fold, step = np.divmod(within, one_col)
    moved = shift + pass_index * (folds * per_fold) + fold * per_fold + step
    moved.flags.writeable = False  # as the memo's rows: nobody may change them
    return moved


def _walk_rows(code: int, rows: int, cols: int, shape: tuple[int, ...], num_filters: int,
               passes: int, first: int, later: int, dilation_h: int,
               dilation_w: int) -> tuple[np.ndarray, np.ndarray]:
    """Walk an ifmap buffer recording block rows: (words per pass, block rows)."""
    ifmap_h, ifmap_w, filter_h, filter_w, channels, stride_h, stride_w, ofmap_h, ofmap_w = shape
    pixels, window = ofmap_h * ofmap_w, filter_h * filter_w * channels
    need = np.zeros(3 + passes * pixels * window // max(1, min(first, later)), dtype=np.int64)
    per_pass, blocks = ifmap_rows(code, rows, cols, *shape, num_filters, passes, first, later,
                                  need, dilation_h, dilation_w)
    rows_of_blocks = need[:blocks].copy()
    rows_of_blocks.flags.writeable = False  # shared by every caller
    per_pass.flags.writeable = False
    return per_pass, rows_of_blocks
