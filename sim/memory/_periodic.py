"""A layer's finite-bandwidth timing whose cost does not grow with its folds.

The memory events of a layer of equal folds (every fold has the array's full rows and
columns, the ifmap's windows share no word) are streams of pieces
(:mod:`hwloop.sim.kernels._event_pieces`), built in closed form; the fixed-pipe timing runs
over them and skips the units that repeat (:mod:`hwloop.sim.kernels._periodic_pipe`). The
report's columns come out equal to :func:`time_events` on the expanded events
(``tests/sim/test_periodic_timing.py``); what a trace needs (every transfer's start, the
stall's history) is not kept, so traces and DRAM device models take the event path.

The engine times a layer here when it applies and moves at least about :data:`WORTH`
transfers, and takes the event path instead once :data:`BUDGET` events were timed one by
one and fewer skipped: where units rarely repeat, the event path's plain loop is faster.
"""
from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass

import numpy as np

from hwloop.arch import Accelerator, Sram
from hwloop.sim.kernels import (
    distinct_blocks,
    four_streams,
    periodic_pipe,
    periodic_workspace,
    run_layout,
    run_words,
)
from hwloop.sim.schedule import Schedule

from ._fast_events import distinct_windows
from ._pipe import OPERANDS, port_bandwidths
from ._windows import operand_windows, resets_on_turnover

SKEW, FLAT = 0, 1
#: The engine gives up on the periodic timing once it has timed this many events one by
#: one while skipping fewer (the layer's units rarely repeat: the event path is faster).
BUDGET = 2048
#: Transfers (about) from which the engine takes the periodic timing: below, building the
#: pieces and taking snapshots costs more than the event path's plain loop saves.
WORTH = 8192
#: Piece streams kept per process, as for the events (:data:`EVENTS_MEMO_SIZE`).
PIECES_MEMO_SIZE = 512


@dataclass(frozen=True)
class Fold:
    """A stream's fold: ``words`` per fold, ``per_fold`` rows apart, the first word's row
    ``first_row``, and the step within a fold (``kind`` SKEW over ``lines`` x
    ``temporal``, or FLAT: word ``q`` at step ``q // lines``)."""

    words: int
    per_fold: int
    first_row: int
    kind: int
    lines: int
    temporal: int = 0


@dataclass(frozen=True)
class PieceStreams:
    """Ifmap blocks, filter blocks, ofmap half starts and fills, as pieces (packed)."""

    pieces: np.ndarray
    npieces: np.ndarray
    rows: np.ndarray
    words: np.ndarray
    nevents: np.ndarray
    totals: tuple[int, int, int]  #: words moved per operand
    peaks: tuple[int, int, int]  #: largest transfer per operand
    last_words: tuple[int, int, int]  #: words of each operand's last transfer


def periodic_applies(sched: Schedule, sram: Sram) -> bool:
    """Whether the layer's events are streams of equal folds (see the module docstring)."""
    pixels, filters, window = sched.gemm
    rows, cols = sched.rows, sched.cols
    even = (pixels % rows == 0 and filters % cols == 0,
            window % rows == 0 and filters % cols == 0,
            window % rows == 0 and pixels % cols == 0)[sched.code]
    return (even and sched.spatial_rows % rows == 0 and sched.spatial_cols % cols == 0
            and resets_on_turnover(sram) and sched.layer.masked is None
            and distinct_windows(sched))


