"""Named accelerators. Each cites where its numbers come from; presets only set values."""
from __future__ import annotations

from hwloop.traces import InputError

from ._accelerator import Accelerator
from ._memory import Sram
from ._systolic import Dataflow, SystolicArray

SCALESIM_DEFAULT = Accelerator(
    name="scalesim_default",
    array=SystolicArray(rows=32, cols=32, dataflow=Dataflow.OS),
    sram=Sram(ifmap_kb=64, filter_kb=64, ofmap_kb=64),
)
"""SCALE-Sim's example array: 32x32 output stationary, 64 KiB per buffer (``configs/scale.cfg``)."""

GOOGLE_TPU_V1 = Accelerator(
    name="google_tpu_v1",
    array=SystolicArray(rows=256, cols=256, dataflow=Dataflow.WS),
    sram=Sram(ifmap_kb=6144, filter_kb=6144, ofmap_kb=2048),
    clock_ghz=0.7,
)
"""TPU v1 as SCALE-Sim models it (``configs/google.cfg``); 700 MHz from Jouppi et al., ISCA 2017."""

EYERISS = Accelerator(
    name="eyeriss",
    array=SystolicArray(rows=12, cols=14, dataflow=Dataflow.WS),
    sram=Sram(ifmap_kb=36, filter_kb=36, ofmap_kb=36),
    clock_ghz=0.2,
)
"""Eyeriss-sized 12x14 array as in SCALE-Sim's ``configs/eyeriss.cfg``; 200 MHz from Chen et al.,
JSSC 2017 (SCALE-Sim maps it as a weight-stationary systolic array, not row-stationary)."""

PRESETS: dict[str, Accelerator] = {
    preset.name: preset for preset in (SCALESIM_DEFAULT, GOOGLE_TPU_V1, EYERISS)
}
DEFAULT_PRESET = SCALESIM_DEFAULT.name


def get_preset(name: str) -> Accelerator:
    """A preset by name; see :data:`PRESETS`."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown preset {name!r}; choose from {', '.join(sorted(PRESETS))}",
                         field="preset") from None
