"""The energy step of the pipeline: each row priced by its array kind's model, and run totals."""
from __future__ import annotations

from typing import Any

from hwloop.arch import Accelerator

from ._base import model_for


def area_mm2(accel: Accelerator) -> float:
    """Silicon area of ``accel`` (its array kind's model prices one core; a chip has
    ``cores`` arrays and buffer sets around one fixed part)."""
    one = model_for(accel).area_mm2(accel)
    fixed = accel.energy.fixed_area_mm2
    return fixed + accel.chip.cores * (one - fixed)


def add_energy(row: dict, accel: Accelerator) -> dict:
    """``row`` with ``energy_pj``, ``energy_breakdown`` and ``edp`` (energy x cycles) set."""
    energy, breakdown = model_for(accel).energy(row, accel)
    if row.get("noc_word_hops"):  # partial sums reduced over a chip's mesh
        breakdown = {**breakdown, "noc": row["noc_word_hops"] * accel.chip.noc_pj_per_word_hop}
        energy = sum(breakdown.values())
    row["energy_pj"] = energy
    row["energy_breakdown"] = breakdown
    row["edp"] = energy * row["total_cycles"]
    return row


def energy_totals(records: list[dict], accel: Accelerator) -> dict[str, Any]:
    """Run totals: summed breakdown and energy, EDP (total energy x total cycles), area."""
    # every component any row has, in the order rows first name them (array rows, then a
    # vector operator's own); a row without a component adds nothing to it
    keys = list(dict.fromkeys(key for r in records for key in r["energy_breakdown"])) \
        if records else list(model_for(accel).breakdown_keys)
    breakdown = {key: float(sum(r["energy_breakdown"].get(key, 0.0) for r in records))
                 for key in keys}
    energy = sum(breakdown.values())
    cycles = sum(r["total_cycles"] for r in records)
    return {"energy_pj": energy, "energy_breakdown": breakdown, "edp": energy * cycles,
            "area_mm2": area_mm2(accel)}
