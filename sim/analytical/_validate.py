"""Validating a cost model against the cycle-level engine: per-layer error, MAPE, worst case,
Kendall tau, and a scatter plot.

Predictions come from hwloop's analytical model (:func:`analytical_predictions`), a plain CSV
(:func:`read_predictions_csv`: ``layer,cycles[,energy_pj]``) or ZigZag runs
(:func:`read_zigzag_json`, one layer each, as ``../shared/peers/analytical/`` writes them).
:func:`compare` pairs them with a :class:`~hwloop.sim.Report` of the same layers and hardware.
"""
from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwloop.traces import InputError, Layer, LayerKind

#: Columns of :attr:`Validation.layers`.
LAYER_COLUMNS = ("layer", "predicted", "simulated", "error_pct", "predicted_energy_pj",
                 "simulated_energy_pj", "energy_error_pct")


@dataclass(frozen=True)
class Prediction:
    """One layer's predicted cycles (and energy in pJ, if the model gives it)."""

    cycles: float
    energy_pj: float | None = None


@dataclass(frozen=True)
class Validation:
    """Predictions against simulated cycles: the per-layer table and the summary numbers.

    ``mape`` is the mean over layers of ``|predicted - simulated| / simulated x 100``,
    ``max_abs_pct_error`` the largest of those, ``kendall_tau`` the rank correlation of
    predicted and simulated cycles (None for fewer than two layers or constant values),
    ``mape_energy`` the MAPE of energy where every layer has a predicted energy.
    """

    source: str
    layers: Any  # pandas DataFrame with LAYER_COLUMNS
    mape: float
    max_abs_pct_error: float
    kendall_tau: float | None
    mape_energy: float | None = None
    config: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        rows = [{"layer": r.layer, "predicted": float(r.predicted), "simulated": float(r.simulated),
                 "error_pct": float(r.error_pct)} for r in self.layers.itertuples()]
        if self.mape_energy is not None:
            for row, r in zip(rows, self.layers.itertuples()):
                row.update(predicted_energy_pj=float(r.predicted_energy_pj),
                           simulated_energy_pj=float(r.simulated_energy_pj),
                           energy_error_pct=float(r.energy_error_pct))
        out = {"source": self.source, "mape": self.mape,
               "max_abs_pct_error": self.max_abs_pct_error, "kendall_tau": self.kendall_tau}
        if self.mape_energy is not None:
            out["mape_energy"] = self.mape_energy
        return {**out, "layers": rows, "config": self.config}

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Strict JSON: a missing number (NaN, an infinite error) is ``null``."""
        from hwloop.sim.report import strict_json, write_atomic

        write_atomic(path, strict_json(self.to_dict()))

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        from hwloop.sim.report import write_atomic

        write_atomic(path, self.layers.to_csv(index=False))

    def summary(self) -> str:
        tau = "n/a" if self.kendall_tau is None else f"{self.kendall_tau:.3f}"
        text = (f"{self.source}: {len(self.layers)} layers, MAPE {self.mape:.2f}%, worst "
                f"{self.max_abs_pct_error:.2f}%, Kendall tau {tau}")
        if self.mape_energy is not None:
            text += f", energy MAPE {self.mape_energy:.2f}%"
        return text

    def table(self) -> str:
        """Per-layer cycles and error as text: whole cycle counts without decimals, the
        error (and any fractional prediction) with two."""
        columns = ["layer", "predicted", "simulated", "error_pct"]
        return self.layers[columns].to_string(
            index=False, formatters={"predicted": format_count, "simulated": format_count,
                                     "error_pct": "{:.2f}".format})


def format_count(value: float) -> str:
    """``163,855`` for a whole number, ``1,234.50`` for a fractional one."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def pct_errors(predicted: Sequence[float | None], simulated: Sequence[float | None]):
    """Signed percentage errors ``(predicted - simulated) / simulated x 100`` (a None value,
    an energy the model does not give, reads as NaN)."""
    import numpy as np

    p, s = np.asarray(predicted, dtype=float), np.asarray(simulated, dtype=float)
    return (p - s) / np.maximum(s, 1e-300) * 100.0


