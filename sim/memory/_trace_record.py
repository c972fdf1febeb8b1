"""Recording a run into an HDF5 trace: SRAM demand as it streams, cycles and DRAM words once timed.

Per layer (``hwloop.traces`` writes the file): ``sram/ifmap_read``, ``sram/filter_read``,
``sram/ofmap_write`` (one row per demand row, one column per array edge port, -1 idle),
``sram/cycle`` (the cycle each row runs at, stalls included), and for each DRAM port
``dram/<operand>_<read|write>/address`` and ``/cycle`` (one entry per word moved).
Addresses are operand-local; ``address_offset`` attrs give SCALE-Sim's offsets for export.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hwloop.sim.schedule import DemandChunk
from hwloop.traces import Layer, LayerWriter

from ._events import MemoryEvents
from ._pipe import OPERANDS, MemoryTiming, transfer_words

#: SCALE-Sim's address offsets per operand (ifmap, filter, ofmap).
SCALESIM_OFFSETS = {"ifmap": 0, "filter": 10_000_000, "ofmap": 20_000_000}
SRAM_DATASETS = {"ifmap": "sram/ifmap_read", "filter": "sram/filter_read",
                 "ofmap": "sram/ofmap_write"}
DRAM_STREAMS = {"ifmap": "dram/ifmap_read", "filter": "dram/filter_read",
                "ofmap": "dram/ofmap_write"}
_CYCLE_CHUNK = 1 << 20
_INT32_LIMIT = 2**31 - 1
#: Units of a trace's datasets, stored in the file.
TRACE_UNITS = {"address": "operand word index (add address_offset for SCALE-Sim's)",
               "cycle": "accelerator cycle; 0 = first compute cycle, negative = prefetch",
               "sram rows": "one row per stall-free demand row, one column per edge port, -1 idle"}


def layer_to_attrs(layer: Layer) -> dict:
    fields = dataclasses.asdict(layer)
    fields["kind"] = layer.kind.value
    return fields


def layer_from_attrs(fields: dict) -> Layer:
    return Layer(**fields)


class LayerRecorder:
    """Receives one layer's demand chunks, then its timed events, and writes them."""

    def __init__(self, writer: LayerWriter) -> None:
        self.writer = writer

    def sram_chunk(self, chunk: DemandChunk) -> None:
        for operand, rows in zip(OPERANDS, (chunk.ifmap, chunk.filter, chunk.ofmap)):
            self.writer.append(SRAM_DATASETS[operand], rows,
                               attrs={"units": "address", "address_offset": SCALESIM_OFFSETS[operand]})

    def dram_words(self, operand: str, words: np.ndarray) -> None:
        # operand addresses fit int32 (sim refuses larger operands)
        self.writer.append(f"{DRAM_STREAMS[operand]}/address", words.astype(np.int32),
                           attrs={"units": "address", "address_offset": SCALESIM_OFFSETS[operand]})

    def finish(self, events: MemoryEvents, timing: MemoryTiming) -> None:
        """Write the cycle of every demand row and of every DRAM word, in bounded slices."""
        wide = events.last_row + timing.stall_cycles >= _INT32_LIMIT
        for start in range(0, events.last_row + 1, _CYCLE_CHUNK):
            rows = np.arange(start, min(start + _CYCLE_CHUNK, events.last_row + 1), dtype=np.int64)
            cycles = rows + timing.stall_at(rows)
            self.writer.append("sram/cycle", cycles if wide else cycles.astype(np.int32),
                               attrs={"units": "cycle"})
        for index, (operand, words, starts, bw) in enumerate(zip(
                OPERANDS, transfer_words(events), timing.starts, timing.bandwidths)):
            name = f"{DRAM_STREAMS[operand]}/cycle"
            if words.size == 0:
                self.writer.append(f"{DRAM_STREAMS[operand]}/address", np.zeros(0, np.int32))
            narrow = _fits_int32(starts, words, bw)
            lasts = timing.lasts[index] if timing.lasts is not None else None
            for lo, hi in _slices(words, _CYCLE_CHUNK):
                if lasts is None:
                    cycles = word_cycles(starts[lo:hi], words[lo:hi], bw)
                else:  # a device model: the words spread evenly over each transfer
                    cycles = spread_cycles(starts[lo:hi], lasts[lo:hi], words[lo:hi])
                self.writer.append(name, cycles.astype(np.int32) if narrow else cycles,
                                   attrs={"units": "cycle"})
            if words.size == 0:
                self.writer.append(name, np.zeros(0, np.int32), attrs={"units": "cycle"})


def _fits_int32(starts: np.ndarray, words: np.ndarray, bw: int) -> bool:
    if words.size == 0:
        return True
    return -_INT32_LIMIT < starts.min() and starts.max() + words.max() // bw < _INT32_LIMIT


def _slices(words: np.ndarray, limit: int):
    """Ranges of consecutive transfers of about ``limit`` words (at least one transfer)."""
    lo, total = 0, 0
    for k, w in enumerate(words.tolist()):
        total += w
        if total >= limit:
            yield lo, k + 1
            lo, total = k + 1, 0
    if lo < words.size:
        yield lo, words.size


def spread_cycles(starts: np.ndarray, lasts: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Each word's cycle when transfer ``k`` moves ``words[k]`` evenly in ``starts[k]..lasts[k]``."""
    first = np.repeat(np.cumsum(words) - words, words)
    index = np.arange(int(words.sum()), dtype=np.int64) - first
    span = np.repeat(lasts - starts + 1, words)
    return np.repeat(starts, words) + index * span // np.repeat(words, words)


def word_cycles(starts: np.ndarray, words: np.ndarray, bandwidth: int) -> np.ndarray:
    """The cycle each word of consecutive transfers moves in (``bandwidth`` words a cycle)."""
    total = int(words.sum())
    first = np.repeat(np.cumsum(words) - words, words)
    return np.repeat(starts, words) + (np.arange(total, dtype=np.int64) - first) // bandwidth
