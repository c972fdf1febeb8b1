"""SCALE-Sim v3's row-wise N:M sparsity (``[sparsity] OptimizedMapping = true``) on a
weight-stationary systolic array.

What SCALE-Sim 3.0.0 does (``compute/operand_matrix.py``, ``compute/systolic_compute_ws.py``),
and hwloop with it:

* Every layer's filter columns get their own N: ``np.random.seed(RandomNumberGeneratorSeed)``
  once per layer, then one ``randint(1, BlockSize // 2 + 1)`` per filter; the layer's own
  ratio is ignored. Filter ``f`` keeps the window positions whose index modulo ``B``
  (``BlockSize``) is below its N. :func:`row_draws` replays the draws with NumPy's legacy
  generator, so the patterns are SCALE-Sim's.
* The filter is padded to a multiple of ``2B`` rows and compressed two blocks of ``B`` at a
  time into ``B / 2`` slots each: ``ceil(window / 2B) * B`` rows, kept values first and
  empty slots after. The array runs that compressed filter as a dense WS GEMM of
  ``pixels x rows x filters``: folds, cycles, filter SRAM reads, ofmap writes and compute
  utilisation are that GEMM's, whatever the draws.
* The ifmap is not reduced. A row fold streams ``2 * rows`` window columns, cut into blocks
  of ``B``, each sent to ``B / 2`` array rows, each copy skewed one row further:
  :func:`ifmap_fold` builds that ``(pixels + rows - 1) x rows * B`` demand. DRAM reads are
  the buffers' walk of the real demand (:func:`walk_demand`).
* Mapping efficiency counts the kept values each fold maps (the draws decide it).

SCALE-Sim crashes on OS and IS (its operand shapes no longer agree) and when ``B`` does not
divide ``2 * rows``; hwloop refuses those with one line. Where hwloop departs from SCALE-Sim
(which it matches under ``scalesim_compat``):

* ifmap SRAM reads: SCALE-Sim counts the whole skewed demand, idle slots included
  (``(pixels + rows - 1) * rows * B`` per fold); hwloop counts the words read, each window
  input once per array row it feeds: ``col_folds * pixels * window * B / 2``.
* ``overall_util`` and ``macs``: SCALE-Sim divides the dense MACs by the cycles; hwloop
  counts the MACs of the kept weights.
* Filter metadata: SCALE-Sim's ELLPACK counts ``ceil(log2 M)`` bits (``M`` of the layer's own
  ratio, 0 bits without one) per compressed slot, in 32-bit words; hwloop counts
  ``ceil(log2 B)`` bits per kept value (:func:`metadata_bits`), in bits.
"""
from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np

from hwloop.arch import Accelerator, Dataflow, Dram, Sram
from hwloop.sim.memory import MemoryEvents, collect_events, time_layer_events
from hwloop.sim.schedule import DemandChunk, array_schedule, iter_demand
from hwloop.traces import InputError, Layer

from ._sparse import metadata_bits
from ._widths import layer_bits, packed

#: Counters of one channel group that a layer of ``groups`` groups repeats.
PER_GROUP = ("total_cycles", "stall_cycles", "macs", "ifmap_sram_reads", "filter_sram_reads",
             "ofmap_sram_writes", "ofmap_sram_reads", "dram_ifmap_reads", "dram_filter_reads",
             "dram_ofmap_writes")


