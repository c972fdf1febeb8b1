"""Bit Fusion arrays: fused bit bricks do several narrow MACs a cycle (Sharma et al., ISCA 2018)."""
from __future__ import annotations

from hwloop.arch import BitFusionArray

from ._fused import PrecisionScalableModel


class BitFusionModel(PrecisionScalableModel):
    """``k`` fused MACs a PE cycle at narrow widths, one cycle each."""

    kind = "bitfusion"

    def pe_rates(self, array: BitFusionArray, weight_bits: int,
                 act_bits: int) -> tuple[int, int]:
        return int(array.macs_per_pe_cycle(weight_bits, act_bits)), 1

    def fused_macs(self, array: BitFusionArray, weight_bits: int, act_bits: int) -> int:
        return int(array.macs_per_pe_cycle(weight_bits, act_bits))
