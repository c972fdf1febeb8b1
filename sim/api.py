"""The pipeline, chained in one place: workload + accelerator -> per-layer model -> Report."""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from importlib import metadata

from hwloop.arch import Accelerator
from hwloop.traces import InputError, Layer, Network

from ._report import Report
from ._models import model_for

logger = logging.getLogger(__name__)


def hwloop_version() -> str:
    try:
        return metadata.version("hwloop")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def simulate_layer(layer: Layer, accel: Accelerator, *, scalesim_compat: bool = False,
                   recorder=None) -> dict:
    """One layer's counters (a report row) on ``accel``."""
    from ._precision import add_width_columns

    row = model_for(accel).simulate_layer(layer, accel, scalesim_compat=scalesim_compat,
                                          recorder=recorder)
    add_width_columns(row, layer, accel)
    row["time_s"] = row["total_cycles"] / (accel.clock_ghz * 1e9)
    return row


def simulate(network: Network | Layer, accel: Accelerator, *, scalesim_compat: bool = False,
             source: dict | None = None, progress: bool = False,
             trace: str | os.PathLike[str] | None = None) -> Report:
    """Simulate every layer of ``network`` on ``accel`` and return a :class:`Report`.

    ``scalesim_compat`` reproduces SCALE-Sim v3's numbers, defects included. ``source``
    records where the workload came from (file or built-in name) in the report's config.
    ``trace`` records every layer's SRAM and DRAM access trace into that HDF5 file (written
    whole or not at all).
    """
    if isinstance(network, Layer):
        network = Network(name=network.name, layers=(network,))
    model_for(accel).check(accel)  # an accelerator error is not any layer's fault
    layers = network.layers
    if progress:
        from tqdm import tqdm

        layers = tqdm(layers, desc=network.name, unit="layer", leave=False)
    config = {
        "hwloop_version": hwloop_version(),
        "accelerator": accel.to_dict(),
        "workload": {"network": network.name, **(source or {})},
        "scalesim_compat": scalesim_compat,
    }
    if trace is not None:
        records = _simulate_traced(network, layers, accel, scalesim_compat, config, trace)
        return Report.from_records(records, config, accel.array.num_pes)
    records = []
    done: dict[Layer, dict] = {}  # identical shapes (ResNet blocks, attention heads) run once
    for index, layer in enumerate(layers):
        shape = replace(layer, name="")
        if shape not in done:
            try:
                done[shape] = simulate_layer(layer, accel, scalesim_compat=scalesim_compat)
            except InputError as exc:
                raise network.locate(exc, index) from None
        records.append({**done[shape], "name": layer.name})
    return Report.from_records(records, config, accel.array.num_pes)


def _simulate_traced(network: Network, layers, accel: Accelerator, scalesim_compat: bool,
                     config: dict, path) -> list[dict]:
    """Simulate layer by layer, recording each layer's trace into one HDF5 file."""
    from hwloop.traces import TraceWriter

    from ._trace_record import TRACE_UNITS, LayerRecorder, layer_to_attrs

    records = []
    done: dict[Layer, tuple] = {}  # an identical shape's trace is stored once and linked
    with TraceWriter(path, attrs={"architecture": accel.to_dict(), "config": config,
                                  "units": TRACE_UNITS}) as writer:
        for index, layer in enumerate(layers):
            out = writer.add_layer(index, layer.name, attrs={"layer": layer_to_attrs(layer),
                                                             "groups": layer.groups})
            shape = replace(layer, name="")
            if shape in done:
                first, row = done[shape]
                out.link_datasets(first)
                row = {**row, "name": layer.name}
            else:
                try:
                    row = simulate_layer(layer, accel, scalesim_compat=scalesim_compat,
                                         recorder=LayerRecorder(out))
                except InputError as exc:
                    raise network.locate(exc, index) from None
                done[shape] = (out, row)
            out.set_attrs({"report": row})
            records.append(row)
    return records