def row_draws(filters: int, block: int, seed: int) -> np.ndarray:
    """Each filter's N as SCALE-Sim draws it: seeded once per layer, one ``randint`` per
    filter (NumPy's legacy generator, whose stream NumPy keeps fixed)."""
    state = np.random.RandomState(seed)
    return np.array([state.randint(1, block // 2 + 1) for _ in range(filters)], dtype=np.int64)


def compressed_filter(window: int, draws: np.ndarray, block: int) -> np.ndarray:
    """SCALE-Sim's compressed filter operand: ``ceil(window / 2B) * B`` rows by filters of
    filter addresses (``f * window + position``), -1 in the empty slots."""
    half = block // 2
    blocks = 2 * math.ceil(window / (2 * block))
    out = np.full((blocks * block // 2, draws.size), -1, dtype=np.int64)
    b, s = np.meshgrid(np.arange(blocks), np.arange(half), indexing="ij")
    position = (b * block + s).ravel()
    slot = (b * half + s).ravel()
    keep = (s.ravel()[:, None] < draws[None, :]) & (position < window)[:, None]
    address = np.arange(draws.size)[None, :] * window + position[:, None]
    out[slot] = np.where(keep, address, -1)
    return out


def ifmap_operand(layer: Layer) -> np.ndarray:
    """One channel group's ``pixels x window`` ifmap addresses (SCALE-Sim's, channel fastest;
    -1 past the input's edge)."""
    channels = layer.channel_group
    pixel = np.arange(layer.ofmap_pixels)
    base_h, base_w = pixel // layer.ofmap_w * layer.stride_h, pixel % layer.ofmap_w * layer.stride_w
    position = np.arange(layer.filter_h * layer.filter_w * channels)
    tap_h, rest = np.divmod(position, layer.filter_w * channels)
    tap_w, channel = np.divmod(rest, channels)
    h = base_h[:, None] + tap_h[None, :] * layer.dilation_h
    w = base_w[:, None] + tap_w[None, :] * layer.dilation_w
    inside = (h < layer.ifmap_h) & (w < layer.ifmap_w)
    return np.where(inside, (h * layer.ifmap_w + w) * channels + channel[None, :], -1)


def ifmap_fold(ifmap: np.ndarray, fold: int, rows: int, block: int) -> np.ndarray:
    """Row fold ``fold``'s ifmap demand without its gaps: ``2 * rows`` window columns in
    blocks of ``B``, each block copied to ``B / 2`` slots, slot ``j`` skewed ``j`` rows."""
    pixels = ifmap.shape[0]
    part = np.full((pixels, 2 * rows), -1, dtype=np.int64)
    columns = ifmap[:, 2 * rows * fold: 2 * rows * (fold + 1)]
    part[:, :columns.shape[1]] = columns
    half = block // 2
    slots = 2 * rows // block * half
    out = np.full((pixels + rows - 1, slots * block), -1, dtype=np.int64)
    for j in range(slots):
        n = min(pixels, pixels + rows - 1 - j)
        source = j // half * block
        out[j:j + n, j * block:(j + 1) * block] = part[:n, source:source + block]
    return out


def filter_fold(compressed: np.ndarray, fold: tuple[int, int], rows: int, cols: int) -> np.ndarray:
    """Fold ``(col fold, row fold)``'s ``rows x cols`` tile of the compressed filter, padded
    with -1 and loaded bottom row first (SCALE-Sim's WS filter demand)."""
    fc, fr = fold
    tile = np.full((rows, cols), -1, dtype=np.int64)
    part = compressed[fr * rows:(fr + 1) * rows, fc * cols:(fc + 1) * cols]
    tile[:part.shape[0], :part.shape[1]] = part
    return tile[::-1]


def compressed_gemm(layer: Layer, block: int) -> Layer:
    """The dense WS GEMM the array runs: ``pixels x filters`` over the compressed rows."""
    pixels, filters, window = layer.gemm_mnk
    return Layer.gemm(layer.name or "rows", pixels, filters,
                      math.ceil(window / (2 * block)) * block)


def _fold_chunks(layer: Layer, array, block: int, compressed: np.ndarray):
    """One demand chunk per fold: the row-wise ifmap and filter demand, and the compressed
    GEMM's ofmap demand (the same rows)."""
    sched = array_schedule(compressed_gemm(layer, block), array)
    rows, cols, pixels = array.rows, array.cols, sched.temporal
    fold_rows = 2 * rows + cols + pixels - 2
    assert sched.rows_per_fold == fold_rows, (sched.rows_per_fold, fold_rows)
    ifmap = ifmap_operand(layer)
    width = 2 * rows // block * (block // 2) * block
    gap_before = np.full((rows, width), -1, dtype=np.int64)
    gap_after = np.full((cols - 1, width), -1, dtype=np.int64)
    filter_gap = np.full((fold_rows - rows, cols), -1, dtype=np.int64)
    for index, chunk in enumerate(iter_demand(sched, chunk_rows=fold_rows)):
        fc, fr = divmod(index, sched.row_folds)
        demand = np.concatenate((gap_before, ifmap_fold(ifmap, fr, rows, block), gap_after))
        weights = np.concatenate((filter_fold(compressed, (fc, fr), rows, cols), filter_gap))
        yield DemandChunk(chunk.row0, demand.astype(np.int32), weights.astype(np.int32),
                          chunk.ofmap)


@functools.lru_cache(maxsize=64)
def walk_demand(layer: Layer, array, sram: Sram, block: int, seed: int) -> MemoryEvents:
    """The buffers' walk of one channel group's row-wise demand (remembered per shape)."""
    pixels, filters, window = layer.gemm_mnk
    compressed = compressed_filter(window, row_draws(filters, block, seed), block)
    sched = array_schedule(compressed_gemm(layer, block), array)
    width = 2 * array.rows // block * (block // 2) * block
    ifmap_words = layer.ifmap_h * layer.ifmap_w * layer.channel_group
    demands = (sched.folds * sched.rows_per_fold * width, compressed.size,
               sched.ofmap_sram_writes)
    return collect_events(_fold_chunks(layer, array, block, compressed), sram,
                          last_row=sched.demand_rows - 1,
                          max_addresses=(ifmap_words, window * filters), max_demands=demands)


def check_row_wise(accel: Accelerator, *, scalesim_compat: bool) -> None:
    """Refuse what SCALE-Sim's row-wise mapping has no answer for, with one line."""
    array, block = accel.array, accel.sparsity.block_size
    if array.kind != "systolic":
        raise InputError("row-wise N:M is SCALE-Sim's systolic mapping; use --array-kind "
                         "systolic", field="sparse_row_wise")
    if array.dataflow is not Dataflow.WS:
        raise InputError("row-wise N:M maps weight-stationary only (SCALE-Sim 3.0.0 crashes "
                         "on OS and IS); use --dataflow ws", field="dataflow")
    if block > array.rows or (2 * array.rows) % block:
        raise InputError(f"block size {block} must be at most the array's {array.rows} rows "
                         "and divide twice them (SCALE-Sim asserts the first and crashes "
                         "without the second)", field="sparse_block")
    if accel.dram.finite and scalesim_compat:
        raise InputError("SCALE-Sim's fixed-bandwidth (USER mode) replica has no row-wise "
                         "N:M; drop --scalesim-compat", field="sparse_row_wise")


def row_wise_row(layer: Layer, accel: Accelerator, *, scalesim_compat: bool) -> dict:
    """``layer``'s counters under SCALE-Sim's row-wise N:M (see the module docstring)."""
    from ._systolic import simulate_systolic_layer

    check_row_wise(accel, scalesim_compat=scalesim_compat)
    accel = packed(accel, *layer_bits(layer, accel))
    block, seed = accel.sparsity.block_size, accel.sparsity.seed
    pixels, filters, window = layer.gemm_mnk
    draws = row_draws(filters, block, seed)
    compressed = compressed_filter(window, draws, block)
    gemm = compressed_gemm(layer, block)
    row = simulate_systolic_layer(gemm, replace(accel, dram=Dram()),
                                  scalesim_compat=scalesim_compat)
    events = walk_demand(replace(layer, name=""), accel.array, accel.sram, block, seed)
    if accel.dram.finite:
        run = time_layer_events(events, accel, layer.groups)
        row.update(run.fields, stall_cycles=run.timing.stall_cycles)
        row["total_cycles"] += run.timing.stall_cycles
    kept = int(sum(window // block * n + min(n, window % block) for n in draws))
    rows, cols = accel.array.rows, accel.array.cols
    row.update(name=layer.name, kind=layer.kind.value, macs=pixels * kept,
               dram_ifmap_reads=int(events.ifmap.words.sum()),
               dram_filter_reads=int(events.filter.words.sum()),
               mapping_eff=_mapping_eff(compressed, rows, cols))
    row["ifmap_sram_reads"] = (row["row_folds"] * row["col_folds"] * (pixels + rows - 1)
                               * (2 * rows // block * (block // 2) * block) if scalesim_compat
                               else row["col_folds"] * pixels * window * (block // 2))
    done = pixels * filters * window if scalesim_compat else row["macs"]
    row["overall_util"] = 100.0 * done / (max(row["total_cycles"], 1) * rows * cols)
    for key in PER_GROUP:
        row[key] *= layer.groups
    bits = layer.groups * metadata_bits(accel.sparsity.representation, window, filters, kept,
                                        block)
    passes = row["dram_filter_reads"] / (kept * layer.groups)
    row.update(filter_metadata_bits=math.ceil(bits * passes), sparsity=f"row-wise:{block}")
    return row


def _mapping_eff(compressed: np.ndarray, rows: int, cols: int) -> float:
    """SCALE-Sim's mapping efficiency: per fold, the PEs holding a kept value, averaged."""
    row_folds, col_folds = -(-compressed.shape[0] // rows), -(-compressed.shape[1] // cols)
    held = np.zeros((row_folds * rows, col_folds * cols), dtype=np.int64)
    held[:compressed.shape[0], :compressed.shape[1]] = compressed >= 0
    per_fold = held.reshape(row_folds, rows, col_folds, cols).sum(axis=(1, 3))
    return 100.0 * float(per_fold.mean()) / (rows * cols)
