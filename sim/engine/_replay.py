"""What-if replay: re-time a recorded run under another memory system.

The compute schedule is the recorded SRAM demand (``sram/*`` datasets); it is streamed back
through the buffers of the new configuration and timed on its DRAM, exactly as ``simulate``
does with demand it generates. The array (rows, columns, dataflow) is fixed by the trace;
buffers, DRAM bandwidth, latency and the DRAM device may change.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

from hwloop.arch import Accelerator
from hwloop.sim.arrays import (
    energy_totals,
    layer_bits,
    packed,
    simulate_systolic_layer,
)
from hwloop.sim.memory import SRAM_DATASETS, MemoryEvents, collect_events, demand_bounds, layer_from_attrs
from hwloop.sim.report import Report
from hwloop.sim.schedule import DemandChunk, array_schedule
from hwloop.traces import InputError, TraceFile, open_trace

from ._layer import finish_row

_READ_ROWS = 16384


def recorded_accelerator(trace: TraceFile) -> Accelerator:
    """The accelerator a trace was recorded on."""
    try:
        return Accelerator.from_dict(trace.attrs["architecture"])
    except (KeyError, TypeError):
        raise InputError("no recorded architecture: replay needs a trace written by "
                         "`hwloop simulate --trace` (an imported SCALE-Sim trace has none)",
                         source=str(trace.path), field="architecture") from None
    except InputError as exc:
        raise exc.located(source=str(trace.path)) from None
    except ValueError as exc:  # a config refusing a recorded value
        raise InputError(f"the recorded architecture is not valid ({exc})",
                         source=str(trace.path), field="architecture") from None


def _recorded_config(trace: TraceFile) -> dict:
    """The run config a trace recorded (``{}`` if none)."""
    config = trace.attrs.get("config", {})
    if not isinstance(config, dict):
        raise InputError(f"the recorded config must be a JSON object, got {type(config).__name__}",
                         source=str(trace.path), field="config")
    return config


def replay(path: str | os.PathLike[str], accel: Accelerator | None = None, *,
           overrides: dict | None = None) -> Report:
    """Re-time the run recorded in ``path`` on ``accel`` (default: the recorded one, with
    ``overrides`` such as ``bandwidth=``, ``ofmap_kb=`` or ``dram_model=`` applied)."""
    with open_trace(path) as trace:
        recorded = recorded_accelerator(trace)
        recorded_config = _recorded_config(trace)
        target = (accel or recorded).with_overrides(**(overrides or {}))
        if target.array != recorded.array:
            raise InputError(f"trace was recorded on a {_array(recorded)} array; it cannot be "
                             f"replayed on a {_array(target)} array", source=str(path),
                             field="array")
        records = [_replay_layer(trace, index, target) for index in range(len(trace.layers))]
        config = {**recorded_config, "accelerator": target.to_dict(),
                  "replayed_from": os.path.abspath(path)}
    return Report.from_records(records, config, target.pes,
                               extra_totals=energy_totals(records, target))


def _array(accel: Accelerator) -> str:
    a = accel.array
    return f"{a.rows}x{a.cols} {a.dataflow.value.upper()}"


def _replay_layer(trace: TraceFile, index: int, accel: Accelerator) -> dict:
    layer_trace = trace.layers[index]
    source = str(trace.path)
    try:
        layer = layer_from_attrs(layer_trace.attrs["layer"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"layer {index} has no usable 'layer' attribute ({exc})",
                         source=source, field="layer") from None
    sched = array_schedule(layer, accel.array)
    rows = sched.demand_rows
    for dataset, width in zip(SRAM_DATASETS.values(), sched.edge_widths):
        shape = (layer_trace.length(dataset), _row_shape(layer_trace, dataset))
        if shape != (rows, (width,)):
            raise InputError(f"layer {index} ('{layer_trace.name}'): {dataset} has shape "
                             f"{shape[0]} x {shape[1]}, but the recorded array gives "
                             f"{rows} x ({width},): the trace does not match its architecture",
                             source=source, field=dataset)
    accel = packed(accel, *layer_bits(layer, accel))
    addresses, demands = demand_bounds(sched)
    events: MemoryEvents = collect_events(
        _recorded_chunks(layer_trace, addresses), accel.sram, last_row=rows - 1, max_addresses=addresses,
        max_demands=demands, record_addresses=accel.dram.model is not None)
    row = finish_row(simulate_systolic_layer(layer, accel, events=events), layer, accel)
    row["name"] = layer_trace.name
    return row


def _row_shape(layer_trace, name: str) -> tuple:
    first = next(layer_trace.iter_chunks(name, rows=1), None)
    return () if first is None else tuple(first.shape[1:])


def _recorded_chunks(layer_trace, bounds: tuple[int, int]) -> Iterator[DemandChunk]:
    """The recorded demand, chunk by chunk, refusing addresses outside the operands."""
    streams = [layer_trace.iter_chunks(name, rows=_READ_ROWS) for name in SRAM_DATASETS.values()]
    row0 = 0
    for ifmap, filt, ofmap in zip(*streams):
        for name, rows, bound in zip(SRAM_DATASETS.values(), (ifmap, filt), bounds):
            if rows.size and (rows.max() >= bound or rows.min() < -1):
                raise InputError(f"layer {layer_trace.index} ('{layer_trace.name}'): {name} "
                                 f"holds an address outside the operand's {bound} words "
                                 f"near row {row0}: the trace does not match its layer",
                                 source=layer_trace.source, field=name)
        yield DemandChunk(row0, ifmap, filt, ofmap)
        row0 += ifmap.shape[0]
