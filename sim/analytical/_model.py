"""An analytical (roofline) model of the systolic hardware the cycle-level engine simulates.

Closed form per layer, vectorised with NumPy over any number of (layer, array) pairs:

* **Compute** cycles are the engine's own stall-free count, from SCALE-Sim's fold structure
  (:func:`hwloop.sim.fold_plan`): ``groups x (folds x rows_per_fold - 1)``. Exact.
* **SRAM** reads and ofmap writes are the engine's closed forms (``_sram_traffic``). Exact.
* **DRAM** traffic is estimated the way ZigZag and Timeloop estimate it, not walked: each
  read operand's unique words times a refetch factor set by whether its working set fits
  the active half of its buffer (see :func:`_read_fetches`); ofmap writes are the SRAM
  ofmap writes (every row fold's partial sums leave, as in the engine).
* **Memory** cycles per port are ``words / bandwidth`` plus the DRAM latency once per
  double-buffer block, for the words after the first block (prefetched before compute
  starts; the engine counts from the first compute cycle) and, for ofmap writes, the
  halves of the buffer that must drain before the array reuses them, from the moment the
  first is full (writes are posted); ports run in parallel. **Latency** is the roofline
  ``max(compute, memory)``,
  plus, if asked, the prefetch of the first block (the engine reports that apart, in
  ``prefetch_cycles``, and leaves it out of ``total_cycles``).
* **Energy** prices these counters with the accelerator's energy table by the formulas of
  ``sim/arrays/_energy.py`` (:func:`analytical_energy`).

What it cannot see (``benchmarks/results/validate_analytical.txt`` measures it): the engine's
read buffers hold one block in use and one in flight, so demand that bunches up (fold
starts) stalls even when the average bandwidth suffices; and ifmap reuse between sliding
windows depends on the exact demand order, which a fits/does-not-fit rule approximates.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hwloop.arch import Accelerator, EnergyTable
from hwloop.sim.arrays import layer_bits, packed
from hwloop.sim.schedule import DATAFLOW_CODE, fold_arrays, traffic_arrays
from hwloop.traces import InputError, Layer, Network

#: Dataflow codes of the vectorised inputs (the schedule's).
DATAFLOW_CODES = DATAFLOW_CODE
#: Columns of :func:`analytical_model` (besides ``name``), in order.
COLUMNS = ("compute_cycles", "memory_cycles", "total_cycles", "prefetch_cycles", "macs",
           "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "dram_ifmap_reads",
           "dram_filter_reads", "dram_ofmap_writes", "energy_pj")
#: Input rows of reuse a buffer turnover loses per output row a fold spans (OS, IS), and the
#: largest share of a window it may lose: fitted to the engine (ResNet-18, 8..128 arrays).
LOSS_ROWS_PER_OUTPUT_ROW = 0.4
MAX_LOST_SHARE = 0.9
#: Vectorised inputs of :func:`analytical_arrays`, all broadcast together.
INPUTS = ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channel_group", "num_filters",
          "stride_h", "stride_w", "groups", "rows", "cols", "dataflow", "ifmap_words",
          "filter_words", "ofmap_words", "active_fraction", "ifmap_bw", "filter_bw",
          "ofmap_bw", "latency")
#: Inputs that may be left out (default 1): PyTorch-style dilation of the filter taps.
OPTIONAL_INPUTS = ("dilation_h", "dilation_w")


def _cdiv(a, b):
    return -(-a // b)


def _repeated_run(run, passes, first, later):
    """DRAM fetches of a stream that cycles ``passes`` times through ``run`` distinct words
    in a buffer whose windows hold ``first`` then ``later`` words (the engine's closed form
    for such streams, ``kernels/_distinct_stream``): once if a window holds the run, else
    every pass."""
    total = run * passes
    return np.where(first > run, run,
                    np.where(later > run, first + np.minimum(run, total - first), total))


def _covered(size, filt, stride, outputs):
    """Input positions along one axis that some window covers (strides may skip some)."""
    return np.minimum(size, (outputs - 1) * np.minimum(stride, filt) + filt)


def _read_fetches(g: dict, plan, pixels, window, ifmap_reads, first, later):
    """Estimated DRAM words fetched per channel group: (ifmap, filter).

    Filter: a run of ``window x filters`` words (``window x cols`` per column fold in OS)
    read once per pass over it (OS: per row fold; IS: per column fold; WS: once).
    Ifmap: ``unique`` touched words. Windows that do not overlap form such a run, read once
    per column fold (OS, WS) or once (IS). Overlapping windows are fetched once if the
    whole input fits the first window; otherwise, per pass, OS and IS fetch ``unique``
    words plus what each buffer turnover loses of the reuse in flight (see below), and WS,
    whose row folds are window chunks each streaming every pixel, fetches each fold's
    footprint afresh: ``row_folds x unique``. Never more than the demand itself.
    """
    sr, sc, t, row_folds, col_folds, _ = plan
    rows, df = g["rows"], g["dataflow"]
    os_, is_ = df == 0, df == 2
    f_first, f_later = first["filter"], later["filter"]
    filt_run = window * np.where(os_, np.minimum(g["cols"], g["num_filters"]), g["num_filters"])
    filt_passes = np.where(os_, row_folds, np.where(is_, col_folds, 1))
    filter_fetch = _repeated_run(filt_run, filt_passes, f_first, f_later) * np.where(
        os_, col_folds, 1)
    # OS: column folds share the window, so a run that fits alone may not fit in what is
    # left; in steady state each turnover costs a whole window per ceil(F / run) - 1 runs.
    shared = os_ & (row_folds > 1) & (col_folds > 1) & (filt_run < f_first)
    per_cycle = np.maximum(_cdiv(f_first, np.maximum(filt_run, 1)) - 1, 1)
    carried = filt_run + (col_folds - 1) * f_first / per_cycle
    filter_fetch = np.where(shared, np.minimum(np.ceil(carried).astype(np.int64),
                                               filt_run * filt_passes * col_folds), filter_fetch)

    ofmap_h, ofmap_w = g["ofmap_h"], g["ofmap_w"]
    cov_h = _covered(g["ifmap_h"], g["span_h"], g["stride_h"], ofmap_h)
    cov_w = _covered(g["ifmap_w"], g["span_w"], g["stride_w"], ofmap_w)
    unique = cov_h * cov_w * g["channel_group"]
    i_first, i_later = first["ifmap"], later["ifmap"]
    passes = np.where(is_, 1, col_folds)
    distinct = _repeated_run(unique, passes, i_first, i_later)
    overlap = (((ofmap_w > 1) & (g["stride_w"] < g["span_w"]))
               | ((ofmap_h > 1) & (g["stride_h"] < g["span_h"])))
    per_pass = ifmap_reads // passes
    # OS and IS: each turnover of the ifmap window (SCALE-Sim's buffer drops every resident
    # word) loses the words the next demand would have reused: the (filter_h - stride_h)
    # input rows two output rows share, plus part of the band a fold's pixels span (0.4 of
    # an input row per output row a fold covers: fitted to the engine on ResNet-18 layers).
    fold_pixels = np.where(os_, np.minimum(rows, pixels), np.minimum(g["cols"], pixels))
    out_rows = fold_pixels / np.maximum(ofmap_w, 1)
    line = g["ifmap_w"] * g["channel_group"]
    lost = (np.maximum(g["span_h"] - g["stride_h"], 0) + LOSS_ROWS_PER_OUTPUT_ROW * out_rows) * line
    share = np.minimum(MAX_LOST_SHARE, lost / np.maximum(i_later, 1))
    streamed = np.minimum(per_pass, np.ceil(unique / (1 - share)).astype(np.int64))
    chunked = np.minimum(per_pass, row_folds * unique)  # WS: window chunks, all pixels each
    refetched = passes * np.where(df == 1, chunked, streamed)
    ifmap_fetch = np.where(~overlap, distinct, np.where(unique < i_first, unique, refetched))
    return ifmap_fetch, filter_fetch


def analytical_arrays(**inputs) -> dict[str, np.ndarray]:
    """The model on NumPy arrays (any shapes that broadcast together); see :data:`INPUTS`.

    Per layer: ``ifmap_h .. stride_w`` as :class:`~hwloop.traces.Layer` (``channel_group``:
    input channels one filter reads) and ``groups`` (channel groups run one after another);
    per array: ``rows``, ``cols``, ``dataflow`` (0 OS, 1 WS, 2 IS), buffer sizes in words,
    ``active_fraction``, port bandwidths in words per cycle (``np.inf``: unlimited) and DRAM
    ``latency`` in cycles. Returns the :data:`COLUMNS` except ``energy_pj`` (see
    :func:`analytical_energy`), as int64 arrays (cycles as float64 where bandwidth-bound).
    """
    g = _broadcast_inputs(inputs)
    pixels = g["ofmap_h"] * g["ofmap_w"]
    filters = g["num_filters"]
    window = g["filter_h"] * g["filter_w"] * g["channel_group"]
    plan = fold_arrays(pixels, filters, window, g["rows"], g["cols"], g["dataflow"])
    _, _, _, row_folds, col_folds, per_fold = plan
    compute = row_folds * col_folds * per_fold - 1
    ifmap_reads, filter_reads, ofmap_writes = traffic_arrays(pixels, filters, window, row_folds,
                                                             col_folds, g["dataflow"])
    active_sets = np.round(np.round(g["active_fraction"], 2) * 100).astype(np.int64)
    first = {op: active_sets * (g[f"{op}_words"] // 100) for op in ("ifmap", "filter")}
    later = {op: (100 - active_sets) * (g[f"{op}_words"] // 100) for op in ("ifmap", "filter")}
    ifmap_fetch, filter_fetch = _read_fetches(g, plan, pixels, window, ifmap_reads, first, later)
    memory, prefetch = _memory_cycles(g, compute, (ifmap_fetch, filter_fetch), ofmap_writes,
                                      first, later)
    groups = g["groups"]
    total = np.maximum(compute.astype(np.float64), np.ceil(memory))
    return {
        "compute_cycles": groups * compute,
        "memory_cycles": groups * memory,
        "total_cycles": groups * total,
        "prefetch_cycles": prefetch,
        "macs": groups * pixels * filters * window,
        "ifmap_sram_reads": groups * ifmap_reads,
        "filter_sram_reads": groups * filter_reads,
        "ofmap_sram_writes": groups * ofmap_writes,
        "dram_ifmap_reads": groups * ifmap_fetch,
        "dram_filter_reads": groups * filter_fetch,
        "dram_ofmap_writes": groups * ofmap_writes,
    }


def _broadcast_inputs(inputs: dict) -> dict[str, np.ndarray]:
    """The inputs checked and broadcast together, with the output size of each axis."""
    inputs = {"dilation_h": 1, "dilation_w": 1, **inputs}
    missing = [name for name in INPUTS if name not in inputs]
    unknown = [name for name in inputs if name not in (*INPUTS, *OPTIONAL_INPUTS)]
    if missing or unknown:
        raise TypeError(f"analytical_arrays: missing {missing}, unknown {unknown}")
    names = (*INPUTS, *OPTIONAL_INPUTS)
    arrays = np.broadcast_arrays(*(np.asarray(inputs[name]) for name in names))
    g = {name: (a.astype(np.float64) if name in ("ifmap_bw", "filter_bw", "ofmap_bw",
                                                  "active_fraction")
                else a.astype(np.int64)) for name, a in zip(names, arrays)}
    g["span_h"] = g["dilation_h"] * (g["filter_h"] - 1) + 1
    g["span_w"] = g["dilation_w"] * (g["filter_w"] - 1) + 1
    g["ofmap_h"] = _cdiv(g["ifmap_h"] - g["span_h"] + g["stride_h"], g["stride_h"])
    g["ofmap_w"] = _cdiv(g["ifmap_w"] - g["span_w"] + g["stride_w"], g["stride_w"])
    return g


def _memory_cycles(g: dict, compute, fetches, ofmap_writes, first: dict,
                   later: dict) -> tuple[np.ndarray, np.ndarray]:
    """(cycles the busiest DRAM port needs, prefetch cycles before compute)."""
    latency = g["latency"].astype(np.float64)
    port_cycles = []
    prefetch = np.zeros(compute.shape)
    for op, words in zip(("ifmap", "filter"), fetches):
        # block 0 (the active half) is prefetched before the first compute cycle, which
        # the engine's total_cycles leaves out; every later block is requested once its
        # predecessor starts being used, so each exposes the DRAM latency once
        bw = g[f"{op}_bw"]
        finite = np.isfinite(bw)
        block = np.maximum(np.minimum(first[op], later[op]), 1)
        streamed = np.maximum(words - first[op], 0)
        cycles = streamed / bw + _cdiv(streamed, block) * latency
        port_cycles.append(np.where(finite, cycles, 0.0))
        head = np.minimum(words, first[op])
        prefetch = np.maximum(prefetch, np.where(finite & (words > 0),
                                                 np.ceil(head / bw) - 1 + latency, 0.0))
    # writes are posted, but the array may not write into a half of the ofmap buffer
    # before the half's previous contents have left: every half but the last two must
    # drain, starting once the first one is full
    half = np.maximum(np.ceil(g["ofmap_words"] * g["active_fraction"]), 1)
    drained = np.maximum(np.ceil(ofmap_writes / half) - 2, 0) * half
    first_full = compute * np.minimum(half / np.maximum(ofmap_writes, 1), 1.0)
    ofmap_cycles = np.where(drained > 0, first_full + drained / g["ofmap_bw"], 0.0)
    port_cycles.append(np.where(np.isfinite(g["ofmap_bw"]), ofmap_cycles, 0.0))
    return np.maximum.reduce(port_cycles), prefetch


def analytical_energy(est: dict, table: EnergyTable, *, weight_bits, act_bits, ifmap_kb,
                      filter_kb, ofmap_kb, num_pes, clock_ghz, dataflow) -> np.ndarray:
    """Energy (pJ) of :func:`analytical_arrays`'s counters, by ``sim/arrays/_energy.py``'s formulas
    (MACs, registers, SRAM both sides, DRAM, leakage over the layer's cycles)."""
    w, a = np.asarray(weight_bits, dtype=np.float64), np.asarray(act_bits, dtype=np.float64)
    macs = est["macs"].astype(np.float64)
    weight_writes = np.where(dataflow == 1, est["filter_sram_reads"], macs)
    act_writes = np.where(dataflow == 2, est["ifmap_sram_reads"], macs)
    energy = (macs * table.mac_pj(w, a)
              + (macs + weight_writes) * w * table.rf_weight_pj_per_bit
              + (macs + act_writes) * a * table.rf_act_pj_per_bit
              + 2 * macs * (w + a) * table.rf_psum_pj_per_bit)
    traffic = (("ifmap", ifmap_kb, a, est["ifmap_sram_reads"], est["dram_ifmap_reads"]),
               ("filter", filter_kb, w, est["filter_sram_reads"], est["dram_filter_reads"]),
               ("ofmap", ofmap_kb, a, est["dram_ofmap_writes"], est["ofmap_sram_writes"]))
    for _, kib, bits, reads, writes in traffic:
        kib = np.asarray(kib, dtype=np.float64)
        energy = energy + bits * (reads * table.sram_pj_per_bit(kib)
                                  + writes * table.sram_pj_per_bit(kib, write=True))
    for (operand, _, bits, _, _), words in zip(traffic, (est["dram_ifmap_reads"],
                                                         est["dram_filter_reads"],
                                                         est["dram_ofmap_writes"])):
        per_bit = table.dram_write_pj_per_bit if operand == "ofmap" else table.dram_read_pj_per_bit
        energy = energy + 8 * np.ceil(words * bits / 8) * per_bit
    seconds = est["total_cycles"] / (np.asarray(clock_ghz, dtype=np.float64) * 1e9)
    leak_uw = (table.pe_leakage_uw * np.asarray(num_pes)
               + table.sram_leakage_uw_per_kib * (np.asarray(ifmap_kb) + np.asarray(filter_kb)
                                                  + np.asarray(ofmap_kb)))
    return energy + leak_uw * seconds * 1e6


def pair_inputs(layers: Sequence[Layer], accels: Sequence[Accelerator]) -> dict[str, np.ndarray]:
    """:func:`analytical_arrays`'s inputs (plus energy inputs) for each (layer, accel) pair."""
    cols: dict[str, list] = {name: [] for name in (*INPUTS, *OPTIONAL_INPUTS, "weight_bits", "act_bits",
                                                   "ifmap_kb", "filter_kb", "ofmap_kb",
                                                   "num_pes", "clock_ghz")}
    for layer, accel in zip(layers, accels, strict=True):
        _check_supported(accel)
        w, a = layer_bits(layer, accel)
        sram, dram = packed(accel, w, a).sram, accel.dram
        bws = [math.inf if bw is None else float(bw) for bw in dram.port_bandwidths()]
        if not dram.finite:
            bws = [math.inf] * 3
        values = {"dilation_h": getattr(layer, "dilation_h", 1),
                  "dilation_w": getattr(layer, "dilation_w", 1), "ifmap_h": layer.ifmap_h,
                  "ifmap_w": layer.ifmap_w,
                  "filter_h": layer.filter_h, "filter_w": layer.filter_w,
                  "channel_group": layer.channel_group, "num_filters": layer.num_filters,
                  "stride_h": layer.stride_h, "stride_w": layer.stride_w,
                  "groups": layer.groups, "rows": accel.array.rows, "cols": accel.array.cols,
                  "dataflow": DATAFLOW_CODES[accel.array.dataflow],
                  "ifmap_words": sram.words("ifmap"), "filter_words": sram.words("filter"),
                  "ofmap_words": sram.words("ofmap"), "active_fraction": sram.active_fraction,
                  "ifmap_bw": bws[0], "filter_bw": bws[1], "ofmap_bw": bws[2],
                  "latency": dram.latency_cycles, "weight_bits": w, "act_bits": a,
                  "ifmap_kb": sram.ifmap_kb, "filter_kb": sram.filter_kb,
                  "ofmap_kb": sram.ofmap_kb, "num_pes": accel.array.num_pes,
                  "clock_ghz": accel.clock_ghz}
        for name, value in values.items():
            cols[name].append(value)
    return {name: np.asarray(values) for name, values in cols.items()}


def analytical_pairs(layers: Sequence[Layer], accels: Sequence[Accelerator],
                     table: EnergyTable | None = None) -> dict[str, np.ndarray]:
    """The model for each (layer, accel) pair: :data:`COLUMNS` as arrays. ``energy_pj`` is
    priced with ``table`` (default: the first accelerator's; all must share it)."""
    layers, accels = list(layers), list(accels)
    if not layers:
        return {name: np.zeros(0) for name in COLUMNS}
    inputs = pair_inputs(layers, accels)
    est = analytical_arrays(**{name: inputs[name] for name in (*INPUTS, *OPTIONAL_INPUTS)})
    if table is None:
        tables = {accel.energy for accel in accels}
        if len(tables) > 1:
            raise InputError("the accelerators use different energy tables; price them "
                             "apart", field="energy")
        table = accels[0].energy
    est["energy_pj"] = analytical_energy(
        est, table, **{name: inputs[name] for name in ("weight_bits", "act_bits", "ifmap_kb",
                                                       "filter_kb", "ofmap_kb", "num_pes",
                                                       "clock_ghz", "dataflow")})
    return est


def analytical_model(network: Network | Layer, accel: Accelerator, *,
                     include_prefetch: bool = False):
    """Per-layer analytical estimates of ``network`` on ``accel``: a pandas DataFrame with
    ``name`` and :data:`COLUMNS` (``total_cycles`` is the predicted latency; with
    ``include_prefetch`` it also counts the first block's prefetch)."""
    import pandas as pd

    layers = (network,) if isinstance(network, Layer) else network.layers
    est = analytical_pairs(layers, [accel] * len(layers))
    if include_prefetch:
        est["total_cycles"] = est["total_cycles"] + est["prefetch_cycles"]
    frame = pd.DataFrame({"name": [layer.name for layer in layers],
                          **{name: est[name] for name in COLUMNS}})
    return frame


def _check_supported(accel: Accelerator) -> None:
    if accel.array.kind != "systolic":
        raise InputError(f"the analytical model covers plain systolic arrays, not "
                         f"{accel.array.kind!r}", field="array_kind")
    if accel.dram.model is not None:
        raise InputError("the analytical model times DRAM as fixed-bandwidth ports; drop the "
                         "DRAM device model", field="model")
