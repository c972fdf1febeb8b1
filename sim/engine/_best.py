"""Per-layer dataflow choice: each layer under every variant its array kind offers, the best kept."""
from __future__ import annotations

from hwloop.arch import Accelerator
from hwloop.sim.arrays import model_for
from hwloop.traces import InputError, Layer

from ._layer import simulate_layer


def best_dataflow(layer: Layer, accel: Accelerator, scalesim_compat: bool, goal: str) -> dict:
    """The layer under each dataflow the accelerator can run it in, best by ``goal``."""
    key = {"latency": "total_cycles", "energy": "energy_pj", "edp": "edp"}.get(goal)
    if key is None:
        raise InputError(f"optimise 'latency', 'energy' or 'edp', not {goal!r}",
                         field="--optimize")
    rows, errors = [], []
    for candidate in model_for(accel).variants(layer, accel):
        try:
            rows.append(simulate_layer(layer, candidate, scalesim_compat=scalesim_compat))
        except InputError as exc:
            errors.append(exc)
    if not rows:
        raise errors[0]
    if key not in rows[0]:
        raise InputError("this accelerator reports no energy to optimise", field="--optimize")
    return min(rows, key=lambda row: (row[key], row["total_cycles"]))
