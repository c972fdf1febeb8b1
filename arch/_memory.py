"""On-chip SRAM buffers and off-chip DRAM."""
from __future__ import annotations

import math
from dataclasses import dataclass

from hwloop.traces import InputError

from ._systolic import _check_positive_int


@dataclass(frozen=True, kw_only=True)
class Sram:
    """The three double-buffered scratchpads, sized in KiB as in SCALE-Sim.

    Half of each buffer serves the array while the other half fills (``active_fraction``).
    ``word_bytes`` is the size of one stored word (SCALE-Sim hard-wires 1).
    """

    ifmap_kb: int = 64
    filter_kb: int = 64
    ofmap_kb: int = 64
    word_bytes: int = 1
    active_fraction: float = 0.5

    def __post_init__(self) -> None:
        for field in ("ifmap_kb", "filter_kb", "ofmap_kb", "word_bytes"):
            _check_positive_int(getattr(self, field), field)
        if not 0.5 <= self.active_fraction < 1:
            raise InputError(f"must be in [0.5, 1), got {self.active_fraction}",
                             field="active_fraction")

    def words(self, operand: str) -> int:
        """Capacity of one buffer (``ifmap``, ``filter`` or ``ofmap``) in words."""
        return math.floor(getattr(self, f"{operand}_kb") * 1024 / self.word_bytes)


@dataclass(frozen=True, kw_only=True)
class Dram:
    """Off-chip memory. ``bandwidth_words_per_cycle=None`` is unlimited (SCALE-Sim's CALC mode)."""

    bandwidth_words_per_cycle: float | None = None

    def __post_init__(self) -> None:
        bw = self.bandwidth_words_per_cycle
        if bw is not None and (isinstance(bw, bool) or not isinstance(bw, (int, float)) or bw <= 0):
            raise InputError(f"must be a positive number or unlimited, got {bw!r}",
                             field="bandwidth_words_per_cycle")
