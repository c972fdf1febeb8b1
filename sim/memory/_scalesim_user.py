"""SCALE-Sim v3's fixed-bandwidth (``USER``) mode, reproduced exactly, defect included.

:func:`simulate_scalesim_user` replays one layer's demand matrices (from
:func:`hwloop.sim.schedule.iter_demand`) through Numba replicas of SCALE-Sim's read buffers
(``memory/read_buffer.py``) and write buffer (``memory/write_buffer.py``), row by row as
``double_buffered_scratchpad.service_memory_requests`` does. It exists to reproduce and to
measure SCALE-Sim's published ``USER``-mode numbers, not as hwloop's own memory model.

SCALE-Sim settings and their hwloop sources:

* read bandwidths (``IfmapSRAMBankBandwidth``/``FilterSRAMBankBandwidth``) and the ofmap
  drain bandwidth (``Bandwidth``): ``accel.dram.port_bandwidths()`` (ifmap, filter, ofmap);
* buffer sizes ``accel.sram.words(op)``; active fraction ``accel.sram.active_fraction``
  (SCALE-Sim hard-wires 0.5; the read buffers round it to two decimals, the write buffer
  does not);
* DRAM latency: SCALE-Sim's read port answers after 1 cycle and its write port after 0,
  hard-wired; ``accel.dram.latency_cycles`` and ``accel.dram.model`` are not used.

The read buffer's defect: ``service_reads`` adds each prefetch's ``potential_stall_cycles``
to the row's offset unconditionally and again when it is positive, so a positive stall
counts twice and a negative one (a prefetch that landed early) is subtracted.
``fix_stall_defect=True`` adds a positive one once and ignores a negative one.

A depthwise layer runs one channel group; counts and cycles are multiplied by the groups,
as SCALE-Sim's per-channel expansion sums; DRAM start/stop cycles are one group's.
"""
from __future__ import annotations

import math

import numpy as np

from hwloop.arch import Accelerator
from hwloop.sim.kernels import scalesim_user as k
from hwloop.sim.schedule import array_schedule, check_layer_fits, geometry, iter_demand
from hwloop.traces import InputError, Layer

_OPERANDS = ("ifmap", "filter")
_ERRORS = {k.ERR_NEVER_HIT: "a demanded word is in no prefetch set the window reaches "
                            "(SCALE-Sim would loop forever)",
           k.ERR_EMPTY_DRAIN: "the ofmap buffer drained an empty batch (SCALE-Sim would fail)"}


def simulate_scalesim_user(layer: Layer, accel: Accelerator, *,
                           fix_stall_defect: bool = False) -> dict:
    """Per-layer counters of SCALE-Sim v3 in ``USER`` mode (fixed DRAM bandwidths).

    Returns plain Python ints: ``total_cycles``, ``stall_cycles``, ``compute_cycles``,
    ``total_cycles_incl_prefetch`` (ofmap DRAM stop minus the first read's DRAM start),
    ``dram_{ifmap,filter}_reads``, ``dram_ofmap_writes``, ``dram_{op}_{start,stop}`` and
    ``{ifmap,filter}_prefetches`` (read-buffer turnovers), plus ``name``.
    """
    bandwidths = accel.dram.port_bandwidths()
    for op, bw in zip(("ifmap", "filter", "ofmap"), bandwidths):
        if bw is None:
            raise InputError(f"SCALE-Sim's USER mode needs a fixed {op} DRAM bandwidth",
                             field=f"{op}_bandwidth")
    check_layer_fits(layer)
    array, sram = accel.array, accel.sram
    plan = array_schedule(layer, array)
    code = plan.code
    reads = [_read_buffer(layer, accel, code, op, bw) for op, bw in zip((0, 1), bandwidths)]
    w_cfg, w_st, lines = _write_buffer(sram.words("ofmap"), sram.active_fraction,
                                       bandwidths[2], plan.ofmap_demand_words)
    run = np.zeros(3, dtype=np.int64)
    fix = int(bool(fix_stall_defect))
    for chunk in iter_demand(plan):
        err = k.replay_rows(chunk.row0, chunk.ifmap, chunk.filter, chunk.ofmap, fix,
                             *reads[0][:5], *reads[1][:5], w_cfg, w_st, lines, run)
        if err != k.OK:
            raise InputError(f"layer {layer.name!r}: {_ERRORS[err]}", field="layer")
    k.drain_all(run[k.S_LAST_OUT], w_cfg, w_st, lines)

    groups = layer.groups
    result = {"name": layer.name,
              "total_cycles": groups * int(run[k.S_MAX_OUT]),
              "stall_cycles": groups * int(run[k.S_STALLS]),
              "compute_cycles": groups * (plan.demand_rows - 1)}
    for op, (*_, st, start) in zip(_OPERANDS, reads):
        result[f"dram_{op}_reads"] = groups * int(st[k.S_READS])
        result[f"{op}_prefetches"] = groups * int(st[k.S_PREFETCHES])
        result[f"dram_{op}_start"] = start
        result[f"dram_{op}_stop"] = int(st[k.S_LAST])
    result["dram_ofmap_writes"] = groups * int(w_st[k.S_WRITES])
    result["dram_ofmap_start"] = int(w_st[k.S_FIRST])
    result["dram_ofmap_stop"] = int(w_st[k.S_STOP])
    first_read = min(result["dram_ifmap_start"], result["dram_filter_start"])
    result["total_cycles_incl_prefetch"] = groups * (result["dram_ofmap_stop"] - first_read)
    return result


