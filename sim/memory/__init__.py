"""The memory system: read and write buffers, their walks and events, DRAM timing (a fixed
pipe or a simpy device model), HDF5 trace recording, and SCALE-Sim's USER-mode emulation.

Everything here takes a :class:`hwloop.sim.schedule.Schedule`: the memory system never
works out a layer's folds itself.
"""
from ._dram_device_model import CONFLICT, HIT, MISS, DramDeviceModel, time_transfers
from ._dram_system import simulate_memory, time_events_simpy
from ._events import MemoryEvents, ReadBacks, ReadBlocks, WriteChunks, collect_events
from ._fast_events import fast_events
from ._memo import BytesLRU
from ._periodic import (
    BUDGET,
    periodic_applies,
    periodic_memory,
    periodic_worth,
    piece_streams,
    time_pieces,
)
from ._pipe import OPERANDS, UNLIMITED, MemoryTiming, memory_fields, port_bandwidths, time_events
from ._run import (
                   MemoryRun,
                   collect_layer_events,
                   demand_bounds,
                   forget_walks,
                   run_memory,
                   time_layer_events,
                   untraced_events,
)
from ._scalesim_user import prefetch_shape, simulate_scalesim_user
from ._shared_dram import shared_device_stalls, shared_stalls
from ._trace_record import SRAM_DATASETS, TRACE_UNITS, LayerRecorder, layer_from_attrs, layer_to_attrs
from ._walk_store import WalkStore, sharing_walks
from ._walks import stall_free_reads, walked_ifmap
from ._windows import buffer_windows, check_buffers, operand_windows, resets_on_turnover

__all__ = [
    "BUDGET", "BytesLRU", "CONFLICT", "DramDeviceModel", "HIT", "LayerRecorder", "MISS",
           "MemoryEvents", "MemoryRun", "MemoryTiming", "OPERANDS", "ReadBacks", "ReadBlocks",
           "SRAM_DATASETS", "TRACE_UNITS", "UNLIMITED", "WalkStore", "WriteChunks",
           "buffer_windows", "check_buffers", "collect_events", "collect_layer_events",
           "demand_bounds", "fast_events", "forget_walks", "layer_from_attrs",
           "layer_to_attrs",
           "memory_fields", "operand_windows", "periodic_applies", "periodic_memory", "periodic_worth",
           "piece_streams", "port_bandwidths", "prefetch_shape",
           "resets_on_turnover", "run_memory", "shared_device_stalls", "shared_stalls",
           "sharing_walks", "simulate_memory", "time_pieces",
           "simulate_scalesim_user", "stall_free_reads", "time_events", "time_events_simpy",
           "time_layer_events", "time_transfers", "untraced_events", "walked_ifmap"]
