"""Hardware descriptions: frozen configs for arrays, buffers, DRAM; presets; loaders.

``arch`` never names a simulator class; ``hwloop.sim`` maps configs to models.
"""
from ._accelerator import Accelerator
from ._loaders import load_config
from ._memory import Dram, Sram
from ._systolic import Dataflow, SystolicArray, parse_dataflow
from .presets import DEFAULT_PRESET, PRESETS, get_preset

__all__ = [
    "Accelerator",
    "DEFAULT_PRESET",
    "Dataflow",
    "Dram",
    "PRESETS",
    "Sram",
    "SystolicArray",
    "get_preset",
    "load_config",
    "parse_dataflow",
]
