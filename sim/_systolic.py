"""The systolic-array model: one layer on one accelerator, in SCALE-Sim v3's stall-free mode.

Cycles, utilisation and SRAM traffic follow in closed form from the fold structure (the
same demand matrices SCALE-Sim builds, counted instead of built); DRAM reads follow in
closed form for streams of distinct words and otherwise replay the exact demand stream
through the double-buffered read scratchpad in Numba kernels (on channel bitsets, in spans
of demand that cannot turn the buffer over: ``kernels/_bitset_buffer``).

Modelling choices kept from SCALE-Sim (see the README): total cycles are the index of the
last demand row (rows - 1); reads of window elements that fall outside an input whose size
is not a whole number of strides count as SRAM reads (SCALE-Sim uses ``ceil((H - F + S) /
S)`` outputs); in WS and IS every row fold's partial sums are written out, none are
accumulated on chip. An accumulate-on-chip option would change only the ofmap writes of
:func:`_sram_traffic` (and the ofmap stream of the compat write buffer).

SCALE-Sim defects hwloop corrects unless ``scalesim_compat`` is set:
* OS ofmap SRAM writes: SCALE-Sim adds ``rows + cols`` per fold.
* DRAM ofmap writes: SCALE-Sim's write buffer counts the empty slots of partly filled
  lines inside a drain as words written. hwloop counts the words written.
"""
from __future__ import annotations

import functools
import math
import os

import numpy as np
from dataclasses import dataclass, replace

from hwloop.arch import Accelerator, Dataflow, Dram
from hwloop.traces import InputError, Layer

from ._memo import BytesLRU
from ._walk_store import shared_walk
from .kernels._distinct_stream import _distinct_ifmap_fetches, _filter_fetches as _filter_kernel
from .kernels._bitset_buffer import _ifmap_rows
from .kernels._write_buffer import _scalesim_ofmap_drain

#: Report columns only a finite memory system fills (None when DRAM is unlimited).
MEMORY_COLUMNS = ("prefetch_cycles",
                  *(f"dram_{op}_{edge}" for op in ("ifmap", "filter", "ofmap")
                    for edge in ("start", "stop")),
                  *(f"{kind}_{op}_dram_bw" for kind in ("avg", "peak")
                    for op in ("ifmap", "filter", "ofmap")))
_DATAFLOW_CODE = {Dataflow.OS: 0, Dataflow.WS: 1, Dataflow.IS: 2}
#: Largest operand (in words) a kernel may index; beyond it the job would exhaust memory.
MAX_OPERAND_WORDS = 2**31 - 1


@dataclass(frozen=True)
class FoldPlan:
    """How a layer folds onto the array: SCALE-Sim's Sr x Sc spatial, T temporal."""

    spatial_rows: int
    spatial_cols: int
    temporal: int
    row_folds: int
    col_folds: int
    rows_per_fold: int
    fold_cycles: int  # SCALE-Sim's per-fold cycle count used for compute utilisation

    @property
    def folds(self) -> int:
        return self.row_folds * self.col_folds


@functools.lru_cache(maxsize=1 << 14)  # a layer's plan is asked for many times per search
def fold_plan(layer: Layer, rows: int, cols: int, dataflow: Dataflow) -> FoldPlan:
    """The fold structure of one channel group of ``layer``."""
    pixels, filters, window = layer.gemm_mnk
    if dataflow is Dataflow.OS:
        sr, sc, t = pixels, filters, window
        per_fold = t + rows + cols - 2
        fold_cycles = per_fold
    else:
        sr, sc, t = (window, filters, pixels) if dataflow is Dataflow.WS else (window, pixels,
                                                                              filters)
        per_fold = 2 * rows + cols + t - 2
        fold_cycles = per_fold + cols - 1
    return FoldPlan(sr, sc, t, math.ceil(sr / rows), math.ceil(sc / cols), per_fold, fold_cycles)


def resets_on_turnover(sram) -> bool:
    """Whether the read buffers' active and prefetch parts hold the same number of sets, so a
    window turnover drops every resident word (SCALE-Sim's default split, 0.5)."""
    active = int(round(sram.active_fraction, 2) * 100)
    return active == 100 - active


