"""Simulation engines, the report type and the CLI. Imports traces and arch; never search.

The sub-packages, lowest first (each imports only those below it; ``docs/architecture.md``):
``kernels``, ``report`` and ``noise``; ``schedule``; ``memory``; ``arrays``; ``vector``;
``tiling``; ``engine``; ``analytical``; ``cli``. Names are loaded on first use, so importing
``hwloop.sim`` costs nothing until a name is used.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "COLUMNS": ".arrays",  # with every registered array kind's own columns
    "Report": ".report",
    "plot_report": ".report",
    "plot_llm": ".report",
    "FoldPlan": ".schedule",
    "Schedule": ".schedule",
    "fold_plan": ".schedule",
    "schedule": ".schedule",
    "hwloop_version": ".engine",
    "simulate": ".engine",
    "simulate_layer": ".engine",
    "map_network": ".engine",
    "best_mapping": ".tiling",
    "simulate_mapped_layer": ".tiling",
    "MAPPER_OBJECTIVES": ".tiling",
    "simulate_totals": ".engine",
    "simulate_llm": ".engine",
    "replay": ".engine",
    "precision_switch": ".engine",
    "sharing_walks": ".memory",
    "WalkStore": ".memory",
    "forget_walks": ".memory",
    "MemoryTiming": ".memory",
    "simulate_scalesim_user": ".memory",
    "time_events_simpy": ".memory",
    "ArrayModel": ".arrays",
    "register_model": ".arrays",
    "layer_energy": ".arrays",
    "simulate_vector_op": ".vector",
    "area_mm2": ".arrays",
    "analytical_model": ".analytical",
    "analytical_arrays": ".analytical",
    "Validation": ".analytical",
    # analog noise on accuracy (these import torch when first used)
    "AnalogNoise": ".noise",
    "PCMNoiseModel": ".noise",
    "Converters": ".noise",
    "convert_to_analog": ".noise",
    "program_analog": ".noise",
    "drift_analog": ".noise",
    "accuracy_over_time": ".noise",
    "DigitsData": ".noise",
    "default_network": ".noise",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
