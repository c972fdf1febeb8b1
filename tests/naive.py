"""A slow, obviously-correct reference model of one layer in SCALE-Sim v3 (stall-free CALC mode).

This file is deliberately naive: it BUILDS every matrix SCALE-Sim builds and replays them
element by element, so that the fast closed-form/Numba model in ``hwloop.sim`` can be checked
against it on small layers. Nothing here is imported by hwloop; only the tests use it.

Steps, each following SCALE-Sim 3.0.0 (``compute/operand_matrix.py``,
``compute/systolic_compute_{os,ws,is}.py``, ``memory/read_buffer_estimate_bw.py``,
``memory/write_buffer.py``, ``memory/double_buffered_scratchpad_mem.py``):

1. Operand matrices. ifmap ``[pixel, window index]`` holds the input word address or -1 when
   the window element falls outside the input (the input is not a whole number of strides);
   filter ``[window index, filter] = filter * window + window index``; ofmap
   ``[pixel, filter] = pixel * filters + filter``.
2. Per-fold demand matrices for the dataflow (padding with -1, vertical flips, inter-fold gaps,
   diagonal skew), concatenated column folds outer, row folds inner.
3. Counters: SRAM traffic as SCALE-Sim counts it (slice sizes, so -1 window elements are
   reads); DRAM reads by replaying the ifmap/filter demand matrices, row by row and left to
   right, through a set-based estimate-bandwidth read buffer; (compat) DRAM ofmap writes and
   stall cycles by replaying the ofmap demand matrix through SCALE-Sim's write buffer.

A depthwise layer is simulated as one single-channel convolution; every count is then
multiplied by the number of channels (SCALE-Sim expands ``DP`` rows into one layer each).
"""
from __future__ import annotations

import math

import numpy as np

DATAFLOWS = ("os", "ws", "is")
WORDS_PER_KB = 1024  # one-byte words, as SCALE-Sim hard-wires
ACTIVE_FRACTION = 0.5  # SCALE-Sim hard-wires the active half of every buffer


# --------------------------------------------------------------------------------------------
# 1. Operand matrices
# --------------------------------------------------------------------------------------------

def output_size(size: int, filt: int, stride: int) -> int:
    """SCALE-Sim's output size: ceil((H - F + S) / S)."""
    return math.ceil((size - filt + stride) / stride)


def operand_matrices(ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride_h,
                     stride_w, dilation_h=1, dilation_w=1):
    """(ifmap [P, W], filter [W, F], ofmap [P, F]) address matrices, int64, -1 = no word.
    Dilation spaces the taps: tap ``dy`` reads input row ``top + dy * dilation_h``."""
    ofmap_h = output_size(ifmap_h, dilation_h * (filter_h - 1) + 1, stride_h)
    ofmap_w = output_size(ifmap_w, dilation_w * (filter_w - 1) + 1, stride_w)
    pixels = ofmap_h * ofmap_w
    window = filter_h * filter_w * channels
    ifmap = np.full((pixels, window), -1, dtype=np.int64)
    for p in range(pixels):
        out_row, out_col = divmod(p, ofmap_w)
        top, left = out_row * stride_h, out_col * stride_w
        for w in range(window):
            dy, rest = divmod(w, filter_w * channels)
            dx, ch = divmod(rest, channels)
            y, x = top + dy * dilation_h, left + dx * dilation_w
            if y < ifmap_h and x < ifmap_w:
                ifmap[p, w] = (y * ifmap_w + x) * channels + ch
    filt = np.empty((window, num_filters), dtype=np.int64)
    for w in range(window):
        for n in range(num_filters):
            filt[w, n] = n * window + w
    ofmap = np.empty((pixels, num_filters), dtype=np.int64)
    for p in range(pixels):
        for n in range(num_filters):
            ofmap[p, n] = p * num_filters + n
    return ifmap, filt, ofmap


# --------------------------------------------------------------------------------------------
# 2. Demand matrices
# --------------------------------------------------------------------------------------------

def _null(rows: int, cols: int) -> np.ndarray:
    return np.full((rows, cols), -1, dtype=np.int64)