def kendall_tau(predicted: Sequence[float], simulated: Sequence[float]) -> float | None:
    """Kendall's tau-b (``scipy.stats.kendalltau``); None where it is undefined."""
    if len(predicted) < 2:
        return None
    from scipy.stats import kendalltau

    tau = kendalltau(predicted, simulated).statistic
    return None if tau is None or math.isnan(tau) else float(tau)


def compare(predictions: Mapping[str, Prediction], simulated: Mapping[str, Prediction], *,
            source: str, config: dict | None = None) -> Validation:
    """Pair predictions with simulated values by layer name (the simulated order)."""
    import pandas as pd

    names = [name for name in simulated if name in predictions]
    if not names:
        raise InputError("no predicted layer was simulated", field="layer")
    pred = [predictions[n].cycles for n in names]
    sim = [simulated[n].cycles for n in names]
    err = pct_errors(pred, sim)
    frame = pd.DataFrame({"layer": names, "predicted": pred, "simulated": sim, "error_pct": err})
    energies = [predictions[n].energy_pj for n in names]
    mape_energy = None
    if all(e is not None for e in energies):
        sim_e = [simulated[n].energy_pj for n in names]
        frame["predicted_energy_pj"] = energies
        frame["simulated_energy_pj"] = sim_e
        frame["energy_error_pct"] = pct_errors(energies, sim_e)
        mape_energy = float(abs(frame["energy_error_pct"]).mean())
    return Validation(source=source, layers=frame, mape=float(abs(err).mean()),
                      max_abs_pct_error=float(abs(err).max()), kendall_tau=kendall_tau(pred, sim),
                      mape_energy=mape_energy, config=config or {})


def simulated_values(report) -> dict[str, Prediction]:
    """A Report's cycles and energy per layer name (a repeated name keeps its first row)."""
    out: dict[str, Prediction] = {}
    energy = report.layers["energy_pj"] if "energy_pj" in report.layers else None
    for i, (name, cycles) in enumerate(zip(report.layers["name"], report.layers["total_cycles"])):
        out.setdefault(name, Prediction(float(cycles),
                                        None if energy is None else float(energy.iloc[i])))
    return out


def analytical_predictions(network, accel) -> dict[str, Prediction]:
    """hwloop's analytical model (``sim/analytical/_model.py``) as predictions per layer."""
    from ._model import analytical_model

    frame = analytical_model(network, accel)
    out: dict[str, Prediction] = {}
    for name, cycles, energy in zip(frame["name"], frame["total_cycles"], frame["energy_pj"]):
        out.setdefault(name, Prediction(float(cycles), float(energy)))
    return out


def read_predictions_csv(path: str | os.PathLike[str],
                         layer_names: Sequence[str]) -> dict[str, Prediction]:
    """``layer,cycles[,energy_pj]`` rows; every ``layer`` must name a layer of the workload."""
    source = str(path)
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a text file"
        raise InputError(f"cannot read predictions: {reason}", source=source) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise InputError("empty predictions file; expected a header layer,cycles[,energy_pj]",
                         source=source, line=1)
    header = [cell.strip().lower() for cell in rows[0]]
    for needed in ("layer", "cycles"):
        if needed not in header:
            raise InputError(f"header needs a {needed!r} column (layer,cycles[,energy_pj]), "
                             f"got {','.join(header)}", source=source, line=1, field=needed)
    unknown_cols = [c for c in header if c not in ("layer", "cycles", "energy_pj")]
    if unknown_cols:
        raise InputError(f"unknown column(s) {', '.join(unknown_cols)}; expected "
                         "layer,cycles[,energy_pj]", source=source, line=1, field=unknown_cols[0])
    known = set(layer_names)
    out: dict[str, Prediction] = {}
    unknown: list[tuple[int, str]] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"expected {len(header)} fields, got {len(row)}", source=source,
                             line=number)
        cells = dict(zip(header, (cell.strip() for cell in row)))
        name = cells["layer"]
        if name not in known:
            unknown.append((number, name))
            continue
        if name in out:
            raise InputError(f"layer {name!r} predicted twice", source=source, line=number,
                             field="layer")
        cycles = _number(cells["cycles"], source, number, "cycles")
        energy = _number(cells["energy_pj"], source, number, "energy_pj") \
            if "energy_pj" in cells and cells["energy_pj"] != "" else None
        out[name] = Prediction(cycles, energy)
    if unknown:
        names = ", ".join(repr(n) for _, n in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise InputError(f"unknown layer name(s) {names} (the workload has "
                         f"{len(known)} layers, e.g. {sorted(known)[0]!r})", source=source,
                         line=unknown[0][0], field="layer")
    if not out:
        raise InputError("no predictions", source=source, line=1)
    return out


def _number(text: str, source: str, line: int, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"not a number: {text!r}", source=source, line=line, field=name) from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"must be a finite number >= 0, got {text!r}", source=source, line=line,
                         field=name)
    return value


