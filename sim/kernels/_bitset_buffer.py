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

The walk is split by concept: ``_bitset_bits`` holds the 64-bit word operations and the undo
log, ``_bitset_span`` the buffer state, runs and span planning, ``_bitset_folds`` each
dataflow's folds and passes; this module builds a walk's tables and runs its program.
"""
from __future__ import annotations

import numpy as np

from ._bitset_bits import new_window
from ._bitset_folds import _is_column_fold, _repeat
from ._bitset_span import BLOCKS, FETCHED, PENDING, RECORD, _new_state
from ._numba import njit


def _pixel_origins(ofmap_h: int, ofmap_w: int, stride_h: int,
                   stride_w: int) -> tuple[np.ndarray, np.ndarray]:
    """Input (row, column) where each output pixel's window starts."""
    p = np.arange(ofmap_h * ofmap_w, dtype=np.int64)
    return (p // ofmap_w) * stride_h, (p % ofmap_w) * stride_w


#: Read programs: the order folds stream the ifmap through its buffer. PASSES: ``passes``
#: identical passes, each folds over ``spatial`` in lines of ``rows`` (skewed; ``kind`` 0
#: lines hold pixels (OS), 1 lines hold elements (WS)). TILES: for each group of ``cols``
#: pixels, tiles of ``rows`` elements (IS).
PASSES, TILES = 0, 1


def _walk_program(program: int, kind: int, rows: int, cols: int, spatial: int, temporal: int,
                  passes: int, row_folds: int, per_fold: int, row_shift: int,
                  pix_row: np.ndarray, pix_col: np.ndarray, ifmap_h: int, ifmap_w: int,
                  row_len: int, channels: int, ofmap_w: int, stride_h: int, stride_w: int,
                  channel_major: bool, first_window: int, later_window: int, record: int,
                  need: np.ndarray, per_pass: np.ndarray, dil_h: int,
                  dil_w: int) -> tuple[int, int]:
    """Words fetched by one read buffer over a whole program; with ``record``, ``need[k]``
    is the demand row of block ``k``'s first word (returns (fetched, blocks)). PASSES also
    leave each pass's words in ``per_pass``.

    Plain Python around two compiled loops, so that a run compiles only the program it
    walks (an OS or WS run never compiles IS tiles), and no compiled wrapper re-optimises
    the whole walk below it."""
    # elements: what lines hold in a WS-like pass and what tiles step through, else time
    window = spatial if (program == TILES or (program == PASSES and kind == 1)) else temporal
    e = np.arange(window, dtype=np.int64)
    el_dy, el_dx, el_ch = e // row_len, (e % row_len) // channels, e % channels
    phases = max(1, min(stride_w, 64))  # bits ph, ph + stride, ..
    patterns = np.array([sum(1 << b for b in range(ph, 64, phases)) for ph in range(phases)],
                        dtype=np.uint64)
    words = (ifmap_h * ifmap_w * channels + 63) // 64
    bits, wstamp = new_window(words)  # one bit per operand word; valid where stamped
    st = _new_state(first_window, later_window)
    st[RECORD] = record
    st[PENDING] = record  # block 0 waits for its first word
    if program == TILES:
        _tiles(rows, cols, spatial, temporal, row_folds, per_fold, pix_row, pix_col, bits,
               wstamp, st, need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w)
    else:
        _repeat(kind, passes, row_folds, 0, spatial, rows, temporal, per_fold,
                row_folds * per_fold, row_shift, bool(channel_major), pix_row, pix_col, bits,
                wstamp, st, need, per_pass, ifmap_h, ifmap_w, row_len, channels, ofmap_w,
                stride_h, stride_w, el_dy, el_dx, el_ch, patterns, dil_h, dil_w)
    return int(st[FETCHED]), int(st[BLOCKS])


@njit
def _tiles(rows, cols, spatial, pixels, row_folds, per_fold, pix_row, pix_col, bits, wstamp,
           st, need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w):
    """IS: for each group of ``cols`` pixels, its column fold of tiles."""
    for fc in range((pixels + cols - 1) // cols):
        _is_column_fold(fc * cols, min(cols, pixels - fc * cols), rows, row_folds, spatial,
                        fc * row_folds * per_fold, per_fold, pix_row, pix_col, bits, wstamp,
                        st, need, ifmap_h, ifmap_w, row_len, channels, el_dy, dil_h, dil_w)


def _ifmap_dram_reads_bitset(dataflow: int, rows: int, cols: int, ifmap_h: int, ifmap_w: int,
                             filter_h: int, filter_w: int, channels: int, stride_h: int,
                             stride_w: int, ofmap_h: int, ofmap_w: int, num_filters: int,
                             first_window: int, later_window: int, layout: int = -1,
                             dil_h: int = 1, dil_w: int = 1) -> int:
    """Words fetched from DRAM into the ifmap buffer (``dataflow``: 0 os, 1 ws, 2 is); equal
    to ``tests/naive_read_buffer.py`` on every layer. ``layout`` forces WS's bit layout
    (0 pixel-major, 1 channel-major; default: the cheaper one), for tests."""
    need = np.zeros(1, dtype=np.int64)
    fetched, _ = _ifmap_walk(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w,
                             channels, stride_h, stride_w, ofmap_h, ofmap_w, num_filters,
                             first_window, later_window, layout, 0, need, dil_h, dil_w)
    return int(fetched)


def _ifmap_walk(dataflow: int, rows: int, cols: int, ifmap_h: int, ifmap_w: int, filter_h: int,
                filter_w: int, channels: int, stride_h: int, stride_w: int, ofmap_h: int,
                ofmap_w: int, num_filters: int, first_window: int, later_window: int, layout: int,
                record: int, need: np.ndarray, dil_h: int = 1,
                dil_w: int = 1) -> tuple[int, int]:
    """The ifmap stream of ``dataflow`` through its buffer: (words fetched, blocks); taps
    ``dil_h``/``dil_w`` inputs apart."""
    passes = 1 if dataflow == 2 else (num_filters + cols - 1) // cols
    return _ifmap_program(dataflow, rows, cols, ifmap_h, ifmap_w, filter_h, filter_w, channels,
                          stride_h, stride_w, ofmap_h, ofmap_w, num_filters, passes,
                          first_window, later_window, layout, record, need,
                          np.zeros(passes, dtype=np.int64), dil_h, dil_w)


def _ifmap_rows(dataflow: int, rows: int, cols: int, ifmap_h: int, ifmap_w: int, filter_h: int,
                filter_w: int, channels: int, stride_h: int, stride_w: int, ofmap_h: int,
                ofmap_w: int, num_filters: int, passes: int, first_window: int,
                later_window: int, need: np.ndarray, dil_h: int,
                dil_w: int) -> tuple[np.ndarray, int]:
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


def _ifmap_program(dataflow: int, rows: int, cols: int, ifmap_h: int, ifmap_w: int,
                   filter_h: int, filter_w: int, channels: int, stride_h: int, stride_w: int,
                   ofmap_h: int, ofmap_w: int, num_filters: int, passes: int,
                   first_window: int, later_window: int, layout: int, record: int,
                   need: np.ndarray, per_pass: np.ndarray, dil_h: int,
                   dil_w: int) -> tuple[int, int]:
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
