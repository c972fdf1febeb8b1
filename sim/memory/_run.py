"""A layer with a finite memory system: stream the demand, collect events, time them."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hwloop.arch import Accelerator, Sram
from hwloop.sim.schedule import DemandChunk, Schedule, iter_demand

from ._events import MemoryEvents, collect_events
from ._pipe import MemoryTiming, memory_fields, time_events
from ._walks import forget_walk_memos
from ._windows import resets_on_turnover

if TYPE_CHECKING:
    from ._trace_record import LayerRecorder


@dataclass(frozen=True)
class MemoryRun:
    """One channel group's memory events, their timing and the report columns they give."""

    events: MemoryEvents
    timing: MemoryTiming
    fields: dict

    @property
    def fetched(self) -> tuple[int, int]:
        """DRAM words the ifmap and filter buffers fetched."""
        return int(self.events.ifmap.words.sum()), int(self.events.filter.words.sum())


def demand_bounds(sched: Schedule) -> tuple[tuple[int, int], tuple[int, int, int]]:
    """(largest ifmap/filter address, most valid entries per stream) of one channel group."""
    layer = sched.layer
    _, filters, window = sched.gemm
    reads = (sched.ifmap_sram_reads, sched.filter_sram_reads, sched.ofmap_sram_writes)
    ifmap_words = layer.ifmap_h * layer.ifmap_w * layer.channel_group
    return (ifmap_words, window * filters), reads


def collect_layer_events(sched: Schedule, sram: Sram, *,
                         on_chunk: Callable[[DemandChunk], None] | None = None,
                         on_words=None, record_addresses: bool = False) -> MemoryEvents:
    """Stream ``sched``'s demand through ``sram``'s buffers (``on_chunk`` sees each chunk)."""
    addresses, demands = demand_bounds(sched)
    return collect_events(iter_demand(sched), sram, last_row=sched.demand_rows - 1,
                          max_addresses=addresses, max_demands=demands, on_chunk=on_chunk,
                          on_words=on_words, record_addresses=record_addresses)


#: Untraced events kept per process. They depend on the layer, array and buffers only, not on
#: the DRAM: a search over bandwidth, latency or energy re-times them instead of re-walking
#: the demand. Each holds a few integers per buffer block.
EVENTS_MEMO_SIZE = 512


@functools.lru_cache(maxsize=EVENTS_MEMO_SIZE)
def untraced_events(sched: Schedule, sram: Sram) -> MemoryEvents:
    """The memory events of ``sched`` (a nameless shape) on ``sram``, remembered. A masked
    (N:M sparse) window streams its demand: the closed forms and walks take whole windows."""
    from ._fast_events import fast_events

    if resets_on_turnover(sram) and sched.layer.masked is None:
        events = fast_events(sched, sram)
    else:
        events = collect_layer_events(sched, sram)
    for part in (events.ifmap, events.filter, events.ofmap):  # shared: nobody may change them
        for value in vars(part).values():
            if value is not None:
                value.flags.writeable = False
    return events


def forget_walks() -> None:
    """Clear the per-process memos of buffer walks and the events built on them (benchmarks
    time the walks with it)."""
    from ._periodic import piece_streams

    forget_walk_memos()
    untraced_events.cache_clear()
    piece_streams.cache_clear()


def time_layer_events(events: MemoryEvents, accel: Accelerator, groups: int, *,
                      history: bool = True) -> MemoryRun:
    """Time ``events`` on ``accel``'s DRAM (a fixed pipe, or the named device model);
    ``history``: keep the rows where the stall grew (a trace needs them)."""
    if accel.dram.model is not None:
        from ._dram_system import time_events_simpy

        timing = time_events_simpy(events, accel)
    else:
        timing = time_events(events, accel.dram, history=history)
    return MemoryRun(events, timing, memory_fields(events, timing, groups))


def run_memory(sched: Schedule, accel: Accelerator, groups: int, *,
               recorder: "LayerRecorder | None" = None,
               events: MemoryEvents | None = None) -> MemoryRun:
    """The memory side of one layer: events (collected now, or given from a trace), timed.

    Without a trace or a device model the events of the layer's shape are remembered. A
    ``recorder`` receives the demand as it streams and the timed events at the end.
    """
    if events is None and recorder is None and accel.dram.model is None:
        events = untraced_events(sched.shape(), accel.sram)
    elif events is None:
        on_chunk = recorder.sram_chunk if recorder is not None else None
        on_words = recorder.dram_words if recorder is not None else None
        events = collect_layer_events(sched, accel.sram, on_chunk=on_chunk, on_words=on_words,
                                      record_addresses=accel.dram.model is not None)
    run = time_layer_events(events, accel, groups, history=recorder is not None)
    if recorder is not None:
        recorder.finish(run.events, run.timing)
    return run