@functools.lru_cache(maxsize=1024)
def buffer_windows(words: int, active_fraction: float) -> tuple[int, int]:
    """Distinct words a read buffer takes before turning over: (first, later) windows.

    SCALE-Sim splits a buffer into 100 sets of ``floor(words / 100)`` words; the active half
    holds ``int(fraction * 100)`` sets and the prefetch half the rest.
    """
    per_set = words // 100
    active_sets = int(round(active_fraction, 2) * 100)
    return active_sets * per_set, (100 - active_sets) * per_set


def simulate_systolic_layer(layer: Layer, accel: Accelerator, *, scalesim_compat: bool = False,
                            recorder=None, events=None) -> dict:
    """Per-layer counters as plain Python numbers (one row of a report).

    With a finite DRAM, a ``recorder`` (tracing) or ``events`` (replaying a trace), the
    memory side runs too (:mod:`._stalls`); only a finite DRAM can stall.
    """
    array, sram = accel.array, accel.sram
    rows, cols, df = array.rows, array.cols, array.dataflow
    plan = fold_plan(layer, rows, cols, df)
    pixels, filters, window = layer.gemm_mnk
    groups = layer.groups
    check_buffers(accel)
    _check_fits(layer, accel)

    demand_rows = plan.folds * plan.rows_per_fold
    ifmap_reads, filter_reads, ofmap_writes = _sram_traffic(plan, df, pixels, filters, window)
    accumulate = sram.accumulate_psums and df is not Dataflow.OS and plan.row_folds > 1
    if accumulate and (scalesim_compat or accel.dram.finite or recorder or events is not None):
        raise InputError("on-chip partial-sum accumulation is modelled stall-free and untraced "
                         "only (and SCALE-Sim has none)", field="accumulate_psums")
    stalls = 0
    memory: dict = dict.fromkeys(MEMORY_COLUMNS)
    if accel.dram.finite and scalesim_compat:
        return _scalesim_user_row(layer, accel, plan, recorder is not None or events is not None)
    if accel.dram.finite or recorder is not None or events is not None:
        from ._stalls import run_memory

        run = run_memory(layer, accel, groups, recorder=recorder, events=events)
        # the walk fetches exactly the words the closed forms count (tests/sim/test_memory_timing.py)
        dram_ifmap = int(run.events.ifmap.words.sum())
        dram_filter = int(run.events.filter.words.sum())
        if accel.dram.finite:
            stalls = run.timing.stall_cycles
            memory.update(run.fields)
    elif not resets_on_turnover(sram):
        # SCALE-Sim's read window slides by the prefetch sets and keeps the newest active
        # ones; only at an even split is that a reset, which the closed forms assume. Walk.
        from ._stalls import _untraced_events

        events = _untraced_events(replace(layer, name=""), array, sram)
        dram_ifmap = int(events.ifmap.words.sum())
        dram_filter = int(events.filter.words.sum())
    else:
        code = _DATAFLOW_CODE[df]
        if_first, if_later = buffer_windows(sram.words("ifmap"), sram.active_fraction)
        f_first, f_later = buffer_windows(sram.words("filter"), sram.active_fraction)
        dram_ifmap = _ifmap_fetches(layer, code, rows, cols, if_first, if_later)
        dram_filter = _filter_fetches(layer, code, rows, cols, f_first, f_later)
    dram_ofmap = ofmap_writes
    ofmap_sram_reads = 0
    if accumulate:  # partial sums meet in the ofmap buffer; finished outputs leave once
        dram_ofmap = pixels * filters
        ofmap_sram_reads = (plan.row_folds - 1) * pixels * filters
    if scalesim_compat:
        if df is Dataflow.OS:
            ofmap_writes += plan.folds * (rows + cols)
        total_words = sram.words("ofmap")
        active = math.ceil(total_words * sram.active_fraction)
        drained, stalls, _ = _scalesim_ofmap_drain(
            _DATAFLOW_CODE[df], rows, cols, plan.spatial_rows, plan.temporal, plan.spatial_cols, total_words,
            active, dram_ofmap)
        dram_ofmap = int(drained)
        stalls = int(stalls)
    total_cycles = demand_rows - 1 + stalls
    macs = pixels * filters * window
    pes = rows * cols
    mapping_eff = 100.0 * plan.spatial_rows * plan.spatial_cols / (pes * plan.folds)
    compute_util = 100.0 * plan.spatial_rows * plan.spatial_cols * plan.temporal / (
        pes * plan.fold_cycles * plan.folds)
    overall_util = 100.0 * macs / (max(total_cycles, 1) * pes)
    return {
        "name": layer.name,
        "kind": layer.kind.value,
        "total_cycles": groups * total_cycles,
        "stall_cycles": groups * stalls,
        "compute_util": compute_util,
        "mapping_eff": mapping_eff,
        "overall_util": overall_util,
        "macs": groups * macs,
        "ifmap_sram_reads": groups * ifmap_reads,
        "filter_sram_reads": groups * filter_reads,
        "ofmap_sram_writes": groups * ofmap_writes,
        "ofmap_sram_reads": groups * ofmap_sram_reads,
        "dram_ifmap_reads": groups * dram_ifmap,
        "dram_filter_reads": groups * dram_filter,
        "dram_ofmap_writes": groups * dram_ofmap,
        "row_folds": plan.row_folds,
        "col_folds": plan.col_folds,
        **memory,
    }


