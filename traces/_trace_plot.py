"""Bandwidth-over-time plot of a trace file; matplotlib is imported only when plotting."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from ._hdf5 import LayerTrace, open_trace
from ._trace_summary import STREAMS, has_stream, layer_bandwidth

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Colour and dash of each operand, the same on SRAM and DRAM: ifmap and filter rates often
#: sit on top of each other, so they differ in dash as well as colour.
_OPERAND_STYLES = {"ifmap": ("tab:blue", "-"), "filter": ("tab:orange", "--"),
                   "ofmap": ("tab:green", "-.")}
_STYLES = {stream.name: _OPERAND_STYLES[stream.operand] for stream in STREAMS}
#: Above this many layers, the layer names over the plot stand upright to fit, cut in the
#: middle to this many characters and led by the layer's index (``--layer`` takes it).
_UPRIGHT_NAMES = 8
_NAME_CHARS = 24


def plot_bandwidth(trace_path: str | os.PathLike[str], layer_index: int | None = None,
                   bins: int = 200) -> Figure:
    """Words per cycle of every stream, SRAM above DRAM; returns the figure, never saves it.

    With ``layer_index``, that layer on its own cycles. Without it, the whole run: each layer
    is cut into ``bins`` bins of its own and shifted to start where the previous one ended
    (dotted lines mark where layers start, and the layers' names run along the top).
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 6), layout="constrained")
    sram, dram = figure.subplots(2, 1, sharex=True)
    with open_trace(trace_path) as trace:
        layers = trace.layers if layer_index is None else [trace.layer(layer_index)]
        spans = _draw_layers(sram, dram, layers, bins, mark_starts=layer_index is None)
        name = trace.path.name
        title = (f"{name}: layer {layers[0].index} ({layers[0].name})" if layer_index is not None
                 else f"{name}: {len(layers)} layers back to back")
    figure.suptitle(title)
    if layer_index is None and spans:
        _name_layers(sram, spans)
    for axes, memory in ((sram, "SRAM"), (dram, "DRAM")):
        axes.set_ylabel(f"{memory} words / cycle")
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                        fontsize="small", title=memory, title_fontsize="small")
    dram.set_xlabel("cycle" if layer_index is not None else "cycle (layers back to back)")
    _cycle_ticks(dram)
    return figure


def _draw_layers(sram: Axes, dram: Axes, layers, bins: int,
                 mark_starts: bool) -> list[tuple[float, float, int, str]]:
    """Draw each layer's streams after the previous layer; returns each one's start, end,
    index and name."""
    end = None  # where the previous layer drawn ended, in plot cycles
    labelled: set[str] = set()
    spans: list[tuple[float, float, int, str]] = []
    for layer in layers:
        series = _layer_series(layer, bins)
        if not series:
            continue
        first = min(int(edges[0]) for edges, _ in series.values())
        shift = 0 if end is None else end - first
        for name, (edges, rate) in series.items():
            axes = sram if "_sram_" in name else dram
            color, dash = _STYLES[name]
            axes.stairs(rate, edges + shift, color=color, linestyle=dash, linewidth=1.2,
                        label=None if name in labelled else name)
            labelled.add(name)
        if mark_starts and end is not None:
            for axes in (sram, dram):
                axes.axvline(first + shift, color="0.6", linestyle=":", linewidth=0.8)
        end = max(int(edges[-1]) for edges, _ in series.values()) + shift
        spans.append((first + shift, end, layer.index, layer.name))
    return spans


def _name_layers(axes: Axes, spans: list[tuple[float, float, int, str]]) -> None:
    """The layers' names along the top of ``axes``, each over the middle of its span."""
    top = axes.secondary_xaxis("top")
    upright = len(spans) > _UPRIGHT_NAMES
    names = [f"{index}: {_cut(name)}" if upright else name for *_, index, name in spans]
    top.set_xticks([(start + end) / 2 for start, end, *_ in spans], names,
                   rotation=90 if upright else 0, fontsize="x-small" if upright else "small")
    top.tick_params(length=0)


def _cut(name: str) -> str:
    """``name`` cut to ``_NAME_CHARS`` characters, keeping its start and more of its end."""
    if len(name) <= _NAME_CHARS:
        return name
    head = _NAME_CHARS // 3  # the end of a long name tells layers apart more often
    return f"{name[:head]}…{name[len(name) - (_NAME_CHARS - 1 - head):]}"


def _cycle_ticks(axes: Axes) -> None:
    """Whole cycles with thousands separators, not a ``1e6`` offset in the corner."""
    from matplotlib.ticker import StrMethodFormatter

    axes.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _layer_series(layer: LayerTrace, bins: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Bin edges and words per cycle of each stream of ``layer`` that has accesses."""
    series = {}
    for stream in STREAMS:
        if has_stream(layer, stream):
            edges, rate = layer_bandwidth(layer, stream, bins)
            if len(rate):
                series[stream.name] = (edges, rate)
    return series
