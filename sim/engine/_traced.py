"""A run recorded into one HDF5 trace file, layer by layer."""
from __future__ import annotations

import os
from dataclasses import replace

from hwloop.arch import Accelerator
from hwloop.sim.memory import TRACE_UNITS, LayerRecorder, layer_to_attrs
from hwloop.traces import InputError, Layer, Network, TraceWriter

from ._layer import simulate_layer


def simulate_traced(network: Network, layers, accel: Accelerator, scalesim_compat: bool,
                    config: dict, path: str | os.PathLike[str]) -> list[dict]:
    """Simulate layer by layer, recording each layer's trace into one HDF5 file."""
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
