"""Timing of memory events on DRAM ports of fixed bandwidth and latency (the fast path).

The rules (``docs/memory-timing.md``): a transfer of ``W`` words on a port of ``B`` words
per cycle occupies ``ceil(W / B)`` consecutive cycles at ``B`` words each (the last may
carry fewer) and, for reads, is usable ``latency`` cycles after its last cycle. Read block 0
is prefetched before it is first needed; block ``k`` starts once the port is free and block
``k - 1`` has begun to be used, and the array stalls until block ``k`` is usable. An ofmap
half drains from the cycle of its last write once the port is free; the array stalls
before writing into a half whose previous contents have not all left.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hwloop.arch import Dram
from hwloop.sim.kernels import pipe_timing

from ._events import MemoryEvents

#: An unlimited port moves a whole transfer in one cycle.
UNLIMITED = 1 << 40
OPERANDS = ("ifmap", "filter", "ofmap")


@dataclass(frozen=True)
class MemoryTiming:
    """When every transfer starts, and the stalls they cause.

    ``stall_rows``/``stall_after`` are the rows at which the stall grows and its value from
    then on: stall-free row ``r`` runs at cycle ``r + stall_at(r)``.
    """

    stall_cycles: int
    stall_rows: np.ndarray
    stall_after: np.ndarray
    starts: tuple[np.ndarray, np.ndarray, np.ndarray]
    bandwidths: tuple[int, int, int]
    latency: int
    #: Last cycle of each transfer when a DRAM device model timed it (None: a pipe, where
    #: it is ``start + ceil(words / bandwidth) - 1``).
    lasts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    #: First cycle of each partial-sum read-back (explicit mappings; else empty).
    psum_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: Whether ``stall_rows``/``stall_after`` were kept (see :func:`time_events`).
    history: bool = True

    def transfer_lasts(self, operand: int, words: np.ndarray) -> np.ndarray:
        """Last cycle of each of ``operand``'s transfers (0 ifmap, 1 filter, 2 ofmap)."""
        if self.lasts is not None:
            return self.lasts[operand]
        return self.starts[operand] + -(-words // self.bandwidths[operand]) - 1

    def stall_at(self, rows: np.ndarray) -> np.ndarray:
        """Cumulative stall in effect at each stall-free row of ``rows``."""
        if not self.history:
            raise ValueError("this timing kept no stall history (time_events(history=False))")
        idx = np.searchsorted(self.stall_rows, rows, side="right")
        padded = np.concatenate(([0], self.stall_after))
        return padded[idx]


def port_bandwidths(dram: Dram) -> tuple[int, int, int]:
    return tuple(UNLIMITED if bw is None else int(bw)  # type: ignore[return-value]
                 for bw in dram.port_bandwidths())


def operand_zeros(sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One int64 array of zeros per operand (ifmap, filter, ofmap), of these sizes."""
    ifmap, filt, ofmap = sizes
    return (np.zeros(ifmap, dtype=np.int64), np.zeros(filt, dtype=np.int64),
            np.zeros(ofmap, dtype=np.int64))


def time_events(events: MemoryEvents, dram: Dram, *, history: bool = True) -> MemoryTiming:
    """Time ``events`` on ``dram``'s fixed-bandwidth ports (one pass over the events).

    Without ``history`` the timing keeps the stall and every transfer's start but not the
    rows where the stall grew (:meth:`MemoryTiming.stall_at` then refuses): a report needs
    no more, a trace does."""
    bws = port_bandwidths(dram)
    ifm, flt, ofm = events.ifmap, events.filter, events.ofmap
    psum = events.psum
    starts = operand_zeros((ifm.words.size, flt.words.size, ofm.words.size))
    psum_starts = np.zeros(psum.words.size, dtype=np.int64)
    cap = (ifm.words.size + flt.words.size + 2 * ofm.words.size + 2 * psum.words.size + 1
           if history else 0)
    rows = np.zeros(cap, dtype=np.int64)
    vals = np.zeros(cap, dtype=np.int64)
    stall, n = pipe_timing(ifm.need_row, ifm.words, flt.need_row, flt.words, ofm.start_row,
                            ofm.fill_row, ofm.words, np.array(bws, dtype=np.int64),
                            dram.latency_cycles, *starts, rows, vals, psum.issue_row,
                            psum.need_row, psum.words, psum_starts)
    if not history:
        n = 0
    return MemoryTiming(int(stall), rows[:n].copy(), vals[:n].copy(), starts, bws,
                        dram.latency_cycles, psum_starts=psum_starts, history=history)


def transfer_words(events: MemoryEvents) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return events.ifmap.words, events.filter.words, events.ofmap.words


def memory_fields(events: MemoryEvents, timing: MemoryTiming, groups: int = 1) -> dict:
    """The report's DRAM timing columns for a layer of ``groups`` channel groups run back
    to back (each group repeats the first's schedule ``last_row + 1 + stall`` cycles later)."""
    span = events.last_row + 1 + timing.stall_cycles
    fields: dict = {}
    read_starts = []
    for index, (name, words, starts, bw) in enumerate(zip(OPERANDS, transfer_words(events),
                                                          timing.starts, timing.bandwidths)):
        if words.size == 0:
            fields.update({f"dram_{name}_start": None, f"dram_{name}_stop": None,
                           f"avg_{name}_dram_bw": 0.0, f"peak_{name}_dram_bw": 0})
            continue
        start = int(starts[0])
        stop = int(timing.transfer_lasts(index, words)[-1]) + (groups - 1) * span
        if name != "ofmap":
            read_starts.append(start)
        fields[f"dram_{name}_start"] = start
        fields[f"dram_{name}_stop"] = stop
        fields[f"avg_{name}_dram_bw"] = groups * int(words.sum()) / (stop - start + 1)
        fields[f"peak_{name}_dram_bw"] = int(min(bw, words.max()))  # device: its peak rate
    fields["prefetch_cycles"] = max(0, -min(read_starts)) if read_starts else 0
    return fields
