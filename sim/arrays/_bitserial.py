"""Bit-serial arrays: one operand fed a few bits a cycle (Stripes/Loom-style PEs)."""
from __future__ import annotations

from hwloop.arch import BitSerialArray

from ._fused import PrecisionScalableModel


class BitSerialModel(PrecisionScalableModel):
    """One MAC a PE, taking ``serial_cycles`` cycles."""

    kind = "bitserial"

    def pe_rates(self, array: BitSerialArray, weight_bits: int,
                 act_bits: int) -> tuple[int, int]:
        return 1, array.serial_cycles(weight_bits, act_bits)
