"""Energy and area tables: per-access energies, leakage and area per component, with presets.

A table holds numbers and the scaling rules that stretch them to other operand widths and
buffer sizes; ``hwloop.sim`` turns a report row's counters into joules with it
(``sim/arrays/_energy.py``). Every preset number has its source beside it; ``docs/energy.md``
explains the rules and the cross-check against ZigZag.

Scaling rules (one place, so that presets only set numbers):

* **MAC.** ``mac_pj_8x8`` splits into a multiplier share that grows with the product of the
  operand widths (partial-product bits, i.e. Bit Fusion's 2-bit bricks: 16 for 8x8, 4 for
  4x4) and an accumulate share that grows with the product's width ``w + a``.
* **Registers.** Energy per bit accessed, per register kind (weight, activation, partial
  sum); a partial sum is ``w + a`` bits wide.
* **SRAM.** Energy per bit of a ``kib``-KiB buffer: the reference value times
  ``(kib / sram_ref_kib) ** sram_size_exponent`` (CACTI-like growth with size; exponent 0.5
  is the square root of the bit-line/word-line length); linear in the word width.
* **DRAM.** Energy per bit moved.
* **Leakage.** Power (µW) per PE and per KiB of SRAM, charged for the run's duration at the
  accelerator's clock (so a faster clock leaks less per cycle).
* **Area.** A PE is a MAC whose multiplier share grows with the bit products it computes
  per cycle (64 for an 8x8 MAC); SRAM area is per KiB; ``fixed_area_mm2`` covers the rest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

from hwloop.traces import InputError

from ._limits import (
    MAX_BUFFER_KIB,
    MAX_PHYSICAL,
    MAX_SRAM_SIZE_EXPONENT,
    MIN_SRAM_REF_KIB,
    check_number,
)

#: The numeric fields, in the order tables print them.
ENERGY_FIELDS = (
    "mac_pj_8x8", "mac_mult_share",
    "rf_weight_pj_per_bit", "rf_act_pj_per_bit", "rf_psum_pj_per_bit",
    "sram_read_pj_per_bit", "sram_write_pj_per_bit", "sram_ref_kib", "sram_size_exponent",
    "dram_read_pj_per_bit", "dram_write_pj_per_bit",
    "pe_leakage_uw", "sram_leakage_uw_per_kib",
    "mac_area_um2_8x8", "mac_mult_area_share", "sram_area_mm2_per_kib", "fixed_area_mm2",
)
#: Ceilings other than ``MAX_PHYSICAL`` (docs/limits.md): shares are fractions of a whole,
#: the reference size is a buffer size.
_CEILINGS = {"mac_mult_share": 1.0, "mac_mult_area_share": 1.0,
             "sram_size_exponent": MAX_SRAM_SIZE_EXPONENT, "sram_ref_kib": MAX_BUFFER_KIB}


@dataclass(frozen=True, kw_only=True)
class EnergyTable:
    """Energy per access, leakage and area of each component (units in the field names).

    Every number is required (a preset supplies them all); a missing, negative, non-finite
    or absurdly large one (above ``MAX_PHYSICAL``, docs/limits.md) is an
    :class:`~hwloop.traces.InputError` naming the field.
    """

    name: str = "custom"
    mac_pj_8x8: float | None = None  #: one 8b x 8b multiply-accumulate
    mac_mult_share: float | None = None  #: multiplier's share of ``mac_pj_8x8`` (0..1)
    rf_weight_pj_per_bit: float | None = None  #: PE weight register, per bit read or written
    rf_act_pj_per_bit: float | None = None  #: PE activation register
    rf_psum_pj_per_bit: float | None = None  #: PE partial-sum (accumulator) register
    sram_read_pj_per_bit: float | None = None  #: at ``sram_ref_kib``
    sram_write_pj_per_bit: float | None = None  #: at ``sram_ref_kib``
    sram_ref_kib: float | None = None  #: buffer size the SRAM energies were measured at
    sram_size_exponent: float | None = None  #: per-bit SRAM energy grows as size ** this
    dram_read_pj_per_bit: float | None = None
    dram_write_pj_per_bit: float | None = None
    pe_leakage_uw: float | None = None  #: static power of one PE
    sram_leakage_uw_per_kib: float | None = None  #: static power of one KiB of SRAM
    mac_area_um2_8x8: float | None = None  #: one 8x8 MAC unit (multiplier + adder)
    mac_mult_area_share: float | None = None  #: multiplier's share of that area (0..1)
    sram_area_mm2_per_kib: float | None = None
    fixed_area_mm2: float | None = None  #: control, NoC, I/O: what the other terms leave out

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"must be a non-empty name, got {self.name!r}", field="name")
        for name in ENERGY_FIELDS:
            value = getattr(self, name)
            if value is None:
                raise InputError("missing: an energy table needs every component (give a "
                                 "preset, or set this one)", field=name)
            check_number(value, name, high=_CEILINGS.get(name, MAX_PHYSICAL))
        check_number(self.sram_ref_kib, "sram_ref_kib", low=MIN_SRAM_REF_KIB,
                     high=MAX_BUFFER_KIB)

    def mac_pj(self, weight_bits: int, act_bits: int) -> float:
        """One MAC at these widths: multiplier ~ ``w * a``, accumulator ~ ``w + a``."""
        share, mac = self.mac_mult_share, self.mac_pj_8x8
        assert share is not None and mac is not None  # __post_init__ rejects a missing one
        return mac * (share * weight_bits * act_bits / 64
                      + (1 - share) * (weight_bits + act_bits) / 16)

    def sram_pj_per_bit(self, kib: float, *, write: bool = False) -> float:
        """Energy per bit read (or written) in a ``kib``-KiB buffer."""
        base = self.sram_write_pj_per_bit if write else self.sram_read_pj_per_bit
        ref, exponent = self.sram_ref_kib, self.sram_size_exponent
        assert base is not None and ref is not None and exponent is not None  # __post_init__
        return base * (kib / ref) ** exponent

    def pe_area_um2(self, bit_products: float = 64) -> float:
        """Area of a PE computing ``bit_products`` partial-product bits a cycle (8x8: 64)."""
        share, area = self.mac_mult_area_share, self.mac_area_um2_8x8
        assert share is not None and area is not None  # __post_init__ rejects a missing one
        return area * (share * bit_products / 64 + (1 - share))

    def to_dict(self) -> dict:
        """Plain values (the keys of a TOML ``[energy]`` table, plus ``name``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# Sources of the presets (each number below names its own):
# [H] M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
#     45 nm energy and area table: 8b add 0.03 pJ / 36 um^2, 8b mult 0.2 pJ / 282 um^2,
#     64-bit SRAM read 10 pJ (8 KB), 20 pJ (32 KB), 100 pJ (1 MB), DRAM 1.3-2.6 nJ / 64 bits.
# [E] Chen, Emer, Sze, "Eyeriss", ISCA 2016, energy relative to a MAC (65 nm): RF access 1x.
# [C] CACTI 7 as shipped in zigzag-dse 3.9.1, 45 nm itrs-hp, 360 K, single-bank RAM with a
#     64-bit port; the 1 MiB point: 1197.96 mW leakage, 3.565 mm^2
#     (tests/data/zigzag/cacti_45nm.json, made by tests/data/regenerate_zigzag.py --cacti).
# [Z] zigzag-dse 3.9.1, zigzag/inputs/hardware/tpu_like.yaml (the harness's --hw tpu_like).

HOROWITZ_45NM = EnergyTable(
    name="horowitz_45nm",
    mac_pj_8x8=0.2 + 0.03,  # [H] 8b mult + 8b add
    mac_mult_share=0.2 / 0.23,  # [H] the multiplier's part of that MAC
    rf_weight_pj_per_bit=0.23 / 8,  # [E] a register access of a word costs a MAC on it
    rf_act_pj_per_bit=0.23 / 8,  # [E] as rf_weight ([H] gives no register energies)
    rf_psum_pj_per_bit=0.23 / 8,  # [E] as rf_weight
    sram_read_pj_per_bit=20 / 64,  # [H] 20 pJ per 64-bit read of 32 KB
    sram_write_pj_per_bit=20 / 64,  # [H] lists reads only; writes taken equal
    sram_ref_kib=32,  # [H] the 32 KB point anchors the fit
    # [H] fit: log(100/20)/log(1 MB/32 KB) meets 1 MB exactly and 8 KB within 5% (10.5 pJ)
    sram_size_exponent=math.log(5) / math.log(32),
    dram_read_pj_per_bit=1300 / 64,  # [H] 1.3 nJ per 64-bit access, the low end
    dram_write_pj_per_bit=1300 / 64,  # [H] as reads
    pe_leakage_uw=0.0,  # none of the sources gives it: set it from your cell library
    sram_leakage_uw_per_kib=1197.96e3 / 1024,  # [C] 1 MiB: 1197.96 mW
    mac_area_um2_8x8=282 + 36,  # [H] 8b mult + 8b add
    mac_mult_area_share=282 / 318,  # [H] the multiplier's part of that area
    sram_area_mm2_per_kib=3.5653985751 / 1024,  # [C] 1 MiB: 3.565 mm^2
    fixed_area_mm2=0.0,  # none of the sources gives it
)
"""45 nm figures widely used in the literature (Horowitz, ISSCC 2014), completed with the
Eyeriss register ratio and CACTI 45 nm SRAM leakage and area (sources [H], [E], [C] above)."""

ZIGZAG_TPU_LIKE = EnergyTable(
    name="zigzag_tpu_like",
    mac_pj_8x8=0.04,  # [Z] operational_array.unit_energy
    mac_mult_share=0.2 / 0.23,  # [H] borrowed: ZigZag's MAC energy ignores operand widths
    rf_weight_pj_per_bit=0.095 / 8,  # [Z] rf_128B: 0.095 pJ per 8-bit port access
    rf_act_pj_per_bit=0.0,  # [Z] has no activation register (nor pipeline registers)
    rf_psum_pj_per_bit=0.021 / 16,  # [Z] rf_2B: 0.021 pJ per 16-bit port access
    sram_read_pj_per_bit=416.16 / 2048,  # [Z] sram_2MB: r_cost 416.16 pJ per 2048-bit word
    sram_write_pj_per_bit=378.4 / 2048,  # [Z] sram_2MB: w_cost 378.4 pJ per 2048-bit word
    sram_ref_kib=2048,  # [Z] sram_2MB: 16777216 bits
    sram_size_exponent=0.5,  # [C] (one size in [Z]): CACTI grows as size^0.51, 8 KiB-2 MiB
    dram_read_pj_per_bit=700 / 64,  # [Z] dram: r_cost 700 pJ per 64-bit word
    dram_write_pj_per_bit=750 / 64,  # [Z] dram: w_cost 750 pJ per 64-bit word
    pe_leakage_uw=0.0,  # [Z] ZigZag's cost model has no leakage
    sram_leakage_uw_per_kib=0.0,  # [Z] no leakage
    mac_area_um2_8x8=HOROWITZ_45NM.mac_area_um2_8x8,  # [H] borrowed: [Z] says 1 "unit"
    mac_mult_area_share=HOROWITZ_45NM.mac_mult_area_share,  # [H] borrowed
    sram_area_mm2_per_kib=HOROWITZ_45NM.sram_area_mm2_per_kib,  # [C] borrowed: [Z] says 0
    fixed_area_mm2=0.0,  # [Z] no area model
)
"""The per-access energies ZigZag ships for its ``tpu_like`` template (source [Z] above);
areas borrowed from ``horowitz_45nm`` so that ``area_mm2`` stays meaningful."""

#: Energy tables by name.
ENERGY_TABLES: dict[str, EnergyTable] = {t.name: t for t in (HOROWITZ_45NM, ZIGZAG_TPU_LIKE)}
DEFAULT_ENERGY = HOROWITZ_45NM.name


def get_energy_table(name: str) -> EnergyTable:
    """An energy table by name; see :data:`ENERGY_TABLES`."""
    try:
        return ENERGY_TABLES[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown energy table {name!r}; choose from "
                         f"{', '.join(sorted(ENERGY_TABLES))}", field="energy") from None
