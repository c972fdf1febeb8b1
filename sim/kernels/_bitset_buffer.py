"""Ifmap DRAM reads of the set-window read buffer, counted on channel bitsets instead of words.

Same buffer and same demand order as ``tests/naive_read_buffer.py`` (its walkers are the reference these
kernels are tested against), but the demand is consumed in *runs*: "pixel ``p`` reads window
elements ``a .. b-1``". Window elements run over channels fastest, so a run covers a few input
positions and, at each, a contiguous range of channels; the buffer's window is one bitset of
channels per input position, and a run costs one mask per 64 channels instead of one test per
word. Every fold of every dataflow is a set of such runs:

* OS: line ``c`` holds pixel ``base + c``; steps ``t0 .. t1-1`` read its elements
  ``t0 - c .. t1 - c - 1``;
* WS: line ``c`` holds element ``base + c``; steps ``t0 .. t1-1`` make pixel ``p`` read the
  elements of the lines ``t0 - p .. t1 - p - 1``. Here the bits are laid out channel-major
  instead, where line ``c`` reading pixels ``t0 - c .. t1 - c - 1`` is one address range
  (every column-stride-th bit) per output row;
* IS: a tile's step ``i`` is one window element (top row first), read by every pixel of the
  tile.

Inside a span of steps that cannot turn the buffer over, order does not matter: only the set
of words read does. So each fold is consumed in the longest spans whose demand count (an
upper bound on the new words they bring) stays below the room left in the window; once not
even one step fits, that step's demands are replayed one by one in the exact order, and the
buffer turns over on the exact demand. The count is exact, and the work is a few masks per
(pixel, input position) per fold plus a few short replays per turnover.

The demand count is a loose bound when most reads hit: in a nearly full window it would allow
only a step or two per span, while the turnover may be thousands of steps away. There the walk
*guesses* a longer span from the last span's rate of new words, sets it with the window's
undo log on (``_bitset_bits``), and keeps it if it brought fewer new words than the room left;
else it puts the window back and tries a span half as long. Guesses never change the count.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit, njit_inline
from ._bitset_bits import _ONE, _keep, _set_range, _set_strided, _speculate, _undo, new_window
from ._skew import _demands_before

# Buffer state, one int64 array: see _new_state. SPAN_NEW / SPAN_DEMANDS: the new words and
# demands of the last span (its hit rate); CAP: the longest speculative span still worth a try.
STAMP, IN_WINDOW, WINDOW, FETCHED, TURNOVERS, LATER, LAST_TURNOVER, RECORD, PENDING, BLOCKS, \
    SPAN_NEW, SPAN_DEMANDS, CAP = range(13)
_NO_CAP = 1 << 62


@njit
def _new_state(first_window, later_window):
    st = np.zeros(13, dtype=np.int64)
    st[STAMP] = 1
    st[WINDOW] = first_window
    st[LATER] = later_window
    st[LAST_TURNOVER] = -1
    st[SPAN_NEW] = st[SPAN_DEMANDS] = 1
    st[CAP] = _NO_CAP
    return st


@njit
def _run(bits, wstamp, stamp, r0, c0, a, b, ifmap_h, ifmap_w, row_len, channels,
         el_dy, dil_h, dil_w):
    """A pixel whose window starts at input (r0, c0) reads elements ``a .. b-1``: set their
    bits in the current window; returns how many were new.

    Within one filter row the elements are consecutive input words (without column
    dilation), so a run is at most ``filter_h`` ranges of addresses, each set a 64-bit word at
    a time; with column dilation ``dil_w`` each tap's channels are one range. ``el_dy[e]`` is
    element ``e``'s filter row (no division in the inner loops); filter row ``dy`` reads
    input row ``r0 + dy * dil_h``."""
    added = 0
    width = min(row_len, (ifmap_w - c0) * channels) if dil_w == 1 else row_len
    for dy in range(el_dy[a], el_dy[b - 1] + 1):
        y = r0 + dy * dil_h
        if y >= ifmap_h:
            break
        row_start = dy * row_len
        lo = max(a - row_start, 0)
        hi = min(b - row_start, width)
        if lo >= hi:
            continue
        if dil_w == 1:
            origin = (y * ifmap_w + c0) * channels
            added += _set_range(bits, wstamp, stamp, origin + lo, origin + hi)
            continue
        for dx in range(lo // channels, (hi - 1) // channels + 1):  # one range per tap
            x = c0 + dx * dil_w
            if x >= ifmap_w:
                break
            origin = (y * ifmap_w + x) * channels - dx * channels
            added += _set_range(bits, wstamp, stamp,
                                origin + max(lo, dx * channels),
                                origin + min(hi, (dx + 1) * channels))
    return added


@njit
def _line_pixels(bits, wstamp, stamp, e, pa, pb, ofmap_w, stride_h, stride_w,
                 ifmap_h, ifmap_w, el_dy, el_dx, el_ch, patterns, dil_h, dil_w):
    """WS on channel-major bits (``(ch * ifmap_h + y) * ifmap_w + x``): the line of element
    ``e`` reads pixels ``pa .. pb-1``: per output row, every ``stride_w``-th bit of a range."""
    dy, dx, plane = el_dy[e] * dil_h, el_dx[e] * dil_w, el_ch[e] * ifmap_h
    added = 0
    oy = pa // ofmap_w
    p = pa
    while p < pb:
        row_first = oy * ofmap_w
        row_end = min(pb, row_first + ofmap_w)
        y = oy * stride_h + dy
        if y >= ifmap_h:
            break
        x0 = (p - row_first) * stride_w + dx
        x1 = min((row_end - 1 - row_first) * stride_w + dx + 1, ifmap_w)
        if x0 < x1:
            origin = (plane + y) * ifmap_w
            if stride_w == 1:
                added += _set_range(bits, wstamp, stamp, origin + x0, origin + x1)
            else:
                added += _set_strided(bits, wstamp, stamp, origin + x0,
                                      origin + x1, stride_w, patterns)
        p = row_end
        oy += 1
    return added


@njit
def _count(st, added, position):
    """Add ``added`` new words; turn the buffer over if that filled its window (and, when
    recording blocks, wait for the next block's first word)."""
    st[FETCHED] += added
    st[IN_WINDOW] += added
    if st[IN_WINDOW] == st[WINDOW]:
        st[STAMP] += 1
        st[IN_WINDOW] = 0
        st[WINDOW] = st[LATER]
        st[TURNOVERS] += 1
        st[LAST_TURNOVER] = position
        st[PENDING] = st[RECORD]
        st[SPAN_NEW] = st[SPAN_DEMANDS] = 1  # an empty window: every word is new again
        st[CAP] = _NO_CAP


@njit
def _count_demand(st, added, position, row, need):
    """:func:`_count` for one demand in exact order: a block's first word gives its row."""
    if added and st[PENDING]:
        need[st[BLOCKS]] = row
        st[BLOCKS] += 1
        st[PENDING] = 0
    _count(st, added, position)


@njit_inline
def _demands(t0, t1, ru, temporal, per_step):
    """Demands in steps ``t0 .. t1-1``: ``per_step`` each, or (0) those of a skewed fold."""
    if per_step > 0:
        return (t1 - t0) * per_step
    return _demands_before(t1, ru, temporal) - _demands_before(t0, ru, temporal)


@njit
def _steps_below(t, steps, ru, temporal, per_step, budget):
    """Most steps from ``t`` (up to ``steps``) whose demands stay below ``budget``."""
    if budget <= 0:
        return 0
    if per_step > 0:
        return min(steps - t, (budget - 1) // per_step)
    lo, hi = 0, steps - t
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _demands(t, t + mid, ru, temporal, 0) < budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


@njit
def _plan(st, t, steps, ru, temporal, per_step):
    """Steps in the next span from step ``t``: positive when it cannot turn the buffer over
    (its demands, a bound on its new words, stay below the room left), negative when it is
    a guess to check (its demands times the last span's rate of new words stay below three
    quarters of the room), 0 when the next step must be replayed demand by demand."""
    if st[PENDING]:
        return 0
    room = st[WINDOW] - st[IN_WINDOW]
    safe = _steps_below(t, steps, ru, temporal, per_step, room)
    new, demanded = st[SPAN_NEW], st[SPAN_DEMANDS]
    if safe == steps - t or 4 * new >= 3 * demanded:
        return safe  # everything left fits, or most demands are new words: no guessing
    budget = (3 * room // 4) * (demanded // max(new, 1))
    guess = min(_steps_below(t, steps, ru, temporal, per_step, budget), st[CAP])
    return -guess if guess > safe else safe


@njit
def _open_span(st, wstamp, k):
    """Start a span of ``abs(k)`` steps planned by :func:`_plan` (a guess when ``k < 0``: the
    window's undo log goes on): (the stamp to set its bits with, the room left before it)."""
    if k < 0:
        _speculate(wstamp)
    return st[STAMP], st[WINDOW] - st[IN_WINDOW]


@njit
def _settle(st, k, added, demanded, room, bits, wstamp):
    """After a span of ``k`` steps (negative: a guess) that added ``added`` new words: keep it
    and count it, or, if a guess would have turned the buffer over, undo it and try shorter.
    Returns whether the span was kept."""
    st[SPAN_NEW], st[SPAN_DEMANDS] = added, demanded
    if k < 0:
        if added >= room:
            _undo(bits, wstamp)
            st[CAP] = -k // 2
            return False
        _keep(wstamp)
        st[CAP] = _NO_CAP
    _count(st, added, 0)
    return True


@njit
def _skewed_fold(kind, base, ru, temporal, fold_position, lines, row0, pix_row, pix_col, bits,
                 wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w):
    """One OS (``kind`` 0: line ``c`` holds pixel ``base + c``) or WS (1: line ``c`` holds
    element ``base + c``, time runs over pixels) fold, steps ``0 .. temporal + ru - 2``;
    step ``t`` is demand row ``row0 + t``."""
    steps = temporal + ru - 1
    t = 0
    while t < steps:
        k = _plan(st, t, steps, ru, temporal, 0)
        if k != 0:  # a span of steps: its words in any order
            stamp, room = _open_span(st, wstamp, k)
            t1 = t + abs(k)
            added = 0
            if kind == 0:
                for c in range(ru):
                    a, b = max(0, t - c), min(temporal, t1 - c)
                    if a < b:
                        p = base + c
                        added += _run(bits, wstamp, stamp, pix_row[p], pix_col[p], a, b,
                                      ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            else:
                for p in range(max(0, t - ru + 1), min(temporal, t1)):
                    c_lo, c_hi = max(0, t - p), min(ru, t1 - p)
                    added += _run(bits, wstamp, stamp, pix_row[p], pix_col[p], base + c_lo,
                                  base + c_hi, ifmap_h, ifmap_w, row_len, channels, el_dy,
                                  dil_h, dil_w)
            if _settle(st, k, added, _demands(t, t1, ru, temporal, 0), room, bits, wstamp):
                t = t1
            continue
        # one step, demand by demand in line order: the turnover lands on an exact demand
        for c in range(max(0, t - temporal + 1), min(ru, t + 1)):
            if kind == 0:
                p, e = base + c, t - c
            else:
                p, e = t - c, base + c
            added = _run(bits, wstamp, st[STAMP], pix_row[p], pix_col[p], e, e + 1, ifmap_h,
                         ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            _count_demand(st, added, fold_position + t * lines + c, row0 + t, need)
        t += 1


@njit
def _ws_fold(base, ru, pixels, fold_position, lines, row0, bits, wstamp, st, need, ofmap_w,
             stride_h, stride_w, ifmap_h, ifmap_w, el_dy, el_dx, el_ch, patterns, dil_h, dil_w):
    """One WS fold (line ``c`` holds element ``base + c``; time runs over pixels) on
    channel-major bits: as :func:`_skewed_fold`, but a span costs a (strided) range per line
    and output row instead of a run per pixel."""
    steps = pixels + ru - 1
    t = 0
    while t < steps:
        k = _plan(st, t, steps, ru, pixels, 0)
        if k != 0:  # a span of steps: its words in any order
            stamp, room = _open_span(st, wstamp, k)
            t1 = t + abs(k)
            added = 0
            for c in range(ru):
                pa, pb = max(0, t - c), min(pixels, t1 - c)
                if pa < pb:
                    added += _line_pixels(bits, wstamp, stamp, base + c, pa, pb, ofmap_w,
                                          stride_h, stride_w, ifmap_h, ifmap_w, el_dy, el_dx,
                                          el_ch, patterns, dil_h, dil_w)
            if _settle(st, k, added, _demands(t, t1, ru, pixels, 0), room, bits, wstamp):
                t = t1
            continue
        for c in range(max(0, t - pixels + 1), min(ru, t + 1)):
            added = _line_pixels(bits, wstamp, st[STAMP], base + c, t - c, t - c + 1, ofmap_w,
                                 stride_h, stride_w, ifmap_h, ifmap_w, el_dy, el_dx, el_ch,
                                 patterns, dil_h, dil_w)
            _count_demand(st, added, fold_position + t * lines + c, row0 + t, need)
        t += 1


@njit
def _is_tile(first_pixel, cu, first_element, ru, row0, pix_row, pix_col, bits, wstamp, st,
             need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w):
    """One IS tile: elements ``first_element + ru - 1`` down to ``first_element``, each read
    by pixels ``first_pixel .. first_pixel + cu - 1`` in order; step ``i`` is row
    ``row0 + i``."""
    t = 0
    while t < ru:
        k = _plan(st, t, ru, ru, ru, cu)
        top = first_element + ru - t  # steps t .. t+s-1 read elements top-s .. top-1
        if k != 0:
            stamp, room = _open_span(st, wstamp, k)
            s = abs(k)
            added = 0
            for p in range(first_pixel, first_pixel + cu):
                added += _run(bits, wstamp, stamp, pix_row[p], pix_col[p], top - s, top,
                              ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            if _settle(st, k, added, s * cu, room, bits, wstamp):
                t += s
            continue
        e = top - 1
        for p in range(first_pixel, first_pixel + cu):
            added = _run(bits, wstamp, st[STAMP], pix_row[p], pix_col[p], e, e + 1, ifmap_h,
                         ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            _count_demand(st, added, 0, row0 + t, need)
        t += 1


@njit
def _is_column_fold(first_pixel, cu, rows, row_folds, spatial, row0, per_fold, pix_row, pix_col,
                    bits, wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h,
                    dil_w):
    """IS: the tiles of one column fold (pixels ``first_pixel ..`` , ``cu`` of them), tile
    ``fr`` at demand row ``row0 + fr * per_fold``. Whole tiles that cannot turn the buffer
    over (or are guessed not to) are one run per pixel; a tile that may is walked step by step
    (:func:`_is_tile`)."""
    fr = 0
    while fr < row_folds:
        k = _plan(st, fr, row_folds, 0, 0, cu * rows)  # a step is a tile here
        if k != 0:
            stamp, room = _open_span(st, wstamp, k)
            e0, e1 = fr * rows, min(spatial, (fr + abs(k)) * rows)
            added = 0
            for p in range(first_pixel, first_pixel + cu):
                added += _run(bits, wstamp, stamp, pix_row[p], pix_col[p], e0, e1, ifmap_h,
                              ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            if _settle(st, k, added, cu * (e1 - e0), room, bits, wstamp):
                fr += abs(k)
            continue
        ru = min(rows, spatial - fr * rows)
        _is_tile(first_pixel, cu, fr * rows, ru, row0 + fr * per_fold + rows - ru, pix_row,
                 pix_col, bits, wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy,
                 dil_h, dil_w)
        fr += 1


@njit
def _pixel_origins(ofmap_h, ofmap_w, stride_h, stride_w):
    pixels = ofmap_h * ofmap_w
    pix_row = np.empty(pixels, dtype=np.int64)
    pix_col = np.empty(pixels, dtype=np.int64)
    for p in range(pixels):
        pix_row[p] = (p // ofmap_w) * stride_h
        pix_col[p] = (p % ofmap_w) * stride_w
    return pix_row, pix_col


@njit
def _whole_folds(l0, l1, pixels, pix_row, pix_col, bits, wstamp, stamp, ifmap_h, ifmap_w,
                 row_len, channels, el_dy, dil_h, dil_w):
    """WS, pixel-major: every demand of the folds holding elements ``l0 .. l1-1``, in any
    order (a span of whole folds): one run per pixel. New words."""
    added = 0
    for p in range(pixels):
        added += _run(bits, wstamp, stamp, pix_row[p], pix_col[p], l0, l1, ifmap_h, ifmap_w,
                      row_len, channels, el_dy, dil_h, dil_w)
    return added


@njit
def _repeat(kind, passes, folds, base, spatial, rows, temporal, per_fold, pass_rows, row_base,
            channel_major, pix_row, pix_col, bits, wstamp, st, need, per_pass, ifmap_h, ifmap_w,
            row_len, channels, ofmap_w, stride_h, stride_w, el_dy, el_dx, el_ch, patterns, dil_h,
            dil_w):
    """``passes`` identical passes of ``folds`` skewed folds (lines ``base + fr * rows ..``,
    ``spatial`` of them in all); pass ``p`` fold ``fr`` starts at demand row
    ``row_base + p * pass_rows + fr * per_fold``. ``per_pass[p]`` gets pass ``p``'s words.

    The buffer after a pass holds exactly the words read since its last turnover, so two
    passes whose last turnovers sit at the same place leave the same state and the passes
    after them repeat: once an offset recurs the rest cycle (their blocks shifted by whole
    passes), and after a pass without a turnover everything it reads is resident."""
    record = st[RECORD]
    fold_span = (temporal + rows) * rows  # positions reserved per fold (turnover offsets)
    seen = {np.int64(0): np.int64(0)}
    seen.clear()
    per_pass[:passes] = 0
    pass_blocks = np.zeros(passes + 1, dtype=np.int64)
    for rep in range(passes):
        before, start_fetched = st[TURNOVERS], st[FETCHED]
        pass_start = rep * folds * fold_span
        pass_blocks[rep] = st[BLOCKS]
        fr = 0
        while fr < folds:
            # WS pixel-major: whole folds at once, one run per pixel (a step is a fold here);
            # elsewhere a span of folds costs what its folds do one by one
            k = 0
            if kind == 1 and not channel_major:
                k = _plan(st, fr, folds, 0, 0, rows * temporal)
            if k != 0:
                stamp, room = _open_span(st, wstamp, k)
                l0, l1 = base + fr * rows, base + min(spatial, (fr + abs(k)) * rows)
                added = _whole_folds(l0, l1, temporal, pix_row, pix_col, bits, wstamp,
                                     stamp, ifmap_h, ifmap_w, row_len, channels, el_dy,
                                     dil_h, dil_w)
                if _settle(st, k, added, (l1 - l0) * temporal, room, bits, wstamp):
                    fr += abs(k)
                continue
            ru = min(rows, spatial - fr * rows)
            row0 = row_base + rep * pass_rows + fr * per_fold
            if channel_major:
                _ws_fold(base + fr * rows, ru, temporal, pass_start + fr * fold_span, rows, row0,
                         bits, wstamp, st, need, ofmap_w, stride_h, stride_w, ifmap_h, ifmap_w,
                         el_dy, el_dx, el_ch, patterns, dil_h, dil_w)
            else:
                _skewed_fold(kind, base + fr * rows, ru, temporal, pass_start + fr * fold_span,
                             rows, row0, pix_row, pix_col, bits, wstamp, st, need, ifmap_h,
                             ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
            fr += 1
        per_pass[rep] = st[FETCHED] - start_fetched
        pass_blocks[rep + 1] = st[BLOCKS]
        if st[TURNOVERS] == before:
            break  # everything this pass reads is resident: later passes fetch nothing
        offset = st[LAST_TURNOVER] - pass_start
        if offset in seen:
            first = seen[offset]  # passes first+1 .. rep repeat from here on
            period = rep - first
            for i in range(passes - rep - 1):
                source = first + 1 + i % period
                per_pass[rep + 1 + i] = per_pass[source]
                st[FETCHED] += per_pass[source]
                if record:
                    shift = (rep + 1 + i - source) * pass_rows
                    for k in range(pass_blocks[source], pass_blocks[source + 1]):
                        need[st[BLOCKS]] = need[k] + shift
                        st[BLOCKS] += 1
            break
        seen[offset] = rep


#: Read programs: the order folds stream the ifmap through its buffer. PASSES: ``passes``
#: identical passes, each folds over ``spatial`` in lines of ``rows`` (skewed; ``kind`` 0
#: lines hold pixels (OS), 1 lines hold elements (WS)). TILES: for each group of ``cols``
#: pixels, tiles of ``rows`` elements (IS).
PASSES, TILES = 0, 1


@njit
def _walk_program(program, kind, rows, cols, spatial, temporal, passes, row_folds, per_fold,
                  row_shift, pix_row, pix_col, ifmap_h, ifmap_w, row_len, channels, ofmap_w,
                  stride_h, stride_w, channel_major, first_window, later_window, record,
                  need, per_pass, dil_h, dil_w):
    """Words fetched by one read buffer over a whole program; with ``record``, ``need[k]``
    is the demand row of block ``k``'s first word (returns (fetched, blocks)). PASSES also
    leave each pass's words in ``per_pass``."""
    # elements: what lines hold in a WS-like pass and what tiles step through, else time
    window = spatial if (program == TILES or (program == PASSES and kind == 1)) else temporal
    el_dy = np.empty(window, dtype=np.int64)
    el_dx = np.empty(window, dtype=np.int64)
    el_ch = np.empty(window, dtype=np.int64)
    for e in range(window):
        el_dy[e] = e // row_len
        el_dx[e] = (e % row_len) // channels
        el_ch[e] = e % channels
    patterns = np.zeros(max(1, min(stride_w, 64)), dtype=np.uint64)  # bits ph, ph+stride, ..
    for ph in range(patterns.size):
        for b in range(ph, 64, patterns.size):
            patterns[ph] |= _ONE << np.uint64(b)
    words = (ifmap_h * ifmap_w * channels + 63) // 64
    bits, wstamp = new_window(words)  # one bit per operand word; valid where stamped
    st = _new_state(first_window, later_window)
    st[RECORD] = record
    st[PENDING] = record  # block 0 waits for its first word
    if program == TILES:
        pixels = temporal
        for fc in range((pixels + cols - 1) // cols):
            _is_column_fold(fc * cols, min(cols, pixels - fc * cols), rows, row_folds, spatial,
                            fc * row_folds * per_fold, per_fold, pix_row, pix_col, bits, wstamp,
                            st, need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
        return st[FETCHED], st[BLOCKS]
    _repeat(kind, passes, row_folds, 0, spatial, rows, temporal, per_fold,
            row_folds * per_fold, row_shift, channel_major, pix_row, pix_col, bits, wstamp, st,
            need, per_pass, ifmap_h, ifmap_w, row_len, channels, ofmap_w, stride_h, stride_w,
            el_dy, el_dx, el_ch, patterns, dil_h, dil_w)
    return st[FETCHED], st[BLOCKS]


# The entries below are plain Python, so that every caller reaches the one compiled
# signature of _ifmap_program (constants passed from compiled code would type as literals
# and compile the whole walk again).


def _ifmap_dram_reads_bitset(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w,
                             channels, stride_h, stride_w, ofmap_h, ofmap_w, num_filters,
                             first_window, later_window, layout=-1, dil_h=1, dil_w=1):
    """Words fetched from DRAM into the ifmap buffer (``dataflow``: 0 os, 1 ws, 2 is); equal
    to ``tests/naive_read_buffer.py`` on every layer. ``layout`` forces WS's bit layout
    (0 pixel-major, 1 channel-major; default: the cheaper one), for tests."""
    need = np.zeros(1, dtype=np.int64)
    fetched, _ = _ifmap_walk(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w,
                             channels, stride_h, stride_w, ofmap_h, ofmap_w, num_filters,
                             first_window, later_window, layout, 0, need, dil_h, dil_w)
    return int(fetched)


def _ifmap_walk(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels, stride_h,
                stride_w, ofmap_h, ofmap_w, num_filters, first_window, later_window, layout,
                record, need, dil_h=1, dil_w=1):
    """The ifmap stream of ``dataflow`` through its buffer: (words fetched, blocks); taps
    ``dil_h``/``dil_w`` inputs apart."""
    passes = 1 if dataflow == 2 else (num_filters + cols - 1) // cols
    return _ifmap_program(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                          stride_h, stride_w, ofmap_h, ofmap_w, num_filters, passes,
                          first_window, later_window, layout, record, need,
                          np.zeros(passes, dtype=np.int64), dil_h, dil_w)


def _ifmap_rows(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                stride_h, stride_w, ofmap_h, ofmap_w, num_filters, passes, first_window,
                later_window, need, dil_h, dil_w):
    """The walk recording each block's first demand row in ``need``: (words per pass, blocks).
    OS and WS run ``passes`` passes (one per column fold), IS one."""
    per_pass = np.zeros(passes, dtype=np.int64)
    fetched, blocks = _ifmap_program(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h,
                                     filter_w, channels, stride_h, stride_w, ofmap_h, ofmap_w,
                                     num_filters, passes, first_window, later_window, -1, 1,
                                     need, per_pass, dil_h, dil_w)
    if dataflow == 2:
        per_pass[0] = fetched
    return per_pass, int(blocks)


@njit
def _ifmap_program(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                   stride_h, stride_w, ofmap_h, ofmap_w, num_filters, passes, first_window,
                   later_window, layout, record, need, per_pass, dil_h, dil_w):
    """:func:`_ifmap_walk` with the number of passes given (OS, WS) and ``per_pass`` filled."""
    pix_row, pix_col = _pixel_origins(ofmap_h, ofmap_w, stride_h, stride_w)
    pixels = ofmap_h * ofmap_w
    window = filter_h * filter_w * channels
    row_len = filter_w * channels
    if dataflow == 2:
        per_fold = 2 * rows + cols + num_filters - 2
        return _walk_program(TILES, 0, rows, cols, window, pixels, 0,
                             (window + rows - 1) // rows, per_fold, 0, pix_row, pix_col,
                             ifmap_h, ifmap_w, row_len, channels, ofmap_w, stride_h, stride_w,
                             False, first_window, later_window, record, need, per_pass,
                             dil_h, dil_w)
    # WS spans cost about a run per pixel pixel-major, or a (strided) range per line and
    # output row channel-major; a span of whole folds costs one run per pixel and filter row
    # pixel-major, so pixel-major pays per fold only where a turnover falls (about one per
    # later window of input words). Take the cheaper layout (weights fitted on the ResNet-18
    # walks of benchmarks/bench_oracle.py's space).
    lines_used = min(rows, window)
    folds = (window + rows - 1) // rows
    turnovers = min(folds, ifmap_h * ifmap_w * channels // max(1, later_window) + 1)
    pixel_major_cost = (32 * turnovers * pixels * (lines_used // row_len + 2)
                        + pixels * filter_h)
    channel_major_cost = (folds * lines_used * ofmap_h * ((ofmap_w * stride_w) // 64 + 2)
                          * (1 if stride_w == 1 else 5))
    if layout < 0:
        channel_major = (dataflow == 1 and stride_w <= 64
                         and channel_major_cost < pixel_major_cost)
    else:
        channel_major = dataflow == 1 and layout == 1 and stride_w <= 64
    spatial = pixels if dataflow == 0 else window
    temporal = window if dataflow == 0 else pixels
    if dataflow == 0:
        per_fold, shift = temporal + rows + cols - 2, 0
    else:
        per_fold, shift = 2 * rows + cols + temporal - 2, rows
    return _walk_program(PASSES, dataflow, rows, cols, spatial, temporal, passes,
                         (spatial + rows - 1) // rows, per_fold, shift, pix_row, pix_col,
                         ifmap_h, ifmap_w, row_len, channels, ofmap_w, stride_h, stride_w,
                         channel_major, first_window, later_window, record, need, per_pass,
                         dil_h, dil_w)
