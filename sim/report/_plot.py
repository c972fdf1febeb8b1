"""Plots of a Report. They draw and return a Figure; saving is the caller's business."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._report import Report

#: Layer names longer than this are shortened in the middle, so that tick labels stay legible.
_NAME_CHARS = 28
#: Utilisation lines: column, label and style. Overall and compute utilisation are often
#: equal, so each line differs in dash and marker as well as colour.
_UTIL_LINES = (("overall_util", "overall", {"linestyle": "-", "marker": "o", "markersize": 7}),
               ("compute_util", "compute", {"linestyle": "--", "marker": "s", "markersize": 5,
                                            "markerfacecolor": "none"}),
               ("mapping_eff", "mapping efficiency", {"linestyle": ":", "marker": "^"}))


def plot_formats() -> frozenset[str]:
    """File suffixes matplotlib writes a figure as (png, pdf, svg, ...), to check a plot's path
    before the run rather than fail after it."""
    from matplotlib.backend_bases import FigureCanvasBase

    return frozenset(FigureCanvasBase.get_supported_filetypes())


def plot_report(report: "Report", title: str | None = None) -> "Figure":
    """Per-layer cycles (bars, top; memory stalls shaded) and utilisation (%, bottom).

    ``title`` replaces the default: the network and array, or, for a report from ``replay``,
    that it is a what-if and under which memory settings.
    """
    from matplotlib.figure import Figure

    frame = report.layers
    x = list(range(len(frame)))
    fig = Figure(figsize=(max(6.0, 0.35 * len(frame) + 2), 6.5), layout="constrained")
    cycles_ax, util_ax = fig.subplots(2, 1, sharex=True)
    _draw_cycles(cycles_ax, x, frame)
    fig.suptitle(report_title(report.config) if title is None else title, fontsize="medium")
    for column, label, style in _UTIL_LINES:
        util_ax.plot(x, frame[column], label=label, **style)
    util_ax.set_ylabel("utilisation (%)")
    util_ax.set_ylim(0, 105)
    util_ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3, fontsize="small",
                   frameon=False, borderaxespad=0.2)
    util_ax.set_xticks(x, [short_name(name) for name in frame["name"]], rotation=45, ha="right",
                       rotation_mode="anchor", fontsize="small")
    util_ax.set_xlabel("layer")
    return fig


def _draw_cycles(ax: "Axes", x: list[int], frame) -> None:
    """Bars of each layer's cycles, the stalled part of each shaded where there is one."""
    from matplotlib.ticker import StrMethodFormatter

    total = frame["total_cycles"]
    stall = frame["stall_cycles"] if "stall_cycles" in frame else None
    if stall is None or not (stall > 0).any():
        ax.bar(x, total, color="tab:blue")
    else:
        ax.bar(x, total - stall, color="tab:blue", label="computing")
        ax.bar(x, stall, bottom=total - stall, color="tab:orange", hatch="//",
               edgecolor="white", label="stalled on memory")
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, fontsize="small",
                  frameon=False, borderaxespad=0.2)
    ax.set_ylabel("cycles per layer")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def report_title(config: dict) -> str:
    """The network on its array; for a replayed report, what-if and its memory settings."""
    accel = config.get("accelerator", {})
    array = accel.get("array", {})
    title = str(config.get("workload", {}).get("network", ""))
    if array:
        title += f" on {array['rows']}x{array['cols']} {str(array['dataflow']).upper()}"
    replayed = config.get("replayed_from")
    if not replayed:
        return title
    return "\n".join([f"what-if replay of {os.path.basename(str(replayed))}: {title}",
                      *memory_settings(accel)])


def memory_settings(accel: dict) -> list[str]:
    """Buffers and DRAM of an accelerator dict (what a replay changes), one line each."""
    sram, dram = accel.get("sram", {}), accel.get("dram", {})
    parts = []
    if sram:
        parts.append("SRAM ifmap/filter/ofmap "
                     f"{sram.get('ifmap_kb')}/{sram.get('filter_kb')}/{sram.get('ofmap_kb')} KiB")
    if dram.get("model"):
        parts.append(f"DRAM {dram['model']}")
    elif dram:
        ports = [dram.get(f"{op}_bandwidth") or dram.get("bandwidth")
                 for op in ("ifmap", "filter", "ofmap")]
        shown = ["unlimited" if bw is None else str(bw) for bw in ports]
        same = shown[0] if len(set(shown)) == 1 else "/".join(shown)
        unit = "" if same == "unlimited" else " words/cycle"
        parts.append(f"DRAM bandwidth {same}{unit}, latency {dram.get('latency_cycles', 0)} cycles")
    return parts


def short_name(name: str, limit: int = _NAME_CHARS) -> str:
    """``name`` cut to ``limit`` characters, keeping its start and more of its end."""
    name = str(name)
    if len(name) <= limit:
        return name
    head = limit // 3  # the end of a long name tells layers apart more often
    return f"{name[:head]}…{name[len(name) - (limit - 1 - head):]}"
