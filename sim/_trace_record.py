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

from hwloop.traces import Layer
from hwloop.traces import LayerWriter

from ._demand import DemandChunk
from ._memory_events import MemoryEvents
from ._pipe import OPERANDS, MemoryTiming

#: SCALE-Sim's address offsets per operand (ifmap, filter, ofmap).
SCALESIM_OFFSETS = {"ifmap": 0, "filter": 10_000_000, "ofmap": 20_000_000}
SRAM_DATASETS = {"ifmap": "sram/ifmap_read", "filter": "sram/filter_read",
                 "ofmap": "sram/ofmap_write"}
DRAM_STREAMS = {"ifmap": "dram/ifmap_read", "filter": "dram/filter_read",
                "ofmap": "dram/ofmap_write"}
_CYCLE_CHUNK = 1 << 20
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

    def finish(self, events: MemoryEvents, timing: MemoryTiming) -> None:
        """Write the cycle of every demand row and every DRAM word's address and cycle."""
        for start in range(0, events.last_row + 1, _CYCLE_CHUNK):
            rows = np.arange(start, min(start + _CYCLE_CHUNK, events.last_row + 1), dtype=np.int64)
            self.writer.append("sram/cycle", rows + timing.stall_at(rows), attrs={"units": "cycle"})
        for operand, stream, starts, bw in zip(OPERANDS, (events.ifmap, events.filter,
                                                          events.ofmap), timing.starts,
                                               timing.bandwidths):
            name = DRAM_STREAMS[operand]
            words = stream.words
            addresses = stream.addresses if stream.addresses is not None else np.zeros(0, np.int64)
            self.writer.append(f"{name}/address", addresses.astype(np.int64),
                               attrs={"units": "address", "address_offset": SCALESIM_OFFSETS[operand]})
            self.writer.append(f"{name}/cycle", word_cycles(starts, words, bw),
                               attrs={"units": "cycle"})


def word_cycles(starts: np.ndarray, words: np.ndarray, bandwidth: int) -> np.ndarray:
    """The cycle each word of consecutive transfers moves in (``bandwidth`` words a cycle)."""
    total = int(words.sum())
    first = np.repeat(np.cumsum(words) - words, words)
    return np.repeat(starts, words) + (np.arange(total, dtype=np.int64) - first) // bandwidth
