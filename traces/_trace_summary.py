"""The six access streams of a layer, their statistics and their bandwidth over time.

Everything is computed chunk by chunk from a trace file, so memory stays bounded by the chunk
size (and, for the footprint, by the number of distinct addresses). Cycles are access cycles:
an SRAM read is counted one cycle after its demand row, as in SCALE-Sim's traces.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any, NamedTuple, TypedDict

import numpy as np
import pandas as pd

from ._errors import InputError
from ._hdf5 import DEFAULT_READ_ROWS, LayerTrace, open_trace


class Stream(NamedTuple):
    """One access stream of a layer, e.g. ``ifmap_sram_read``, and the datasets holding it."""

    operand: str  # "ifmap", "filter" or "ofmap"
    memory: str  # "sram" or "dram"
    verb: str  # "read" or "write"

    @property
    def name(self) -> str:
        return f"{self.operand}_{self.memory}_{self.verb}"

    @property
    def addresses(self) -> str:
        """2-D int (rows x ports, -1 = idle) for SRAM; 1-D, one entry per word, for DRAM."""
        key = f"{self.operand}_{self.verb}"
        return f"sram/{key}" if self.memory == "sram" else f"dram/{key}/address"

    @property
    def cycles(self) -> str:
        """SRAM: the compute cycle of each demand row; DRAM: the cycle of each word."""
        return "sram/cycle" if self.memory == "sram" else f"dram/{self.operand}_{self.verb}/cycle"

    @property
    def own_cycles(self) -> str | None:
        """Optional SRAM dataset of this stream's own access cycles (traces with stalls)."""
        return f"sram/{self.operand}_{self.verb}_cycle" if self.memory == "sram" else None

    @property
    def cycle_shift(self) -> int:
        """Access cycle minus stored ``sram/cycle``: SCALE-Sim's SRAM read hit latency of 1."""
        return 1 if self.memory == "sram" and self.verb == "read" else 0


STREAMS = tuple(Stream(op, mem, verb) for mem in ("sram", "dram")
                for op, verb in (("ifmap", "read"), ("filter", "read"), ("ofmap", "write")))
STREAM_NAMES = tuple(stream.name for stream in STREAMS)
_ROWS = DEFAULT_READ_ROWS
SUMMARY_COLUMNS = ("layer", "layer_name", "stream", "accesses", "footprint", "first_cycle",
                   "last_cycle", "avg_bandwidth", "peak_bandwidth")
SUMMARY_UNITS = {"accesses": "words", "footprint": "distinct addresses", "first_cycle": "cycle",
                 "last_cycle": "cycle", "avg_bandwidth": "words/cycle",
                 "peak_bandwidth": "words/cycle"}


def get_stream(name: str) -> Stream:
    """The :class:`Stream` called ``name`` (one of :data:`STREAM_NAMES`)."""
    for stream in STREAMS:
        if stream.name == name:
            return stream
    raise InputError(f"unknown stream {name!r} (one of {', '.join(STREAM_NAMES)})",
                     field="stream")


def has_stream(layer: LayerTrace, stream: Stream) -> bool:
    return layer.has(stream.addresses)


