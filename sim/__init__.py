"""Simulation engines, the report type and the CLI. Imports traces and arch; never search.

Names are loaded on first use so that ``hwloop --help`` starts without NumPy/Numba/pandas.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "COLUMNS": "._report",
    "Report": "._report",
    "FoldPlan": "._systolic",
    "fold_plan": "._systolic",
    "hwloop_version": ".api",
    "simulate": ".api",
    "simulate_layer": ".api",
    "simulate_totals": ".api",
    "sharing_walks": "._walk_store",
    "WalkStore": "._walk_store",
    "plot_report": "._plot",
    "ArrayModel": "._models",
    "register_model": "._models",
    "replay": "._replay",
    "layer_energy": "._energy",
    "area_mm2": "._energy",
    "precision_switch": "._precision_switch",
    "MemoryTiming": "._pipe",
    "simulate_scalesim_user": "._scalesim_user",
    "time_events_simpy": "._dram_system",
    "analytical_model": "._analytical",
    "analytical_arrays": "._analytical",
    "Validation": "._validate",
    # analog noise on accuracy (these import torch when first used)
    "AnalogNoise": "._analog_noise",
    "PCMNoiseModel": "._analog_noise",
    "Converters": "._analog_noise",
    "convert_to_analog": "._analog_noise",
    "program_analog": "._analog_noise",
    "drift_analog": "._analog_noise",
    "accuracy_over_time": "._analog_accuracy",
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
