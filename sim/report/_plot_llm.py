"""The plots of an LLM run (``simulate_llm``): time per generated token over the context,
and where prefill and decode spend their time, by operator kind."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._plot import report_title

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._report import Report


def plot_llm(report: "Report", title: str | None = None) -> "Figure":
    """Left: each decode step's time (ms) against the context it attends to. Right: the
    share of prefill and of decode time in each operator kind (stacked bars)."""
    from matplotlib.figure import Figure

    frame = report.layers
    workload = report.config["workload"]
    seconds = (frame["total_cycles"] + frame["prefetch_cycles"].fillna(0)) / (
        report.config["accelerator"]["clock_ghz"] * 1e9)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    step_ax, kind_ax = fig.subplots(1, 2)
    decode = frame["phase"] == "decode"
    per_step = seconds[decode].groupby(frame.loc[decode, "step"]).sum()
    step_ax.plot(workload["prompt_len"] + per_step.index, per_step.to_numpy() * 1e3, marker=".")
    step_ax.set_xlabel("context (positions attended to)")
    step_ax.set_ylabel("time per decode step (ms)")
    step_ax.set_ylim(bottom=0)
    shares = seconds.groupby([frame["phase"], frame["kind"]]).sum().unstack(fill_value=0.0)
    shares = shares.div(shares.sum(axis=1), axis=0).reindex(["prefill", "decode"]).fillna(0.0)
    bottom = [0.0] * len(shares)
    for kind in shares.columns:
        values = (shares[kind] * 100).tolist()
        kind_ax.bar(shares.index, values, bottom=bottom, label=kind)
        bottom = [b + v for b, v in zip(bottom, values)]
    kind_ax.set_ylabel("share of the phase's time (%)")
    kind_ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small", frameon=False)
    fig.suptitle(title or f"{report_title(report.config)}, prompt {workload['prompt_len']}, "
                 f"{workload['gen_len']} generated, batch {workload['batch']}", fontsize="medium")
    return fig