def iter_stream(layer: LayerTrace, stream: Stream,
                rows: int = DEFAULT_READ_ROWS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(access cycles (int64, 1-D), stored addresses)`` of ``stream`` in chunks.

    SRAM access cycles are the stream's own ``sram/<x>_cycle`` if stored, else
    ``sram/cycle`` + :attr:`Stream.cycle_shift`. Addresses carry no offset.
    """
    own = stream.own_cycles
    cycles_name = own if own is not None and layer.has(own) else stream.cycles
    shift = 0 if cycles_name == own else stream.cycle_shift
    n_addr, n_cyc = layer.length(stream.addresses), layer.length(cycles_name)
    if n_addr != n_cyc:
        raise InputError(f"layer {layer.index}: {n_addr} rows of '{stream.addresses}' but "
                         f"{n_cyc} of '{cycles_name}'", source=layer.source, field=cycles_name)
    for cycles, addresses in zip(layer.iter_chunks(cycles_name, rows),
                                 layer.iter_chunks(stream.addresses, rows)):
        yield cycles.astype(np.int64, copy=False) + shift, addresses


def _words(addresses: np.ndarray) -> np.ndarray:
    """Valid words (address != -1) of each record: a row of ports, or one DRAM word."""
    valid = addresses != -1
    return valid.sum(axis=1, dtype=np.int64) if valid.ndim == 2 else valid.astype(np.int64)


def run_starts(cycles: np.ndarray) -> np.ndarray:
    """Indices where a run of equal consecutive cycles starts (for a non-empty array)."""
    return np.flatnonzero(np.concatenate(([True], cycles[1:] != cycles[:-1])))


class _Peak:
    """Most words in one cycle, a cycle's records counted together where they are adjacent
    (hwloop writes cycles in order; SCALE-Sim's stall traces may revisit a cycle later, which
    then counts apart). A run of one cycle may span chunks."""

    def __init__(self) -> None:
        self.peak = 0
        self._cycle: int | None = None
        self._words = 0

    def add(self, cycles: np.ndarray, words: np.ndarray) -> None:
        if not len(cycles):
            return
        starts = run_starts(cycles)
        sums = np.add.reduceat(words, starts)
        if self._cycle is not None and cycles[0] == self._cycle:
            sums[0] += self._words
        else:
            self.peak = max(self.peak, self._words)
        self.peak = max(self.peak, int(sums[:-1].max(initial=0)))
        self._cycle, self._words = int(cycles[-1]), int(sums[-1])

    def result(self) -> int:
        return max(self.peak, self._words)


class _Distinct:
    """Distinct values seen so far; chunks are merged in batches as large as the set itself.

    Sort-based: NumPy's hashing ``unique`` was ~20x slower on these address chunks.
    """

    def __init__(self) -> None:
        self._seen = np.empty(0, dtype=np.int64)
        self._pending: list[np.ndarray] = []
        self._pending_size = 0

    def add(self, values: np.ndarray) -> None:
        self._pending.append(_sorted_unique(values.ravel()))
        self._pending_size += len(self._pending[-1])
        if self._pending_size > max(len(self._seen), 1 << 20):
            self._merge()

    def count(self) -> int:
        self._merge()
        return len(self._seen)

    def _merge(self) -> None:
        if self._pending:
            self._seen = _sorted_unique(np.concatenate([self._seen, *self._pending]))
            self._pending, self._pending_size = [], 0


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


class _Scan(TypedDict):
    """One stream's summary (:data:`SUMMARY_COLUMNS` after the layer and stream)."""

    accesses: int
    footprint: int | None
    first_cycle: int | None  #: None when the stream has no access
    last_cycle: int | None
    avg_bandwidth: float
    peak_bandwidth: int


def _scan(layer: LayerTrace, stream: Stream, *, footprint: bool, bar: Any = None) -> _Scan:
    accesses = 0
    first: int | None = None
    last: int | None = None
    peak = _Peak()
    distinct = _Distinct()
    for cycles, addresses in iter_stream(layer, stream, _ROWS):
        words = _words(addresses)
        busy = cycles[words > 0]
        if len(busy):
            accesses += int(words.sum())
            first = int(busy.min()) if first is None else min(first, int(busy.min()))
            last = int(busy.max()) if last is None else max(last, int(busy.max()))
        peak.add(cycles, words)
        if footprint:
            distinct.add(addresses[addresses != -1])
        if bar is not None:
            bar.update(len(cycles))
    avg = 0.0
    if accesses:
        assert first is not None and last is not None  # set with the first access
        avg = accesses / (last - first + 1)
    return {"accesses": accesses, "footprint": distinct.count() if footprint else None,
            "first_cycle": first, "last_cycle": last, "avg_bandwidth": avg,
            "peak_bandwidth": peak.result()}


def summarize_trace(trace_path: str | os.PathLike[str], *, progress: bool = False) -> pd.DataFrame:
    """One row per (layer, stream present): accesses, footprint, cycles and bandwidths.

    ``accesses`` counts valid words (address != -1), ``footprint`` distinct addresses;
    ``first_cycle``/``last_cycle`` are the first and last cycles with an access (``<NA>`` if
    none), ``avg_bandwidth`` = accesses / (last - first + 1) and ``peak_bandwidth`` the most
    words in one cycle, both in words/cycle. Units are in ``frame.attrs["units"]``.
    ``progress`` shows a bar of the records read on stderr (a large trace takes seconds).
    """
    rows = []
    with open_trace(trace_path) as trace:
        present = [(layer, stream) for layer in trace.layers for stream in STREAMS
                   if has_stream(layer, stream)]
        total = sum(layer.length(stream.addresses) for layer, stream in present)
        with progress_bar(progress, total, "record", "summary", scale=True) as bar:
            for layer, stream in present:
                rows.append({"layer": layer.index, "layer_name": layer.name,
                             "stream": stream.name,
                             **_scan(layer, stream, footprint=True, bar=bar)})
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    frame = frame.astype({"layer": "int64", "layer_name": "object", "stream": "object",
                          "accesses": "int64", "footprint": "int64", "first_cycle": "Int64",
                          "last_cycle": "Int64", "avg_bandwidth": "float64",
                          "peak_bandwidth": "int64"})
    frame.attrs["units"] = dict(SUMMARY_UNITS)
    return frame


def progress_bar(show: bool, total: int, unit: str, desc: str, *, scale: bool = False) -> Any:
    """A tqdm bar on stderr when ``show`` (the CLI passes whether stderr is a terminal), else
    one that does nothing; both are context managers with ``update(n)``. ``scale`` writes
    large counts with SI prefixes (``1.2GB``)."""
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, dynamic_ncols=True,
                unit_scale=scale)


