"""The TOML tables that name a preset and override some of its numbers: ``[energy]`` and
``[vector]``. Each builder raises :class:`InputError` naming the key; the loader adds the
file and line."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from hwloop.traces import InputError

from ._chip import Chip
from ._energy import ENERGY_FIELDS, EnergyTable, get_energy_table
from ._sparsity import Sparsity
from ._vector import VectorUnit, get_vector_unit


def energy_from_table(table: dict) -> EnergyTable:
    """``[energy]``: a ``preset`` with overrides, or, without one, every component."""
    values = dict(table)
    try:
        if "preset" in values:
            preset = get_energy_table(values.pop("preset"))
            if values and "name" not in values:  # changed numbers: not the preset any more
                values["name"] = f"{preset.name} (modified)"
            return EnergyTable(**{**preset.to_dict(), **values})
    except InputError as exc:
        raise InputError(exc.reason,
                         field="preset" if exc.field == "energy" else exc.field) from None
    for key in ENERGY_FIELDS:
        if key not in values:
            raise InputError("missing: an [energy] table without a preset must set every "
                             "component", field=key)
    return EnergyTable(**values)


def vector_from_table(table: dict) -> VectorUnit:
    """``[vector]``: a ``preset`` (default: ``default``) with overrides."""
    values = dict(table)
    try:
        base = get_vector_unit(values.pop("preset")) if "preset" in values else VectorUnit()
    except InputError as exc:
        raise InputError(exc.reason, field="preset") from None
    return replace(base, **values)


def sparsity_from_table(table: dict) -> Sparsity:
    """``[sparsity]``: ``enabled`` (honour the layers' N:M ratios), ``representation``, and
    SCALE-Sim's row-wise mode: ``row_wise``, ``block_size``, ``seed``."""
    keys = ("enabled", "representation", "row_wise", "block_size", "seed")
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise InputError(f"unknown key; [sparsity] has {', '.join(keys)}", field=unknown[0])
    return Sparsity(**table)


#: Section name -> builder from its table.
TABLE_BUILDERS: dict[str, Callable[[dict], Any]] = {"energy": energy_from_table,
                                                     "vector": vector_from_table,
                                                     "sparsity": sparsity_from_table,
                                                     "chip": lambda table: Chip(**table)}