def periodic_worth(sched: Schedule, sram: Sram) -> bool:
    """Whether the layer moves enough transfers (about, at most) for runs of units to pay
    (:data:`WORTH`)."""
    half = max(1, math.ceil(sram.words("ofmap") * sram.active_fraction))
    blocks = (sched.ifmap_sram_reads // max(1, operand_windows(sram, "ifmap")[1])
              + sched.filter_sram_reads // max(1, operand_windows(sram, "filter")[1])
              + 2 * sched.ofmap_sram_writes // half)
    return blocks >= WORTH


def _read_fold(sched: Schedule, operand: int) -> Fold:
    pixels, filters, window = sched.gemm
    rows, cols, code = sched.rows, sched.cols, sched.code
    per_fold = (window + rows + cols - 2, 2 * rows + cols + pixels - 2,
                2 * rows + cols + filters - 2)[code]
    if operand == 0:
        return (Fold(rows * window, per_fold, 0, SKEW, rows, window),
                Fold(rows * pixels, per_fold, rows, SKEW, rows, pixels),
                Fold(rows * cols, per_fold, 0, FLAT, cols))[code]
    return (Fold(cols * window, per_fold, 0, SKEW, cols, window),
            Fold(cols * rows, per_fold, 0, FLAT, cols),
            Fold(rows * filters, per_fold, rows, SKEW, rows, filters))[code]


def _fold_row(fold: Fold) -> list[int]:
    return [fold.words, fold.per_fold, fold.first_row, fold.kind, fold.lines, fold.temporal]


def _arithmetic_runs(total: int, first: int, later: int) -> list[list[int]]:
    """Blocks of a stream of ``total`` words, every word fetched: the first window, later
    windows, the last one partial (as three runs of (first position, step, blocks, words
    each))."""
    n = 1 + -(-max(0, total - first) // later) if total else 0
    if n <= 1:
        return [[0, 1, n, total], [0, 1, 0, 0], [0, 1, 0, 0]]
    last = total - first - (n - 2) * later
    return [[0, 1, 1, first], [first, later, n - 2, later], [first + (n - 2) * later, 1, 1, last]]


def _fetches_all(sched: Schedule, sram: Sram, operand: int) -> tuple[bool, int]:
    """(whether every word of the read stream is fetched: each run read once, or longer
    than a window; the words it moves then)."""
    first, later = operand_windows(sram, OPERANDS[operand])
    pixels, filters, window = sched.gemm
    segments, repeats, _ = run_layout(operand, sched.code, sched.rows, sched.cols, window,
                                      filters, pixels)
    run = run_words(operand, sched.code, sched.cols, window, filters, pixels, 0)
    return repeats == 1 or max(first, later) < run, segments * repeats * run


def _explicit_read(sched: Schedule, sram: Sram, operand: int):
    """A read stream whose later repeats of a run hit: its blocks from the closed form, one
    by one, as one explicit piece (pieces, rows, words) and the words fetched."""
    first, later = operand_windows(sram, OPERANDS[operand])
    pixels, filters, window = sched.gemm
    _, total = _fetches_all(sched, sram, operand)
    need = np.zeros(3 + total // max(1, min(first, later)), dtype=np.int64)
    fetched, count = distinct_blocks(operand, sched.code, sched.rows, sched.cols, window,
                                     filters, pixels, first, later, need)
    sizes = np.concatenate([np.full(n, w, dtype=np.int64)
                            for _, _, n, w in _arithmetic_runs(int(fetched), first, later)])
    return (np.array([[0, count, count, 0, 0]], dtype=np.int64), need[:count].copy(),
            sizes[:count]), int(fetched)


def _ofmap_runs(sched: Schedule, sram: Sram):
    """The ofmap halves' fold, the runs of their first and last writes, the words written,
    the largest and last half's words."""
    rows, cols, code = sched.rows, sched.cols, sched.code
    half = max(1, math.ceil(sram.words("ofmap") * sram.active_fraction))
    length = rows if code == 0 else sched.temporal
    total = (sched.spatial_rows // rows) * (sched.spatial_cols // cols) * cols * length
    fold = Fold(cols * length, sched.rows_per_fold,
                sched.temporal - 1 if code == 0 else 2 * rows - 1, SKEW, cols, length)
    chunks = -(-total // half)
    last = total - (chunks - 1) * half
    starts = [[0, half, chunks - 1, half], [(chunks - 1) * half, 1, 1, last], [0, 1, 0, 0]]
    fills = [[half - 1, half, chunks - 1, half], [total - 1, 1, 1, last], [0, 1, 0, 0]]
    return fold, starts, fills, total, min(half, total), last


@functools.lru_cache(maxsize=PIECES_MEMO_SIZE)
def piece_streams(sched: Schedule, sram: Sram) -> PieceStreams:
    """The four streams of ``sched`` (a nameless shape, :func:`periodic_applies`)."""
    fold, starts, fills, o_total, o_peak, o_last = _ofmap_runs(sched, sram)
    folds, runs, totals, explicit = [], [], [], {}
    for operand in (0, 1):
        every, total = _fetches_all(sched, sram, operand)
        first, later = operand_windows(sram, OPERANDS[operand])
        folds.append(_fold_row(_read_fold(sched, operand)))
        if every:
            runs.append(_arithmetic_runs(total, first, later))
            totals.append(total)
        else:  # packed below, in place of an empty stream
            runs.append(_arithmetic_runs(0, first, later))
            explicit[operand], fetched = _explicit_read(sched, sram, operand)
            totals.append(fetched)
    packed = four_streams(np.array(folds + [_fold_row(fold)] * 2, dtype=np.int64),
                          np.array(runs + [starts, fills], dtype=np.int64))
    if explicit:
        packed = _with_explicit(packed, explicit)
    pieces, npieces, rows, words, nevents = packed
    peaks, lasts = [], []
    for s in (0, 1):
        stream_words = words[s, :max(1, _base_size(pieces[s], npieces[s]))]
        peaks.append(int(stream_words.max()) if nevents[s] else 0)
        lasts.append(_last_words(pieces[s, :npieces[s]], words[s]))
    return PieceStreams(pieces, npieces, rows, words, nevents, (*totals, o_total),
                        (*peaks, o_peak), (*lasts, o_last))  # type: ignore[arg-type]


def _base_size(pieces: np.ndarray, count: int) -> int:
    """Rows and words a stream's pieces keep."""
    if count == 0:
        return 0
    return int(pieces[count - 1, 4] + pieces[count - 1, 2])


def _with_explicit(packed, explicit: dict):
    """``packed`` with the explicit read streams in place of their empty ones."""
    pieces, npieces, rows, words, nevents = (np.array(a) for a in packed)
    most = max([pieces.shape[1]] + [p.shape[0] for p, _, _ in explicit.values()])
    base = max([rows.shape[1]] + [r.size for _, r, _ in explicit.values()])
    grown = np.zeros((4, most, 5), dtype=np.int64)
    grown[:, :pieces.shape[1]] = pieces
    rows = np.pad(rows, ((0, 0), (0, base - rows.shape[1])))
    words = np.pad(words, ((0, 0), (0, base - words.shape[1])))
    for s, (p, r, w) in explicit.items():
        grown[s] = 0
        grown[s, :p.shape[0]] = p
        rows[s, :r.size] = r
        words[s, :w.size] = w
        npieces[s] = p.shape[0]
        nevents[s] = int(p[:, 1].sum())
    return grown, npieces, rows, words, nevents


def _last_words(pieces: np.ndarray, words: np.ndarray) -> int:
    """Words of a stream's last event (0: no events)."""
    if pieces.shape[0] == 0 or pieces[-1, 1] == 0:
        return 0
    first, count, period, _, off = pieces[-1]
    return int(words[off + (count - 1) % period])


_LOCAL = threading.local()


def time_pieces(streams: PieceStreams, bws, latency: int, budget: int | None = None):
    """The periodic timing's output array (see ``periodic_pipe``) for ``streams``; the work
    space is kept per thread (a fresh one would cost a page fault per page it touches)."""
    work = getattr(_LOCAL, "work", None)
    if work is None:
        work = _LOCAL.work = periodic_workspace()
    return periodic_pipe(streams.pieces, streams.npieces, streams.rows, streams.words,
                         streams.nevents, np.array(bws, dtype=np.int64), latency,
                         -1 if budget is None else budget, *work)


def periodic_memory(sched: Schedule, accel: Accelerator, groups: int, *,
                    budget: int | None = None) -> tuple[int, dict] | None:
    """(stall cycles, the report's DRAM timing columns) of one channel group's events, as
    :func:`memory_fields` gives them from :func:`time_events`; None if more than ``budget``
    events were timed one by one and fewer skipped (the layer repeats too little: time its
    events instead)."""
    streams = piece_streams(sched.shape(), accel.sram)
    bws = port_bandwidths(accel.dram)
    out = time_pieces(streams, bws, accel.dram.latency_cycles, budget)
    stall = int(out[0])
    if stall < 0:
        return None
    span = sched.demand_rows + stall
    fields: dict = {}
    read_starts = []
    for index, name in enumerate(OPERANDS):
        events = streams.nevents[index if index < 2 else 3]
        if events == 0 or streams.totals[index] == 0:
            fields.update({f"dram_{name}_start": None, f"dram_{name}_stop": None,
                           f"avg_{name}_dram_bw": 0.0, f"peak_{name}_dram_bw": 0})
            continue
        start = int(out[1 + 2 * index])
        last = int(out[2 + 2 * index]) + -(-streams.last_words[index] // bws[index]) - 1
        stop = last + (groups - 1) * span
        if name != "ofmap":
            read_starts.append(start)
        fields[f"dram_{name}_start"] = start
        fields[f"dram_{name}_stop"] = stop
        fields[f"avg_{name}_dram_bw"] = groups * streams.totals[index] / (stop - start + 1)
        fields[f"peak_{name}_dram_bw"] = int(min(bws[index], streams.peaks[index]))
    fields["prefetch_cycles"] = max(0, -min(read_starts)) if read_starts else 0
    return stall, fields
