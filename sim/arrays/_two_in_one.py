"""2-in-1 arrays: spatial lanes for weights and temporal (serial) units for activations."""
from __future__ import annotations

from hwloop.arch import TwoInOneArray

from ._fused import PrecisionScalableModel


class TwoInOneModel(PrecisionScalableModel):
    """``spatial_macs`` lanes a PE, each taking ``serial_cycles`` cycles a MAC."""

    kind = "2in1"

    def pe_rates(self, array: TwoInOneArray, weight_bits: int,
                 act_bits: int) -> tuple[int, int]:
        return array.spatial_macs(weight_bits), array.serial_cycles(act_bits)

    def fused_macs(self, array: TwoInOneArray, weight_bits: int, act_bits: int) -> int:
        return array.spatial_macs(weight_bits)
