"""The figures of a search: its history (one panel per objective) and, for two objectives,
its Pareto front. Each function returns a matplotlib ``Figure`` and never saves it.

Objectives are shown in the units a reader checks them against: cycles, pJ, pJ x cycles,
mm^2, and accuracies in percent (the study stores fractions).
"""
from __future__ import annotations

import math
from typing import Any, Collection, Sequence

#: The unit of each objective, as axis labels and the table printed after a search show it.
UNITS = {"latency": "cycles", "energy": "pJ", "edp": "pJ x cycles", "area": "mm^2",
         "accuracy": "%", "analog_accuracy": "%"}
#: Matplotlib's rendering of those units (mathtext for the square and the times sign).
_AXIS_UNITS = {**UNITS, "edp": r"pJ $\times$ cycles", "area": r"mm$^2$"}
#: A wider span than this (largest / smallest value) gets a logarithmic axis.
_LOG_SPAN = 30.0
#: Pareto points marked with their trial number (a longer front would be a blur of labels).
_LABELLED = 20


def shown(objective: str, value: float) -> float:
    """``value`` in the unit of :data:`UNITS` (an accuracy fraction as a percentage)."""
    return 100.0 * value if UNITS.get(objective) == "%" else value


def axis_label(objective: str, power: int = 0, maximised: Collection[str] = ()) -> str:
    """``latency (cycles)``, or ``latency (10^6 cycles)`` for ticks in millions; a maximised
    objective says so."""
    unit = _AXIS_UNITS.get(objective, "")
    unit = f"$10^{{{power}}}$ {unit}".strip() if power else unit
    label = f"{objective} ({unit})" if unit else objective
    return label + (", higher is better" if objective in maximised else "")


def history_figure(rows: Sequence[dict], objectives: Sequence[str],
                   maximised: Collection[str] = ()) -> Any:
    """Every objective against the trial number, one panel each: feasible trials, simulated
    trials that broke a constraint, and the best feasible value so far (``maximised``: the
    objectives searched upwards)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(7, 1.2 + 2.3 * len(objectives)), layout="constrained")
    axes = fig.subplots(len(objectives), 1, sharex=True, squeeze=False)[:, 0]
    for ax, objective in zip(axes, objectives):
        _history_panel(ax, rows, objective, maximised)
    axes[-1].set_xlabel("trial")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].set_xlim(-0.5, max([1, *(r["trial"] for r in rows)]) + 0.5)
    feasible = sum(bool(r["feasible"]) for r in rows)
    fig.suptitle(f"search history: {len(rows)} trial{'s' * (len(rows) != 1)}, "
                 f"{feasible} feasible")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize="small")
    return fig


def _history_panel(ax: Any, rows: Sequence[dict], objective: str,
                   maximised: Collection[str]) -> None:
    done = sorted((r for r in rows if r[objective] is not None), key=lambda r: r["trial"])
    feasible = [r for r in done if r["feasible"]]
    broke = [r for r in done if not r["feasible"]]
    if broke:
        ax.scatter([r["trial"] for r in broke], [shown(objective, r[objective]) for r in broke],
                   s=12, marker="x", color="0.6", label="broke a constraint")
    ax.scatter([r["trial"] for r in feasible],
               [shown(objective, r[objective]) for r in feasible], s=12, label="feasible")
    sign = -1.0 if objective in maximised else 1.0
    best: float | None = None
    xs, ys = [], []
    for r in feasible:
        if best is None or sign * r[objective] < sign * best:
            best = r[objective]
        xs.append(r["trial"])
        ys.append(shown(objective, best))
    if xs:
        xs.append(max(r["trial"] for r in rows))
        ys.append(ys[-1])
    ax.step(xs, ys, where="post", color="C3", label="best feasible so far")
    _scale(ax, "y", [shown(objective, r[objective]) for r in done], objective, maximised)
    ax.grid(True, alpha=0.3)


def pareto_figure(rows: Sequence[dict], front: Sequence[dict], objectives: Sequence[str],
                  maximised: Collection[str] = ()) -> Any:
    """The feasible trials of a two-objective search and their Pareto front (the staircase
    bounding what it dominates): all of them, then the front close up with trial numbers,
    since the front sits in one corner of the cloud."""
    from matplotlib.figure import Figure

    a, b = objectives
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    whole, close = fig.subplots(1, 2)
    done = [r for r in rows if r["feasible"]]
    points = sorted((shown(a, r[a]), shown(b, r[b]), r["trial"]) for r in front)
    for ax in (whole, close):
        ax.scatter([shown(a, r[a]) for r in done], [shown(b, r[b]) for r in done], s=14,
                   color="0.65", label=f"feasible trial ({len(done)})")
        ax.step([p[0] for p in points], [p[1] for p in points], "o-", color="C3",
                where="pre" if a in maximised else "post", label=f"Pareto front ({len(front)})")
        _scale(ax, "x", [shown(a, r[a]) for r in done], a, maximised)
        _scale(ax, "y", [shown(b, r[b]) for r in done], b, maximised)
        ax.grid(True, alpha=0.3)
    whole.set_title("every feasible trial")
    whole.legend(loc="best", fontsize="small")
    close.set_title("the front close up (trial numbers)")
    if points:
        _zoom(close, "x", [p[0] for p in points])
        _zoom(close, "y", [p[1] for p in points])
    if len(points) <= _LABELLED:  # on the side of each point the staircase leaves free
        free = ((5, -5), "left", "top") if a in maximised else ((-5, 5), "right", "bottom")
        for x, y, trial in points:
            close.annotate(f"#{trial}", (x, y), xytext=free[0], textcoords="offset points",
                           ha=free[1], va=free[2], fontsize="small", color="C3")
    fig.suptitle(f"Pareto front: {len(front)} of {len(done)} feasible trials")
    return fig


def _zoom(ax: Any, axis: str, values: Sequence[float]) -> None:
    """Limit the axis to ``values`` with a margin: 15% of their span (5% of a lone value)
    either side, measured in decades on a log axis."""
    log = getattr(ax, f"get_{axis}scale")() == "log"
    ends = [math.log10(v) for v in values] if log else list(values)
    low, high = min(ends), max(ends)
    pad = 0.15 * (high - low) or (0.02 if log else 0.05 * abs(high)) or 1.0
    limits = (low - pad, high + pad)
    getattr(ax, f"set_{axis}lim")(*(10 ** v for v in limits) if log else limits)


def _scale(ax: Any, axis: str, values: Sequence[float], objective: str,
           maximised: Collection[str]) -> None:
    """Label the axis with the objective and its unit. Values spanning orders of magnitude
    get a log axis; large ones a power of ten in the unit (``energy (10^9 pJ)``), since
    matplotlib's own ``1e9`` at the axis end is easily read against the wrong unit."""
    from matplotlib.ticker import FuncFormatter

    positive = [v for v in values if v > 0]
    if positive and len(positive) == len(values) and max(positive) > _LOG_SPAN * min(positive):
        getattr(ax, f"set_{axis}scale")("log")
        getattr(ax, f"set_{axis}label")(axis_label(objective, 0, maximised))
        return
    largest = max((abs(v) for v in values), default=0.0)
    power = 3 * int(math.log10(largest) // 3) if largest >= 1e4 else 0
    getattr(ax, f"set_{axis}label")(axis_label(objective, power, maximised))
    if power:
        getattr(ax, f"{axis}axis").set_major_formatter(
            FuncFormatter(lambda v, _: f"{v / 10.0 ** power:g}"))