class _NoBar:
    n = 0
    total = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def refresh(self) -> None:
        pass

    def __enter__(self) -> "_NoBar":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def layer_bandwidth(layer: LayerTrace, stream: Stream,
                    bins: int) -> tuple[np.ndarray, np.ndarray]:
    """``(bin edges, words per cycle)`` of :func:`bandwidth_over_time`, on an open layer."""
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise InputError(f"must be an integer >= 1, got {bins!r}", field="bins")
    if not has_stream(layer, stream):
        raise InputError(f"layer {layer.index} ('{layer.name}') has no stream "
                         f"'{stream.name}'", source=layer.source, field="stream")
    stats = _scan(layer, stream, footprint=False)
    if not stats["accesses"]:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    first_cycle, last_cycle = stats["first_cycle"], stats["last_cycle"]
    assert first_cycle is not None and last_cycle is not None  # the stream has accesses
    first = int(first_cycle)
    span = int(last_cycle) - first + 1
    bins = min(int(bins), span)
    # Bin k covers cycles [first + ceil(k*span/bins), first + ceil((k+1)*span/bins)), so a
    # cycle first + x falls in bin (x*bins)//span, and every bin is at least one cycle wide.
    edges = first + (np.arange(bins + 1, dtype=np.int64) * span + bins - 1) // bins
    words = np.zeros(bins, dtype=np.float64)
    for cycles, addresses in iter_stream(layer, stream, _ROWS):
        counts = _words(addresses)
        busy = counts > 0
        where = ((cycles[busy] - first) * bins) // span
        words += np.bincount(where, weights=counts[busy], minlength=bins)
    return edges, words / np.diff(edges)


def bandwidth_over_time(trace_path: str | os.PathLike[str], layer_index: int, stream: str,
                        bins: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """``(bin_start_cycles, words_per_cycle)`` of one stream of one layer.

    The cycles from the first to the last access are cut into ``bins`` bins of (nearly) equal
    whole-cycle widths (fewer if the span is shorter); each value is the bin's words divided
    by its width. Both arrays are empty if the stream has no access.
    """
    chosen = get_stream(stream)
    with open_trace(trace_path) as trace:
        edges, rate = layer_bandwidth(trace.layer(layer_index), chosen, bins)
    return edges[:-1], rate
