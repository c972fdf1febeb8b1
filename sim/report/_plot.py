"""Plots of a Report. They draw and return a Figure; saving is the caller's business."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._report import Report


def plot_formats() -> frozenset[str]:
    """File suffixes matplotlib writes a figure as (png, pdf, svg, ...), to check a plot's path
    before the run rather than fail after it."""
    from matplotlib.backend_bases import FigureCanvasBase

    return frozenset(FigureCanvasBase.get_supported_filetypes())


def plot_report(report: "Report") -> "Figure":
    """Per-layer cycles (bars, top) and utilisation (percent, bottom)."""
    from matplotlib.figure import Figure

    frame = report.layers
    x = range(len(frame))
    fig = Figure(figsize=(max(6.0, 0.35 * len(frame) + 2), 6), layout="constrained")
    cycles_ax, util_ax = fig.subplots(2, 1, sharex=True)
    cycles_ax.bar(x, frame["total_cycles"], color="tab:blue")
    cycles_ax.set_ylabel("cycles")
    accel = report.config.get("accelerator", {}).get("array", {})
    title = report.config.get("workload", {}).get("network", "")
    if accel:
        title += f" on {accel['rows']}x{accel['cols']} {accel['dataflow'].upper()}"
    cycles_ax.set_title(title)
    util_ax.plot(x, frame["overall_util"], marker="o", label="overall")
    util_ax.plot(x, frame["compute_util"], marker="s", label="compute")
    util_ax.plot(x, frame["mapping_eff"], marker="^", label="mapping efficiency")
    util_ax.set_ylabel("percent")
    util_ax.set_ylim(0, 105)
    util_ax.legend(loc="lower right", fontsize="small")
    util_ax.set_xticks(list(x), frame["name"], rotation=60, ha="right", fontsize="small")
    return fig
