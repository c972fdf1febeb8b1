"""Named accelerators. Each cites where its numbers come from; presets only set values."""
from __future__ import annotations

from hwloop.traces import InputError

from ._accelerator import Accelerator
from ._analog import AnalogArray
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

PCM_CHIP = Accelerator(
    name="pcm_chip",
    array=AnalogArray(rows=256, cols=512, tiles=64, devices_per_weight=2, device="pcm"),
    sram=Sram(ifmap_kb=256, filter_kb=64, ofmap_kb=256),
    clock_ghz=1.0,
)
"""A PCM analog chip shaped like IBM HERMES (Le Gallo et al., Nature Electronics 2023;
Khaddam-Aljameh et al., JSSC 2022): 64 tiles of 256x256 weights, here 256 rows x 512 device
columns with a differential pair per weight (HERMES uses four devices per weight). Converters
at aihwkit's defaults (7-bit DAC, 9-bit ADC); 8 columns per ADC, 10 ns per conversion and the
buffers are assumptions (HERMES has one ADC per column), see ``docs/analog.md``."""

RRAM_CHIP = Accelerator(
    name="rram_chip",
    array=AnalogArray(rows=256, cols=256, tiles=48, devices_per_weight=2, device="rram"),
    sram=Sram(ifmap_kb=128, filter_kb=64, ofmap_kb=128),
    clock_ghz=1.0,
)
"""An RRAM analog chip shaped like NeuRRAM (Wan et al., Nature 2022): 48 cores of 256x256
1T1R cells, a differential pair per weight (256x128 weights per core). Converters, ADC
sharing and buffers as for ``pcm_chip`` (assumptions)."""

PRESETS: dict[str, Accelerator] = {
    preset.name: preset for preset in (SCALESIM_DEFAULT, GOOGLE_TPU_V1, EYERISS, PCM_CHIP,
                                       RRAM_CHIP)
}
DEFAULT_PRESET = SCALESIM_DEFAULT.name


def get_preset(name: str) -> Accelerator:
    """A preset by name; see :data:`PRESETS`."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown preset {name!r}; choose from {', '.join(sorted(PRESETS))}",
                         field="preset") from None
