"""A layer with a finite memory system: stream the demand, collect events, time them."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from hwloop.arch import Accelerator
from hwloop.traces import Layer

from ._demand import DemandChunk, demand_row_count, iter_demand
from ._memory_events import MemoryEvents, collect_events
from ._pipe import MemoryTiming, memory_fields, time_events

if TYPE_CHECKING:
    from ._trace_record import LayerRecorder


@dataclass(frozen=True)
class MemoryRun:
    """One channel group's memory events, their timing and the report columns they give."""

    events: MemoryEvents
    timing: MemoryTiming
    fields: dict


def demand_bounds(layer: Layer, accel: Accelerator) -> tuple[tuple[int, int], tuple[int, int, int]]:
    """(largest ifmap/filter address, most valid entries per stream) of one channel group."""
    from ._systolic import _sram_traffic, fold_plan

    array = accel.array
    plan = fold_plan(layer, array.rows, array.cols, array.dataflow)
    pixels, filters, window = layer.gemm_mnk
    reads = _sram_traffic(plan, array.dataflow, pixels, filters, window)
    ifmap_words = layer.ifmap_h * layer.ifmap_w * layer.channel_group
    return (ifmap_words, window * filters), reads


def collect_layer_events(layer: Layer, accel: Accelerator, *,
                         on_chunk: Callable[[DemandChunk], None] | None = None,
                         on_words=None, record_addresses: bool = False) -> MemoryEvents:
    """Stream ``layer``'s demand through ``accel``'s buffers (``on_chunk`` sees each chunk)."""
    addresses, demands = demand_bounds(layer, accel)
    rows = demand_row_count(layer, accel.array)
    return collect_events(iter_demand(layer, accel.array), accel.sram, last_row=rows - 1,
                          max_addresses=addresses, max_demands=demands, on_chunk=on_chunk,
                          on_words=on_words, record_addresses=record_addresses)


#: Untraced events kept per process. They depend on the layer, array and buffers only, not on
#: the DRAM: a search over bandwidth, latency or energy re-times them instead of re-walking
#: the demand. Each holds a few integers per buffer block.
EVENTS_MEMO_SIZE = 512


@functools.lru_cache(maxsize=EVENTS_MEMO_SIZE)
def _untraced_events(shape: Layer, array, sram) -> MemoryEvents:
    from hwloop.arch import Dram

    from ._fast_events import fast_events
    from ._systolic import resets_on_turnover

    if resets_on_turnover(sram):
        events = fast_events(shape, array, sram)
    else:
        events = collect_layer_events(shape, Accelerator(array=array, sram=sram, dram=Dram()))
    for part in (events.ifmap, events.filter, events.ofmap):  # shared: nobody may change them
        for value in vars(part).values():
            if value is not None:
                value.flags.writeable = False
    return events


def time_layer_events(events: MemoryEvents, accel: Accelerator, groups: int) -> MemoryRun:
    """Time ``events`` on ``accel``'s DRAM (a fixed pipe, or the named device model)."""
    if accel.dram.model is not None:
        from ._dram_system import time_events_simpy

        timing = time_events_simpy(events, accel)
    else:
        timing = time_events(events, accel.dram)
    return MemoryRun(events, timing, memory_fields(events, timing, groups))


def run_memory(layer: Layer, accel: Accelerator, groups: int, *,
               recorder: "LayerRecorder | None" = None,
               events: MemoryEvents | None = None) -> MemoryRun:
    """The memory side of one layer: events (collected now, or given from a trace), timed.

    A ``recorder`` receives the demand as it streams and the timed events at the end.
    """
    if events is None and recorder is None and accel.dram.model is None:
        events = _untraced_events(replace(layer, name=""), accel.array, accel.sram)
    elif events is None:
        on_chunk = recorder.sram_chunk if recorder is not None else None
        on_words = recorder.dram_words if recorder is not None else None
        events = collect_layer_events(layer, accel, on_chunk=on_chunk, on_words=on_words,
                                      record_addresses=accel.dram.model is not None)
    run = time_layer_events(events, accel, groups)
    if recorder is not None:
        recorder.finish(run.events, run.timing)
    return run