#: ZigZag spatial dimensions that reduce (a mapping unrolling one of them and K is weight
#: stationary, as ZigZag's tpu_like D1:K x D2:C) and that are output pixels (output
#: stationary). Other mappings (Eyeriss's row stationary) keep the accelerator's dataflow.
_REDUCTION_DIMS = {"C", "FX", "FY"}
_PIXEL_DIMS = {"OX", "OY"}


@dataclass(frozen=True)
class ZigZagRun:
    """One ZigZag result: the layer it costed, its array, a dataflow hint, its prediction."""

    layer: Layer
    array: tuple[int, int] | None
    dataflow: str | None
    prediction: Prediction


def read_zigzag_json(path: str | os.PathLike[str], *,
                     latency_key: str = "latency_cycles") -> ZigZagRun:
    """A ZigZag harness JSON: the layer (shape read from it), array and predicted latency."""
    source = str(path)
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise InputError(f"cannot read ZigZag result: {exc.strerror}", source=source) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(f"not valid JSON: {getattr(exc, 'msg', 'not text')}", source=source,
                         line=line) from None
    if not isinstance(data, dict) or not isinstance(data.get("layer"), dict):
        raise InputError("not a ZigZag harness result (no 'layer' object)", source=source,
                         field="layer")
    spec = data["layer"]
    try:
        latency = float(data[latency_key] if latency_key == "latency_cycles"
                        else data["latency_breakdown"][latency_key])
        energy = data.get("energy_pJ")
        energy = None if energy is None else float(energy)
        layer = _zigzag_layer(spec, Path(path).stem)
    except KeyError as exc:
        raise InputError("missing", source=source, field=str(exc.args[0])) from None
    except (TypeError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, InputError) else str(exc)
        field_ = exc.field if isinstance(exc, InputError) else None
        raise InputError(reason, source=source, field=field_) from None
    hw = data.get("hw")
    if not isinstance(hw, dict):
        hw = {}
    array = hw.get("array")
    array = (int(array[0]), int(array[1])) if isinstance(array, list) and len(array) == 2 else None
    return ZigZagRun(layer, array, _zigzag_dataflow(data.get("spatial_mapping")),
                     Prediction(latency, energy))