def _pad(tile: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``tile`` in the top-left corner of a rows x cols matrix of -1."""
    out = _null(rows, cols)
    out[:tile.shape[0], :tile.shape[1]] = tile
    return out


def _skew(mat: np.ndarray) -> np.ndarray:
    """Column j delayed by j rows (systolic pipeline fill)."""
    rows, cols = mat.shape
    out = _null(rows + cols - 1, cols)
    for j in range(cols):
        out[j:j + rows, j] = mat[:, j]
    return out


def _stack(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate([p for p in parts if p.shape[0] > 0], axis=0)


def demand_matrices(ifmap, filt, ofmap, rows, cols, dataflow):
    """Demand matrices and the counters SCALE-Sim takes while building them.

    Returns a dict: ``ifmap``, ``filter``, ``ofmap`` (the concatenated demand matrices),
    ``ifmap_reads``, ``filter_reads``, ``ofmap_writes`` (valid words), ``ofmap_extra`` (OS's
    ``rows + cols`` per fold), ``mapping`` and ``compute`` (per-fold fractions),
    ``row_folds``, ``col_folds``.
    """
    R, C = rows, cols
    pixels, window = ifmap.shape
    filters = filt.shape[1]
    if dataflow == "os":
        Sr, Sc, T = pixels, filters, window
    elif dataflow == "ws":
        Sr, Sc, T = window, filters, pixels
    elif dataflow == "is":
        Sr, Sc, T = window, pixels, filters
    else:
        raise ValueError(dataflow)
    row_folds, col_folds = math.ceil(Sr / R), math.ceil(Sc / C)
    if_folds, f_folds, o_folds = [], [], []
    if_reads = f_reads = o_writes = o_extra = 0
    mapping, compute = [], []
    for fc in range(col_folds):
        for fr in range(row_folds):
            r0, r1 = fr * R, min(fr * R + R, Sr)
            c0, c1 = fc * C, min(fc * C + C, Sc)
            ru, cu = r1 - r0, c1 - c0
            used = ru * cu
            if dataflow == "os":
                tile = ifmap.T[:, r0:r1]                      # T x ru (window x pixels)
                if_reads += tile.size
                if_fold = _skew(_stack(_pad(tile, T, R), _null(C - 1, R)))
                tile = filt[:, c0:c1]                         # T x cu
                f_reads += tile.size
                f_fold = _skew(_stack(_pad(tile, T, C), _null(R - 1, C)))
                tile = ofmap[r0:r1, c0:c1]                    # ru x cu
                o_writes += tile.size
                out = np.flipud(_pad(tile, R, C))
                o_extra += out.shape[0] + out.shape[1]
                out = _stack(_null(T - 1, C), out)
                cycles = out.shape[0] + out.shape[1] - 1
                mapping.append(used / (R * C))
                compute.append(used * T / (R * C * cycles))
                o_fold = _skew(out)
            elif dataflow == "ws":
                tile = ifmap[:, r0:r1]                        # T x ru (pixels x window)
                if_reads += tile.size
                if_fold = _skew(_stack(_null(R, R), _pad(tile, T, R), _null(C - 1, R)))
                tile = filt[r0:r1, c0:c1]                     # ru x cu
                f_reads += tile.size
                held = np.flipud(_pad(tile, R, C))
                empty = int(np.count_nonzero(held == -1))
                f_fold = _stack(held, _null(R + C + T - 2, C))
                cycles = f_fold.shape[0] + f_fold.shape[1] - 1
                mapping.append((R * C - empty) / (R * C))
                compute.append(used * T / (R * C * cycles))
                tile = ofmap[:, c0:c1]                        # T x cu
                o_writes += tile.size
                o_fold = _skew(_stack(_null(2 * R - 1, C), _pad(tile, T, C)))
            else:  # is
                tile = ifmap.T[r0:r1, c0:c1]                  # ru x cu (window x pixels)
                if_reads += tile.size
                held = np.flipud(_pad(tile, R, C))
                if_fold = _stack(held, _null(R + C + T - 2, C))
                cycles = if_fold.shape[0] + if_fold.shape[1] - 1
                mapping.append(used / (R * C))
                compute.append(used * T / (R * C * cycles))
                tile = filt[r0:r1, :].T                       # T x ru (filters x window)
                f_reads += tile.size
                f_fold = _skew(_stack(_null(R, R), _pad(tile, T, R), _null(C - 1, R)))
                tile = ofmap[c0:c1, :].T                      # T x cu (filters x pixels)
                o_writes += tile.size
                o_fold = _skew(_stack(_null(2 * R - 1, C), _pad(tile, T, C)))
            assert if_fold.shape[0] == f_fold.shape[0] == o_fold.shape[0], "folds out of sync"
            if_folds.append(if_fold)
            f_folds.append(f_fold)
            o_folds.append(o_fold)
    return {
        "ifmap": np.concatenate(if_folds, axis=0),
        "filter": np.concatenate(f_folds, axis=0),
        "ofmap": np.concatenate(o_folds, axis=0),
        "ifmap_reads": if_reads,
        "filter_reads": f_reads,
        "ofmap_writes": o_writes,
        "ofmap_extra": o_extra,
        "mapping": mapping,
        "compute": compute,
        "row_folds": row_folds,
        "col_folds": col_folds,
    }


# --------------------------------------------------------------------------------------------
# 3a. Estimate-bandwidth read buffer (DRAM reads)
# --------------------------------------------------------------------------------------------

class SetReadBuffer:
    """SCALE-Sim's ``ReadBufferEstimateBw``, counting only the words it fetches.

    The buffer is split into 100 sets of ``floor(words / 100)`` words. A requested word is a
    hit if it is in a completed set of the current window (sets ``window_lo .. window_hi``)
    or in the set being filled; otherwise it joins the set being filled. When the set that
    ends the window completes, the buffer "prefetches" (counts) a block of completed sets and
    the window slides by the prefetch half. At the end every set not yet counted is counted.
    """

    def __init__(self, words: int, active_fraction: float = ACTIVE_FRACTION):
        fraction = round(active_fraction, 2)
        self.per_set = words // 100
        self.active_sets = int(fraction * 100)
        self.prefetch_sets = 100 - self.active_sets
        self.sets: list[set | None] = []  # completed sets by id; None once evicted
        self.filling: set = set()
        self.window_lo = 0
        self.window_hi = self.active_sets - 1
        self.first_done = False
        self.prefetch_lo = -1
        self.prefetch_hi = -1
        self.fetched = 0

    def _count(self, lo: int, hi: int) -> None:
        for sid in range(lo, hi + 1):
            self.fetched += len(self.sets[sid])

    def read(self, addr: int) -> None:
        completed = min(len(self.sets), self.window_hi + 1)
        for sid in range(self.window_lo, completed):
            if addr in self.sets[sid]:
                return
        if addr in self.filling:
            return
        self.filling.add(addr)
        if len(self.filling) < self.per_set:
            return
        self.sets.append(self.filling)
        self.filling = set()
        if len(self.sets) != self.window_hi + 1:
            return
        # The window's last set is complete: count a block of sets and slide the window.
        if not self.first_done:
            self._count(0, self.active_sets - 1)
            self.prefetch_lo = self.window_hi + 1
            self.prefetch_hi = self.prefetch_lo + self.prefetch_sets - 1
            self.first_done = True
        else:
            self._count(self.prefetch_lo, self.prefetch_hi)
            self.prefetch_lo += self.prefetch_sets
            self.prefetch_hi += self.prefetch_sets
        for sid in range(self.window_lo, self.window_lo + self.prefetch_sets):
            self.sets[sid] = None
        self.window_lo += self.prefetch_sets
        self.window_hi += self.prefetch_sets

    def finish(self) -> int:
        if self.filling:
            self.sets.append(self.filling)
            self.filling = set()
        last = len(self.sets) - 1
        if not self.first_done:
            self._count(0, last)
        else:
            self._count(self.prefetch_lo, last)
        return self.fetched


def replay_reads(demand: np.ndarray, words: int,
                 active_fraction: float = ACTIVE_FRACTION) -> int:
    """Words fetched from DRAM for a demand matrix (rows top to bottom, left to right)."""
    buf = SetReadBuffer(words, active_fraction)
    for addr in demand.ravel().tolist():
        if addr != -1:
            buf.read(addr)
    return buf.finish()


# --------------------------------------------------------------------------------------------
# 3b. SCALE-Sim's write buffer (compat: DRAM ofmap writes and stalls)
# --------------------------------------------------------------------------------------------

class LineWriteBuffer:
    """SCALE-Sim's ``write_buffer`` with backing bandwidth ``line_words`` and DRAM latency 0.

    Words are packed into lines of ``line_words``. After each stored word: while a drain is
    in flight (cycle < drain end) a full buffer stalls the array until the drain ends;
    otherwise, once free space drops below the active part, the partly filled line is pushed
    and up to ``ceil(drain part / line_words)`` lines are drained, one per cycle. A drain
    counts ``lines * line_words`` minus the empty slots of its last line only.
    """

    def __init__(self, words: int, line_words: int, active_fraction: float = ACTIVE_FRACTION):
        self.total = words
        self.active = int(math.ceil(words * active_fraction))
        self.drain_part = words - self.active
        self.line_words = line_words
        self.lines: list[list[int]] = []
        self.line: list[int] = []
        self.free = words
        self.next_line = 0
        self.drain_end = 0
        self.written = 0

    def _push_line(self) -> None:
        if self.line:
            self.lines.append(self.line)
            self.line = []

    def _drain(self, start: int) -> int:
        per_drain = math.ceil(self.drain_part / self.line_words)
        batch = self.lines[self.next_line:self.next_line + per_drain]
        assert batch, "SCALE-Sim would fail here: nothing to drain"
        words = len(batch) * self.line_words - (self.line_words - len(batch[-1]))
        self.written += words
        self.free += words
        self.next_line += len(batch)
        return start + len(batch) - 1

    def write_row(self, cycle: int, row) -> int:
        """Store one demand row issued at ``cycle``; the cycle at which it completes."""
        current = cycle
        for addr in row:
            if addr == -1:
                continue
            self.line.append(addr)
            self.free -= 1
            if len(self.line) == self.line_words:
                self._push_line()
            if current < self.drain_end:
                if self.free <= 0:
                    current = self.drain_end
            elif self.free < self.active:
                self._push_line()
                self.drain_end = self._drain(current)
        return current

    def finish(self, cycle: int) -> int:
        self._push_line()
        while self.next_line < len(self.lines):
            self.drain_end = self._drain(cycle)
            cycle = self.drain_end + 1
        return self.written


def replay_writes(demand: np.ndarray, words: int, line_words: int) -> tuple[int, int, int]:
    """(DRAM words as SCALE-Sim counts them, stall cycles, total cycles)."""
    buf = LineWriteBuffer(words, line_words)
    stalls = 0
    served = []
    for i, row in enumerate(demand.tolist()):
        cycle = i + stalls
        done = buf.write_row(cycle, row)
        stalls += done - cycle
        served.append(done)
    written = buf.finish(served[-1])
    return written, stalls, max(served)


# --------------------------------------------------------------------------------------------
# The whole layer
# --------------------------------------------------------------------------------------------

def _layer_params(layer):
    """(groups, conv params of one group) from a ``hwloop.traces.Layer`` (duck-typed)."""
    kind = getattr(layer.kind, "value", layer.kind)
    depthwise = kind == "depthwise"
    conv_groups = getattr(layer, "conv_groups", 1)
    groups = layer.channels if depthwise else conv_groups
    channels = 1 if depthwise else layer.channels // conv_groups
    return groups, (layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w, channels,
                    layer.num_filters, layer.stride_h, layer.stride_w,
                    getattr(layer, "dilation_h", 1), getattr(layer, "dilation_w", 1))


def naive_both(layer, rows: int, cols: int, dataflow: str, ifmap_kb: int, filter_kb: int,
               ofmap_kb: int, active_fraction: float = ACTIVE_FRACTION) -> tuple[dict, dict]:
    """The naive results for (scalesim_compat=False, scalesim_compat=True)."""
    dataflow = getattr(dataflow, "value", dataflow)
    groups, params = _layer_params(layer)
    ifmap, filt, ofmap = operand_matrices(*params)
    pixels, window = ifmap.shape
    filters = filt.shape[1]
    d = demand_matrices(ifmap, filt, ofmap, rows, cols, dataflow)
    demand_rows = d["ofmap"].shape[0]
    dram_ifmap = replay_reads(d["ifmap"], ifmap_kb * WORDS_PER_KB, active_fraction)
    dram_filter = replay_reads(d["filter"], filter_kb * WORDS_PER_KB, active_fraction)
    compat_ofmap, compat_stalls, compat_total = replay_writes(
        d["ofmap"], ofmap_kb * WORDS_PER_KB, cols)
    assert compat_total == demand_rows - 1 + compat_stalls
    macs = pixels * filters * window
    pes = rows * cols
    mapping_eff = 100.0 * sum(d["mapping"]) / len(d["mapping"])
    compute_util = 100.0 * sum(d["compute"]) / len(d["compute"])

    def report(total, stalls, ofmap_sram, dram_ofmap):
        return {
            "total_cycles": groups * total,
            "stall_cycles": groups * stalls,
            "macs": groups * macs,
            "ifmap_sram_reads": groups * d["ifmap_reads"],
            "filter_sram_reads": groups * d["filter_reads"],
            "ofmap_sram_writes": groups * ofmap_sram,
            "dram_ifmap_reads": groups * dram_ifmap,
            "dram_filter_reads": groups * dram_filter,
            "dram_ofmap_writes": groups * dram_ofmap,
            "mapping_eff": mapping_eff,
            "compute_util": compute_util,
            "overall_util": 100.0 * macs / (max(total, 1) * pes),
            "row_folds": d["row_folds"],
            "col_folds": d["col_folds"],
        }

    plain = report(demand_rows - 1, 0, d["ofmap_writes"], d["ofmap_writes"])
    extra = d["ofmap_extra"] if dataflow == "os" else 0
    compat = report(compat_total, compat_stalls, d["ofmap_writes"] + extra, compat_ofmap)
    return plain, compat


def naive_layer(layer, rows: int, cols: int, dataflow: str, ifmap_kb: int, filter_kb: int,
                ofmap_kb: int, scalesim_compat: bool = False) -> dict:
    """Naive per-layer counters, the same keys as ``simulate_systolic_layer`` reports."""
    plain, compat = naive_both(layer, rows, cols, dataflow, ifmap_kb, filter_kb, ofmap_kb)
    return compat if scalesim_compat else plain