def _scalesim_user_row(layer: Layer, accel: Accelerator, plan: FoldPlan, traced: bool) -> dict:
    """SCALE-Sim's fixed-bandwidth (USER) mode, defects included (``--scalesim-compat``)."""
    from ._scalesim_user import simulate_scalesim_user

    if traced:
        raise InputError("traces and replay use hwloop's memory model; drop --scalesim-compat "
                         "to trace a run with finite bandwidth", field="--scalesim-compat")
    if accel.dram.model is not None:
        raise InputError("SCALE-Sim has no DRAM device model; drop --dram or --scalesim-compat",
                         field="model")
    stall_free = simulate_systolic_layer(layer, replace(accel, dram=Dram()), scalesim_compat=True)
    user = simulate_scalesim_user(layer, accel)
    row = {**stall_free, "total_cycles": user["total_cycles"], "stall_cycles": user["stall_cycles"],
           "dram_ifmap_reads": user["dram_ifmap_reads"], "dram_filter_reads": user["dram_filter_reads"],
           "dram_ofmap_writes": user["dram_ofmap_writes"]}
    pes = accel.array.rows * accel.array.cols
    row["overall_util"] = 100.0 * row["macs"] / (max(row["total_cycles"], 1) * pes)
    bws = accel.dram.port_bandwidths()
    for op, bw, count in zip(("ifmap", "filter", "ofmap"), bws,
                             (user["dram_ifmap_reads"], user["dram_filter_reads"],
                              user["dram_ofmap_writes"])):
        start, stop = user[f"dram_{op}_start"], user[f"dram_{op}_stop"]
        row[f"dram_{op}_start"], row[f"dram_{op}_stop"] = start, stop
        row[f"avg_{op}_dram_bw"] = count / (stop - start + 1)
        row[f"peak_{op}_dram_bw"] = bw
    row["prefetch_cycles"] = max(0, -min(user["dram_ifmap_start"], user["dram_filter_start"]))
    return row


def _sram_traffic(plan: FoldPlan, df: Dataflow, pixels: int, filters: int,
                  window: int) -> tuple[int, int, int]:
    """SRAM reads (ifmap, filter) and ofmap writes for one channel group."""
    if df is Dataflow.OS:
        return plan.col_folds * pixels * window, plan.row_folds * window * filters, pixels * filters
    if df is Dataflow.WS:
        return plan.col_folds * pixels * window, window * filters, plan.row_folds * pixels * filters
    return window * pixels, plan.col_folds * filters * window, plan.row_folds * pixels * filters


@functools.lru_cache(maxsize=4096)
def touched_ifmap_words(layer: Layer) -> int:
    """Distinct input words some window reads (one channel group); strides may skip some."""
    return (_covered(layer.ifmap_h, layer.filter_h, layer.stride_h, layer.ofmap_h,
                     layer.dilation_h)
            * _covered(layer.ifmap_w, layer.filter_w, layer.stride_w, layer.ofmap_w,
                       layer.dilation_w)
            * layer.channel_group)


