"""Analog noise on accuracy (PCM programming noise, drift, read noise, converters), in torch.

Names load on first use, so that importing ``hwloop.sim`` never imports torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AnalogNoise": "._analog_noise",
    "PCMNoiseModel": "._analog_noise",
    "Converters": "._analog_noise",
    "convert_to_analog": "._analog_layers",
    "program_analog": "._analog_layers",
    "drift_analog": "._analog_layers",
    "analog_layers": "._analog_layers",
    "AccuracyOverTime": "._analog_accuracy",
    "DigitsData": "._analog_accuracy",
    "DATASETS": "._analog_accuracy",
    "DEFAULT_SEEDS": "._analog_accuracy",
    "DEFAULT_TIMES_S": "._analog_accuracy",
    "RECIPE": "._analog_accuracy",
    "accuracy_over_time": "._analog_accuracy",
    "default_network": "._analog_accuracy",
    "load_dataset": "._analog_accuracy",
    "plot_accuracy_over_time": "._analog_accuracy",
    "run_analog_accuracy": "._analog_accuracy",
    "train_default_network": "._analog_accuracy",
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
