"""From demand rows to memory events: what each DRAM transfer moves and when it is needed.

A read buffer (ifmap, filter) is SCALE-Sim's set-window scratchpad, so the words fetched are
exactly the stall-free engine's; its double-buffer *blocks* (first the active half, then
one prefetch half at a time) are the units of transfer. The ofmap buffer fills one half
while the other drains. :class:`MemoryEvents` is all the timing needs, and what a recorded
trace is re-timed from.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from hwloop.arch import Sram
from hwloop.sim.kernels import (
    ACTIVE_SETS,
    FETCHED,
    HALF,
    PER_SET,
    PREFETCH_SETS,
    READ_END,
    walk_reads,
    walk_writes,
)
from hwloop.sim.schedule import DemandChunk


@dataclass(frozen=True)
class ReadBlocks:
    """Per block: the stall-free row that first needs it and the words it moves."""

    need_row: np.ndarray
    words: np.ndarray
    #: The words moved, block after block, when recorded (else None).
    addresses: np.ndarray | None = None


@dataclass(frozen=True)
class WriteChunks:
    """Per buffer half of ofmap words: rows of its first and last write, and its words."""

    start_row: np.ndarray
    fill_row: np.ndarray
    words: np.ndarray
    #: The words written, chunk after chunk, when recorded (else None).
    addresses: np.ndarray | None = None


@dataclass(frozen=True)
class ReadBacks:
    """Partial sums returning to the ofmap buffer over the ofmap port (explicit mappings):
    per transfer, the row it may start (its half has drained), the row that needs it, and
    its words."""

    issue_row: np.ndarray
    need_row: np.ndarray
    words: np.ndarray


NO_READ_BACKS = ReadBacks(*(np.zeros(0, dtype=np.int64) for _ in range(3)))


@dataclass(frozen=True)
class MemoryEvents:
    """The transfers of one channel group; ``last_row`` is the last stall-free demand row."""

    ifmap: ReadBlocks
    filter: ReadBlocks
    ofmap: WriteChunks
    last_row: int
    #: Partial sums read back (only an explicit mapping's ofmap tiles return).
    psum: ReadBacks = NO_READ_BACKS


class _ReadWalk:
    """State of one read buffer across chunks of demand rows."""

    def __init__(self, buffer_words: int, active_fraction: float, max_address: int,
                 max_demands: int, sink: Optional[Callable[[np.ndarray], None]]) -> None:
        per_set = buffer_words // 100
        active = int(round(active_fraction, 2) * 100)
        self.state = np.zeros(8, dtype=np.int64)
        self.state[PER_SET], self.state[ACTIVE_SETS] = per_set, active
        self.state[PREFETCH_SETS] = 100 - active
        self.state[READ_END] = active - 1
        self.marks = np.full(max_address + 1, -1, dtype=np.int64)
        blocks = 2 + max_demands // max(1, (100 - active) * per_set)
        self.words = np.zeros(blocks, dtype=np.int64)
        self.need = np.zeros(blocks, dtype=np.int64)
        self.sink = sink
        self.fetched = np.zeros(1, dtype=np.int64)

    def feed(self, demand: np.ndarray, row0: int) -> None:
        if self.sink is not None and self.fetched.size < max(2, demand.size):
            self.fetched = np.zeros(max(2, demand.size), dtype=np.int64)
        self.state[FETCHED] = 0
        walk_reads(demand, row0, self.state, self.marks, self.words, self.need, self.fetched)
        if self.sink is not None and self.state[FETCHED]:
            self.sink(self.fetched[:self.state[FETCHED]].copy())

    def result(self) -> ReadBlocks:
        used = int(np.count_nonzero(self.words))
        return ReadBlocks(self.need[:used].copy(), self.words[:used].copy())


class _WriteWalk:
    def __init__(self, buffer_words: int, active_fraction: float, max_writes: int,
                 sink: Optional[Callable[[np.ndarray], None]]) -> None:
        self.half = max(1, math.ceil(buffer_words * active_fraction))
        self.state = np.zeros(2, dtype=np.int64)
        self.state[HALF] = self.half
        chunks = 1 + max_writes // self.half
        self.start = np.zeros(chunks, dtype=np.int64)
        self.fill = np.zeros(chunks, dtype=np.int64)
        self.sink = sink
        self.written = np.zeros(1, dtype=np.int64)

    def feed(self, demand: np.ndarray, row0: int) -> None:
        if self.sink is not None and self.written.size < max(2, demand.size):
            self.written = np.zeros(max(2, demand.size), dtype=np.int64)
        before = int(self.state[1])
        walk_writes(demand, row0, self.state, self.start, self.fill, self.written)
        if self.sink is not None and self.state[1] > before:
            self.sink(self.written[:self.state[1] - before].copy())

    def result(self) -> WriteChunks:
        written = int(self.state[1])
        n = -(-written // self.half)
        words = np.full(n, self.half, dtype=np.int64)
        if n:
            words[-1] = written - (n - 1) * self.half
        return WriteChunks(self.start[:n].copy(), self.fill[:n].copy(), words)


def collect_events(chunks: Iterable[DemandChunk], sram: Sram, *, last_row: int,
                   max_addresses: tuple[int, int], max_demands: tuple[int, int, int],
                   on_chunk: Callable[[DemandChunk], None] | None = None,
                   on_words: Callable[[str, np.ndarray], None] | None = None,
                   record_addresses: bool = False) -> MemoryEvents:
    """Walk demand chunks (in row order) through the three buffers.

    ``max_addresses`` bounds the ifmap and filter addresses, ``max_demands`` the valid
    entries of each stream (sizes of the kernels' work arrays). ``on_chunk`` sees every
    chunk first, and ``on_words(operand, words)`` the words each chunk moves to or from DRAM,
    in order (a trace writer streams both to disk). ``record_addresses`` keeps the words in
    the events (memory in proportion to DRAM traffic) for the DRAM device model.
    """
    kept: dict[str, list[np.ndarray]] = {"ifmap": [], "filter": [], "ofmap": []}

    def sink(operand: str):
        if on_words is None and not record_addresses:
            return None

        def take(words: np.ndarray) -> None:
            if record_addresses:
                kept[operand].append(words)
            if on_words is not None:
                on_words(operand, words)
        return take

    frac = sram.active_fraction
    ifmap = _ReadWalk(sram.words("ifmap"), frac, max_addresses[0], max_demands[0], sink("ifmap"))
    filt = _ReadWalk(sram.words("filter"), frac, max_addresses[1], max_demands[1], sink("filter"))
    ofmap = _WriteWalk(sram.words("ofmap"), frac, max_demands[2], sink("ofmap"))
    for chunk in chunks:
        if on_chunk is not None:
            on_chunk(chunk)
        ifmap.feed(chunk.ifmap, chunk.row0)
        filt.feed(chunk.filter, chunk.row0)
        ofmap.feed(chunk.ofmap, chunk.row0)
    reads, writes = (ifmap.result(), filt.result()), ofmap.result()
    if record_addresses:
        def moved(op: str) -> np.ndarray:
            return np.concatenate(kept[op]) if kept[op] else np.zeros(0, np.int64)
        reads = (replace(reads[0], addresses=moved("ifmap")),
                 replace(reads[1], addresses=moved("filter")))
        writes = replace(writes, addresses=moved("ofmap"))
    return MemoryEvents(*reads, writes, last_row)