@functools.lru_cache(maxsize=4096)
def _covered(size: int, filt: int, stride: int, outputs: int, dilation: int = 1) -> int:
    """Input positions along one axis that some of ``outputs`` windows covers (taps
    ``dilation`` apart)."""
    if dilation == 1:
        end = 0
        total = 0
        for o in range(outputs):
            lo, hi = o * stride, min(o * stride + filt, size)
            total += max(0, hi - max(lo, end))
            end = max(end, hi)
        return total
    return len({o * stride + k * dilation for o in range(outputs) for k in range(filt)
                if o * stride + k * dilation < size})


def _ifmap_fetches(layer: Layer, code: int, rows: int, cols: int, first: int, later: int) -> int:
    unique = touched_ifmap_words(layer)
    if unique < first:
        return unique  # everything fits before the first turnover: each word is fetched once
    if not windows_overlap(layer):  # every pass reads `unique` distinct words
        pixels, filters, _ = layer.gemm_mnk
        return int(_distinct_ifmap_fetches(code, cols, unique, filters, pixels, first, later))
    return _walked_ifmap_fetches(code, rows, cols, layer.ifmap_h, layer.ifmap_w, layer.filter_h,
                                 layer.filter_w, layer.channel_group, layer.stride_h,
                                 layer.stride_w, layer.ofmap_h, layer.ofmap_w,
                                 layer.num_filters, first, later, layer.dilation_h,
                                 layer.dilation_w)


#: Walked ifmap buffers kept per process. A walk is a pure function of these integers, and
#: in a design-space search many points share them (every ofmap size, filter size, bandwidth
#: and energy table with the same array, dataflow and ifmap buffer), so each is walked once;
#: the stall-free count and the finite-bandwidth events share it. Counts are kept for this
#: many walks; block rows (a few bytes to a few hundred KiB each) for the most recent walks
#: up to :data:`IFMAP_ROWS_MEMO_BYTES` in all. A store lent with
#: ``_walk_store.sharing_walks`` shares the counts with other processes.
IFMAP_MEMO_SIZE = 1 << 14
IFMAP_ROWS_MEMO_BYTES = 64 << 20


