"""Precision-scalable PE arrays: spatial fusion, bit-serial, and the 2-in-1 hybrid.

Each is a systolic array (rows, cols, dataflow) whose PE does more or fewer MACs per cycle
as operands narrow. ``macs_per_pe_cycle(w, a)`` is the PE model; the simulator maps it onto
the systolic schedule (``sim/arrays/_fused.py``):

* **Bit Fusion** (Sharma et al., "Bit Fusion", ISCA 2018): a fusion unit of 16 2-bit
  bricks fuses into one 8x8 MAC, four 4x4 or sixteen 2x2 MACs per cycle; widths are 2, 4
  or 8 per operand, asymmetric allowed (8x4: 2 MACs, 8x2: 4, 4x2: 8).
* **Bit-serial** (Stripes, Judd et al., MICRO 2016): one operand (weights by default) is fed
  ``bits_per_cycle`` bits at a time, so a MAC takes ``ceil(bits / bits_per_cycle)`` cycles.
* **2-in-1** (Fu et al., "2-in-1 Accelerator", MICRO 2021): weights fuse spatially in 2-bit
  bricks as in Bit Fusion, activations go through ``lanes = 8 / bits_per_cycle`` temporal
  units per PE, ``bits_per_cycle`` bits per cycle. Normalisation: one PE has the MAC
  throughput of one 8x8 MAC at 8/8 bits, and ``(8 / w) * lanes / ceil(a / bits_per_cycle)``
  MACs per cycle in general; any activation width from 1 to 8 bits runs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from hwloop.traces import InputError

from ._limits import MAX_FUSION_ROWS, MAX_OPERAND_BITS
from ._systolic import PEArray, SystolicArray, _check_positive_int

FUSION_WIDTHS = (2, 4, 8)


def _fusion_width(bits: int, operand: str) -> int:
    if bits not in FUSION_WIDTHS:
        raise InputError(f"{bits}-bit {operand}s cannot run on 2-bit bricks; use 2, 4 or 8",
                         field=f"{operand}_bits")
    return bits


def _check_fusion_rows(value) -> None:
    if value is not None:
        _check_positive_int(value, "fusion_rows", MAX_FUSION_ROWS)


@dataclass(frozen=True, kw_only=True)
class BitFusionArray(SystolicArray):
    """Bit Fusion: ``rows x cols`` fusion units, each 16 2-bit bricks (one 8x8 MAC).

    ``fusion_rows`` is the tiling of a fused unit's ``k`` MACs: that many reduce along the
    rows (or the OS stream) and ``k / fusion_rows`` widen the columns; None: all reduce.
    """

    fusion_rows: int | None = None
    kind = "bitfusion"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_fusion_rows(self.fusion_rows)

    def macs_per_pe_cycle(self, weight_bits: int, act_bits: int) -> Fraction:
        w = _fusion_width(weight_bits, "weight")
        a = _fusion_width(act_bits, "act")
        return Fraction((8 // w) * (8 // a))


@dataclass(frozen=True, kw_only=True)
class BitSerialArray(SystolicArray):
    """Bit-serial PEs: ``serial_operand`` (``weight`` or ``act``) enters ``bits_per_cycle``
    bits a cycle; the other operand is parallel, up to ``max_bits``."""

    serial_operand: str = "weight"
    bits_per_cycle: int = 1
    max_bits: int = 16
    kind = "bitserial"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.serial_operand not in ("weight", "act"):
            raise InputError(f"must be 'weight' or 'act', got {self.serial_operand!r}",
                             field="serial_operand")
        _check_positive_int(self.bits_per_cycle, "bits_per_cycle", MAX_OPERAND_BITS)
        _check_positive_int(self.max_bits, "max_bits", MAX_OPERAND_BITS)

    def serial_cycles(self, weight_bits: int, act_bits: int) -> int:
        """Cycles one MAC takes: the serialised width over the bits handled per cycle."""
        for operand, bits in (("weight", weight_bits), ("act", act_bits)):
            if bits > self.max_bits:
                raise InputError(f"{bits}-bit {operand}s exceed the PE's {self.max_bits} bits",
                                 field=f"{operand}_bits")
        bits = weight_bits if self.serial_operand == "weight" else act_bits
        return math.ceil(bits / self.bits_per_cycle)

    def macs_per_pe_cycle(self, weight_bits: int, act_bits: int) -> Fraction:
        return Fraction(1, self.serial_cycles(weight_bits, act_bits))


@dataclass(frozen=True, kw_only=True)
class TwoInOneArray(SystolicArray):
    """2-in-1: spatial 2-bit weight bricks x ``8 / bits_per_cycle`` temporal activation lanes."""

    bits_per_cycle: int = 4
    fusion_rows: int | None = None  # as for Bit Fusion: the tiling of the spatial MACs
    kind = "2in1"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_fusion_rows(self.fusion_rows)
        _check_positive_int(self.bits_per_cycle, "bits_per_cycle", 8)  # not 4.0, not True
        if self.bits_per_cycle not in (1, 2, 4, 8):
            raise InputError(f"must divide 8 (1, 2, 4 or 8), got {self.bits_per_cycle!r}",
                             field="bits_per_cycle")

    @property
    def lanes(self) -> int:
        return 8 // self.bits_per_cycle

    def spatial_macs(self, weight_bits: int) -> int:
        """MACs one PE's lanes and bricks start together: ``(8 / w) * lanes``."""
        return (8 // _fusion_width(weight_bits, "weight")) * self.lanes

    def serial_cycles(self, act_bits: int) -> int:
        if not 1 <= act_bits <= 8:
            raise InputError(f"{act_bits}-bit acts exceed the 8-bit temporal units",
                             field="act_bits")
        return math.ceil(act_bits / self.bits_per_cycle)

    def macs_per_pe_cycle(self, weight_bits: int, act_bits: int) -> Fraction:
        return Fraction(self.spatial_macs(weight_bits), self.serial_cycles(act_bits))


#: ``--array-kind`` name -> array config class.
ARRAY_KINDS: dict[str, type[PEArray]] = {
    "systolic": SystolicArray, "bitfusion": BitFusionArray, "bitserial": BitSerialArray,
    "2in1": TwoInOneArray,
}
