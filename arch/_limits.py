"""Ceilings on every hardware setting, checked once, where the configs are built.

The engine counts cycles and words in int64 (Numba) and energy in float64. Each ceiling is
far above any real part yet keeps the products the engine forms (a layer's operands are at
most 2**31 words) well inside those types, so a value is refused here, naming its field,
instead of wrapping or overflowing later. ``docs/limits.md`` gives the reason for each number.
"""
from __future__ import annotations

import math

from hwloop.traces import InputError

MAX_ARRAY_DIM = 2**16  #: rows, cols (devices of an analog tile), tiles, columns_per_adc
MAX_BUFFER_KIB = 2**24  #: one SRAM buffer (16 GiB)
MAX_WORD_BYTES = 8  #: one stored word (a 64-bit word)
MAX_WORD_BITS = 64  #: ``*_word_bits`` of a buffer
MAX_OPERAND_BITS = 32  #: operand_bits, max_bits, bits_per_cycle: a layer's widths stop at 32
MAX_FUSION_ROWS = 64  #: more than any fused PE's MACs (Bit Fusion 16, 2-in-1 32)
MAX_BANDWIDTH = 2**40  #: words per cycle of one DRAM port: wider than any buffer (2**37 words)
MAX_LATENCY_CYCLES = 2**24  #: DRAM latency (16.8 ms at 1 GHz)
MAX_CONVERTER_BITS = 16  #: dac_bits, adc_bits (an ADC's energy doubles per bit)
MAX_DEVICES_PER_WEIGHT = 16
MAX_DRAM_DEVICE_INT = 2**20  #: a DRAM part's channels, banks, row and bus bytes, MT/s ...
CLOCK_GHZ = (1e-3, 100.0)  #: 1 MHz to 100 GHz
MAX_ADC_CONVERSION_NS = 1e4  #: 10 µs per conversion (a 100 kS/s converter)
MAX_READ_VOLTAGE_V = 10.0
#: energies (pJ), leakage (µW), areas (µm², mm²), conductances (µS), times (ns)
MAX_PHYSICAL = 1e6
MIN_SRAM_REF_KIB = 2**-10  #: one byte
MAX_SRAM_SIZE_EXPONENT = 2.0


def _shown(value: float) -> str:
    """``value`` short enough for a one-line error (a 30-digit integer is not)."""
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"{float(value):.3e}" if value.bit_length() < 1000 \
            else f"an integer of {value.bit_length()} bits"
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_int(value: object, field: str, *, high: int, low: int = 1) -> None:
    """``value`` is an integer in ``[low, high]`` (``low`` 1: positive, 0: non-negative)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"must be an integer, got {value!r}", field=field)
    if value < low:
        need = {1: "positive", 0: "non-negative"}.get(low, f"at least {low}")
        raise InputError(f"must be {need}, got {_shown(value)}", field=field)
    if value > high:
        raise InputError(f"must be at most {high:,} (docs/limits.md), got {_shown(value)}",
                         field=field)


def check_number(value: object, field: str, *, high: float, low: float = 0.0,
                 low_open: bool = False) -> None:
    """``value`` is a finite number in ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    check_finite(value, field)
    assert isinstance(value, (int, float))
    if value < low or (low_open and value == low):
        need = ("positive" if low_open else "non-negative") if low == 0 else \
            f"{'above' if low_open else 'at least'} {low:g}"
        raise InputError(f"must be {need}, got {_shown(value)}", field=field)
    if value > high:
        raise InputError(f"must be at most {high:g} (docs/limits.md), got {_shown(value)}",
                         field=field)


def check_finite(value: object, field: str) -> None:
    """``value`` is a finite number (not a bool, a string, NaN or an infinity)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise InputError(f"must be a finite number, got {value!r}", field=field)