def _zigzag_layer(spec: dict, name: str) -> Layer:
    """The harness's layer (K, C per group; P x Q outputs; R x S filter) as a hwloop Layer
    with the padded input that gives exactly P x Q outputs: ``(P - 1) x stride + R``."""
    def value(key: str, default=None) -> int:
        got = spec.get(key, default)
        if got is None:
            raise KeyError(key)
        if isinstance(got, bool) or not isinstance(got, int) or got <= 0:
            raise InputError(f"must be a positive integer, got {got!r}", field=key)
        return got

    stride = spec.get("stride", [1, 1])
    stride = [stride, stride] if isinstance(stride, int) else stride
    if not (isinstance(stride, list) and len(stride) == 2):
        raise InputError(f"must be [h, w], got {stride!r}", field="stride")
    if value("N", 1) != 1:
        raise InputError("batch N > 1 is not supported; cost one image", field="N")
    if value("dilation", 1) != 1:
        raise InputError("dilated layers are not supported here", field="dilation")
    k, c, p, q, r, s = (value(key) for key in ("K", "C", "P", "Q", "R", "S"))
    g = value("G", 1)
    sh, sw = (int(v) for v in stride)
    height, width = (p - 1) * sh + r, (q - 1) * sw + s
    if g == 1:
        return Layer(name=name, ifmap_h=height, ifmap_w=width, filter_h=r, filter_w=s,
                     channels=c, num_filters=k, stride_h=sh, stride_w=sw)
    if c == 1:  # depthwise: G channels, K filters each
        return Layer(name=name, ifmap_h=height, ifmap_w=width, filter_h=r, filter_w=s,
                     channels=g, num_filters=k, stride_h=sh, stride_w=sw,
                     kind=LayerKind.DEPTHWISE)
    raise InputError(f"grouped convolution (G={g}, C={c} per group) is not supported",
                     field="G")


def _zigzag_dataflow(mapping) -> str | None:
    """hwloop's dataflow for a ZigZag spatial mapping string, e.g. ``{D1: {K: 32}, D2: ...}``."""
    if not isinstance(mapping, str):
        return None
    import re

    dims = set(re.findall(r"\b([A-Z]{1,2})\s*:\s*\d", mapping))
    if "K" in dims and dims & _REDUCTION_DIMS:
        return "ws"
    if dims & _PIXEL_DIMS:
        return "os"
    return None


def plot_validation(validation: Validation):
    """Log-log scatter of predicted against simulated cycles, with the y = x line labelled on
    the plot (a point above it is over-predicted) and the worst layer named."""
    from matplotlib.figure import Figure

    frame = validation.layers
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.subplots()
    ax.scatter(frame["simulated"], frame["predicted"], s=14, alpha=0.7,
               label=f"layers ({len(frame)})")
    lo = max(1.0, float(min(frame["simulated"].min(), frame["predicted"].min())) / 1.5)
    hi = float(max(frame["simulated"].max(), frame["predicted"].max())) * 1.5
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, label="y = x (exact prediction)")
    start = lo * (hi / lo) ** 0.08  # near the lower end, where layers are fewest
    ax.annotate("y = x", xy=(start, start), xytext=(-4, 4), textcoords="offset points",
                ha="center", va="bottom", rotation=45, rotation_mode="anchor", fontsize="small")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("simulated latency (cycles, hwloop cycle-level engine)")
    ax.set_ylabel(f"predicted latency (cycles, {validation.source})")
    tau = "n/a" if validation.kendall_tau is None else f"{validation.kendall_tau:.3f}"
    ax.set_title(f"{validation.source}: MAPE {validation.mape:.2f}%, worst "
                 f"{validation.max_abs_pct_error:.1f}%, tau {tau}", fontsize="medium")
    _name_worst(ax, frame)
    ax.legend(loc="best", framealpha=0.9, fontsize="small")
    return fig


def _name_worst(ax, frame) -> None:
    """Point at the layer with the largest error, with its name and signed error."""
    errors = frame["error_pct"].abs()
    if not errors.notna().any() or errors.max() == 0:
        return
    row = frame.loc[errors.idxmax()]
    lo, hi = ax.get_xlim()
    right_half = row["simulated"] ** 2 > lo * hi  # write towards the middle, inside the axes
    ax.annotate(f"{row['layer']}: {row['error_pct']:+.1f}%", (row["simulated"], row["predicted"]),
                xytext=(-8 if right_half else 8, -12), textcoords="offset points",
                ha="right" if right_half else "left", fontsize="x-small",
                arrowprops={"arrowstyle": "-", "linewidth": 0.6})