def prefetch_shape(code: int, op: int, rows: int, cols: int, pixels: int, filters: int,
                   window: int) -> tuple[int, int, bool]:
    """(rows, cols, diagonal order) of SCALE-Sim's prefetch matrix for ``op`` (0 ifmap, 1 filter).

    Fold tiles padded to the array edge are stacked vertically; SCALE-Sim then reads the
    matrix by anti-diagonals, except WS filters and IS ifmaps, which it reads row by row.
    """
    if code == 0:
        if op == 0:
            return math.ceil(pixels / rows) * window, rows, True
        return math.ceil(filters / cols) * window, cols, True
    if code == 1:
        if op == 0:
            return math.ceil(window / rows) * pixels, rows, True
        return math.ceil(filters / cols) * window, cols, False
    if op == 0:
        return math.ceil(pixels / cols) * window, cols, False
    return math.ceil(window / rows) * filters, rows, True


def _read_buffer(layer: Layer, accel: Accelerator, code: int, op: int, bw: int) -> tuple:
    """(CSR offsets, set ids, ids per address, config, state, DRAM start cycle) of one buffer."""
    rows, cols = accel.array.rows, accel.array.cols
    g = geometry(layer)
    pixels, filters, window = layer.gemm_mnk
    m, n, diagonal = prefetch_shape(code, op, rows, cols, pixels, filters, window)
    words = accel.sram.words(_OPERANDS[op])
    active = int(math.ceil(words * round(accel.sram.active_fraction, 2)))
    prefetch = words - active
    per_set = math.ceil(words / 100)
    space = (layer.ifmap_h * layer.ifmap_w * layer.channel_group if op == 0
             else filters * window)
    ptr = np.zeros(space + 1, dtype=np.int64)
    ids = np.empty(0, dtype=np.int32)
    used = np.zeros(space, dtype=np.int32)
    k.assign_sets(code, op, rows, cols, g, m, n, diagonal, per_set, 0, ptr, ids, used)
    np.cumsum(ptr, out=ptr)
    ids = np.empty(int(ptr[-1]), dtype=np.int32)
    sets = k.assign_sets(code, op, rows, cols, g, m, n, diagonal, per_set, 1, ptr, ids, used)
    active_sets = min(math.ceil(active / per_set), sets)
    prefetch_sets = min(math.ceil(prefetch / per_set), sets - active_sets)
    cfg = np.array([active_sets, prefetch_sets, sets, math.ceil(prefetch / bw), bw],
                   dtype=np.int64)
    first_lines = min(math.ceil(active / bw), math.ceil(m * n / bw))  # prefetch_active_buffer
    state = np.array([0, active_sets, -1, first_lines * bw, 0], dtype=np.int64)
    return ptr, ids, used, cfg, state, -first_lines


def _write_buffer(words: int, active_fraction: float, bw: int,
                  valid_writes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(config, state, line fills) of SCALE-Sim's ofmap write buffer."""
    active = int(math.ceil(words * active_fraction))
    cfg = np.array([bw, words, active, math.ceil((words - active) / bw)], dtype=np.int64)
    state = np.zeros(9, dtype=np.int64)
    state[k.S_FREE] = words
    return cfg, state, np.zeros(valid_writes + 1, dtype=np.int32)