@functools.lru_cache(maxsize=IFMAP_MEMO_SIZE)
def _walked_ifmap_fetches(code: int, rows: int, cols: int, ifmap_h: int, ifmap_w: int,
                          filter_h: int, filter_w: int, channels: int, stride_h: int,
                          stride_w: int, ofmap_h: int, ofmap_w: int, num_filters: int, first: int,
                          later: int, dilation_h: int = 1, dilation_w: int = 1) -> int:
    """Words one ifmap walk fetches. OS and WS run one identical pass per column fold, so the
    count is a prefix sum of per-pass counts that every array width with these rows shares;
    an IS walk is one pass of its own."""
    shape = (ifmap_h, ifmap_w, filter_h, filter_w, channels, stride_h, stride_w, ofmap_h,
             ofmap_w)
    if code == 2:
        key: tuple[int, ...] = (code, rows, cols, *shape, num_filters, first, later, dilation_h,
                                dilation_w)
        passes = 1
    else:
        key = (code, rows, *shape, first, later, dilation_h, dilation_w)
        passes = -(-num_filters // cols)
    per_pass = _PASS_FETCHES.get(key)
    if per_pass is None or len(per_pass) < passes:
        per_pass = shared_walk(key, passes, _walk_passes)
        if len(_PASS_FETCHES) >= IFMAP_MEMO_SIZE:
            _PASS_FETCHES.clear()
        _PASS_FETCHES[key] = per_pass
    return int(per_pass[:passes].sum())


def _walk_passes(key: tuple[int, ...], passes: int) -> np.ndarray:
    """Walk the ifmap buffer of ``key`` (see :func:`_walked_ifmap_fetches`): words per pass.
    The walk records its block rows too, so a finite-bandwidth point reuses it."""
    if key[0] == 2:
        return np.array([_walked_ifmap(*key)[0]], dtype=np.int64)
    return _pass_rows(key, passes)[0]


#: Per-pass counts of walks (``_walked_ifmap_fetches``), OS and WS by everything but the array
#: width.
_PASS_FETCHES: dict[tuple[int, ...], np.ndarray] = {}


def forget_walks() -> None:
    """Clear the per-process memos of buffer walks (benchmarks time the walks with it)."""
    from ._stalls import _untraced_events

    _walked_ifmap_fetches.cache_clear()
    _PASS_FETCHES.clear()
    _WALKED_ROWS.clear()
    _untraced_events.cache_clear()


def _walked_ifmap(code: int, rows: int, cols: int, ifmap_h: int, ifmap_w: int, filter_h: int,
                  filter_w: int, channels: int, stride_h: int, stride_w: int, ofmap_h: int,
                  ofmap_w: int, num_filters: int, first: int, later: int, dilation_h: int = 1,
                  dilation_w: int = 1) -> tuple[int, np.ndarray]:
    """(words fetched, demand row of each buffer block's first word) of an ifmap walk, from
    the memo when it holds it. OS and WS walks are kept for one width and read off for any:
    a pass is the same for every width, which moves only the rows where folds start."""
    shape = (ifmap_h, ifmap_w, filter_h, filter_w, channels, stride_h, stride_w, ofmap_h,
             ofmap_w)
    if code == 2:
        key: tuple[int, ...] = (code, rows, cols, *shape, num_filters, first, later,
                                dilation_h, dilation_w)
        found = _WALKED_ROWS.get(key)
        if found is None:
            found = _walk_rows(code, rows, cols, shape, num_filters, 1, first, later,
                               dilation_h, dilation_w)
            _WALKED_ROWS.put(key, found, found[1].nbytes + 200)
        return int(found[0].sum()), found[1]
    passes = -(-num_filters // cols)
    per_pass, canonical = _pass_rows((code, rows, *shape, first, later, dilation_h, dilation_w),
                                     passes)
    return int(per_pass[:passes].sum()), _rows_at_width(canonical, code, rows, cols, shape,
                                                        passes)


def _pass_rows(key: tuple[int, ...], passes: int) -> tuple[np.ndarray, np.ndarray]:
    """An OS/WS walk of at least ``passes`` passes on a one-column array: (words per pass,
    block rows), from the memo when it holds one long enough."""
    found = _WALKED_ROWS.get(key)
    if found is None or found[0].size < passes:
        code, rows, *shape, first, later, dilation_h, dilation_w = key
        found = _walk_rows(code, rows, 1, tuple(shape), passes, passes, first, later,
                           dilation_h, dilation_w)
        _WALKED_ROWS.put(key, found, found[0].nbytes + found[1].nbytes + 200)
    return found


def _rows_at_width(canonical: np.ndarray, code: int, rows: int, cols: int,
                   shape: tuple[int, ...], passes: int) -> np.ndarray:
    """Block rows of a one-column walk's first ``passes`` passes, moved to ``cols`` columns:
    a row is ``shift + pass * pass_rows + fold * per_fold + step`` and only ``per_fold``
    (so ``pass_rows``) grows with the columns."""
    ifmap_h, ifmap_w, filter_h, filter_w, channels, _, _, ofmap_h, ofmap_w = shape
    pixels, window = ofmap_h * ofmap_w, filter_h * filter_w * channels
    spatial, temporal = (pixels, window) if code == 0 else (window, pixels)
    folds = -(-spatial // rows)
    shift = 0 if code == 0 else rows
    one_col = temporal + rows - 1 if code == 0 else 2 * rows + temporal - 1
    per_fold = one_col + cols - 1
    kept = canonical[:np.searchsorted(canonical, shift + passes * folds * one_col)]
    pass_index, within = np.divmod(kept - shift, folds * one_col)
    fold, step = np.divmod(within, one_col)
    moved = shift + pass_index * (folds * per_fold) + fold * per_fold + step
    moved.flags.writeable = False  # as the memo's rows: nobody may change them
    return moved


_WALKED_ROWS = BytesLRU(IFMAP_ROWS_MEMO_BYTES)


def _walk_rows(code: int, rows: int, cols: int, shape: tuple[int, ...], num_filters: int,
               passes: int, first: int, later: int, dilation_h: int,
               dilation_w: int) -> tuple[np.ndarray, np.ndarray]:
    """Walk an ifmap buffer recording block rows: (words per pass, block rows)."""
    ifmap_h, ifmap_w, filter_h, filter_w, channels, stride_h, stride_w, ofmap_h, ofmap_w = shape
    pixels, window = ofmap_h * ofmap_w, filter_h * filter_w * channels
    need = np.zeros(3 + passes * pixels * window // max(1, min(first, later)), dtype=np.int64)
    per_pass, blocks = _ifmap_rows(code, rows, cols, *shape, num_filters, passes, first, later,
                                   need, dilation_h, dilation_w)
    rows_of_blocks = need[:blocks].copy()
    rows_of_blocks.flags.writeable = False  # shared by every caller
    per_pass.flags.writeable = False
    return per_pass, rows_of_blocks


@functools.lru_cache(maxsize=1)
def _physical_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 0


def _filter_fetches(layer: Layer, code: int, rows: int, cols: int, first: int, later: int) -> int:
    pixels, filters, window = layer.gemm_mnk
    return int(_filter_kernel(code, rows, cols, window, filters, pixels, first, later))


@functools.lru_cache(maxsize=4096)
def windows_overlap(layer: Layer) -> bool:
    """Whether two output pixels may read a common input word (filter wider than the stride;
    with dilated taps, fewer positions covered than taps read along an axis)."""
    if layer.dilation_h == 1 and layer.dilation_w == 1:
        return ((layer.ofmap_w > 1 and layer.stride_w < layer.filter_w)
                or (layer.ofmap_h > 1 and layer.stride_h < layer.filter_h))
    return (_covered(layer.ifmap_h, layer.filter_h, layer.stride_h, layer.ofmap_h,
                     layer.dilation_h) < layer.ofmap_h * layer.filter_h
            or _covered(layer.ifmap_w, layer.filter_w, layer.stride_w, layer.ofmap_w,
                        layer.dilation_w) < layer.ofmap_w * layer.filter_w)


def _check_fits(layer: Layer, accel: Accelerator) -> None:
    """Refuse layers that cannot run: operands too big to index or to fit in memory."""
    _check_layer_fits(layer)


@functools.lru_cache(maxsize=4096)  # remembers layers that fit; one that does not raises again
def _check_layer_fits(layer: Layer) -> None:
    ifmap_words = layer.ifmap_h * layer.ifmap_w * layer.channel_group
    filter_words = layer.window_size * layer.num_filters
    for operand, words in (("ifmap", ifmap_words), ("filter", filter_words)):
        if words > MAX_OPERAND_WORDS:
            raise InputError(f"layer {layer.name!r}: {operand} of {words} words is too large to "
                             f"simulate (limit {MAX_OPERAND_WORDS})", field=operand)
    # Kernels keep one 4-byte mark per operand word and a few bounded fold buffers.
    needed = 4 * max(ifmap_words, filter_words) + 8 * (layer.ofmap_pixels + layer.window_size)
    available = _physical_memory_bytes()
    if available and needed > available // 2:
        raise InputError(f"layer {layer.name!r} needs about {needed / 2**30:.1f} GiB to simulate, "
                         f"more than half of this machine's {available / 2**30:.1f} GiB",
                         field="layer")


def check_buffers(accel: Accelerator) -> None:
    """Refuse buffers whose active half cannot hold one array line of their operand."""
    sram = accel.sram
    lines = {"ifmap": accel.array.rows, "filter": accel.array.cols, "ofmap": accel.array.cols}
    for operand, line in lines.items():
        first, _ = buffer_windows(sram.words(operand), sram.active_fraction)
        if first < line:
            raise InputError(
                f"{operand} buffer of {getattr(sram, operand + '_kb')} KiB holds {first} words in "
                f"its active half, less than one array line of {line} words",
                field=f"{operand}_kb")
