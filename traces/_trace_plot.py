"""Bandwidth-over-time plot of a trace file; matplotlib is imported only when plotting."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from ._hdf5 import LayerTrace, open_trace
from ._trace_summary import STREAMS, has_stream, layer_bandwidth

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_COLORS = dict(zip((stream.name for stream in STREAMS),
                   ("tab:blue", "tab:orange", "tab:green") * 2))


def plot_bandwidth(trace_path: str | os.PathLike[str], layer_index: int | None = None,
                   bins: int = 200) -> Figure:
    """Words per cycle of every stream, SRAM above DRAM; returns the figure, never saves it.

    With ``layer_index``, that layer on its own cycles. Without it, the whole run: each layer
    is cut into ``bins`` bins of its own and shifted to start where the previous one ended
    (dotted lines mark where layers start).
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 6), layout="constrained")
    sram, dram = figure.subplots(2, 1, sharex=True)
    with open_trace(trace_path) as trace:
        layers = trace.layers if layer_index is None else [trace.layer(layer_index)]
        end = None  # where the previous layer drawn ended, in plot cycles
        labelled: set[str] = set()
        for layer in layers:
            series = _layer_series(layer, bins)
            if not series:
                continue
            first = min(int(edges[0]) for edges, _ in series.values())
            shift = 0 if end is None else end - first
            for name, (edges, rate) in series.items():
                axes = sram if "_sram_" in name else dram
                axes.stairs(rate, edges + shift, color=_COLORS[name],
                            label=None if name in labelled else name)
                labelled.add(name)
            if layer_index is None and end is not None:
                for axes in (sram, dram):
                    axes.axvline(first + shift, color="0.6", linestyle=":", linewidth=0.8)
            end = max(int(edges[-1]) for edges, _ in series.values()) + shift
        name = trace.path.name
        title = (f"{name}: layer {layers[0].index} ({layers[0].name})" if layer_index is not None
                 else f"{name}: {len(layers)} layers back to back")
    figure.suptitle(title)
    for axes, memory in ((sram, "SRAM"), (dram, "DRAM")):
        axes.set_ylabel(f"{memory} words / cycle")
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="best", fontsize="small")
    dram.set_xlabel("cycle")
    return figure


def _layer_series(layer: LayerTrace, bins: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Bin edges and words per cycle of each stream of ``layer`` that has accesses."""
    series = {}
    for stream in STREAMS:
        if has_stream(layer, stream):
            edges, rate = layer_bandwidth(layer, stream, bins)
            if len(rate):
                series[stream.name] = (edges, rate)
    return series
