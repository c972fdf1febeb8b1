"""On-chip SRAM buffers and off-chip DRAM."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from hwloop.traces import InputError

from ._limits import (
    MAX_BANDWIDTH,
    MAX_BUFFER_KIB,
    MAX_LATENCY_CYCLES,
    MAX_WORD_BITS,
    MAX_WORD_BYTES,
    check_finite,
    check_int,
)


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
    #: Bits of one stored word per buffer (None: ``8 * word_bytes``). Precision-scalable
    #: arrays pack narrower operands, so a buffer holds more of them.
    ifmap_word_bits: int | None = None
    filter_word_bits: int | None = None
    ofmap_word_bits: int | None = None
    #: WS/IS: the ofmap buffer adds each row fold's partial sums to what it holds (reading
    #: them back), so only final outputs go to DRAM. False is SCALE-Sim's choice: every row
    #: fold's partial sums are written out.
    accumulate_psums: bool = False
    #: A layer's output that fits stays in SRAM for its consumers: neither its DRAM write nor
    #: their DRAM reads of it happen (``docs/vector-unit.md``). False is SCALE-Sim's choice:
    #: every output goes to DRAM and comes back.
    keep_activations: bool = False

    def __post_init__(self) -> None:
        for field in ("ifmap_kb", "filter_kb", "ofmap_kb"):
            check_int(getattr(self, field), field, high=MAX_BUFFER_KIB)
        check_int(self.word_bytes, "word_bytes", high=MAX_WORD_BYTES)
        for field in ("ifmap_word_bits", "filter_word_bits", "ofmap_word_bits"):
            if getattr(self, field) is not None:
                check_int(getattr(self, field), field, high=MAX_WORD_BITS)
        for flag in ("accumulate_psums", "keep_activations"):
            if not isinstance(getattr(self, flag), bool):
                raise InputError(f"must be true or false, got {getattr(self, flag)!r}",
                                 field=flag)
        check_finite(self.active_fraction, "active_fraction")
        if not 0.5 <= self.active_fraction < 1:
            raise InputError(f"must be in [0.5, 1), got {self.active_fraction}",
                             field="active_fraction")

    def word_bits(self, operand: str) -> int:
        """Bits of one stored ``operand`` word."""
        return getattr(self, f"{operand}_word_bits") or 8 * self.word_bytes

    def words(self, operand: str) -> int:
        """Capacity of one buffer (``ifmap``, ``filter`` or ``ofmap``) in words."""
        return _buffer_words(getattr(self, f"{operand}_kb"), self.word_bits(operand))


@functools.lru_cache(maxsize=1024)
def _buffer_words(kib: int, word_bits: int) -> int:  # asked many times per simulated layer
    return math.floor(kib * 1024 * 8 / word_bits)


@dataclass(frozen=True, kw_only=True)
class Dram:
    """Off-chip memory: three ports (ifmap read, filter read, ofmap write) and a latency.

    ``bandwidth`` sets every port in words per cycle, as SCALE-Sim's ``Bandwidth`` does;
    ``ifmap_bandwidth``/``filter_bandwidth``/``ofmap_bandwidth`` override one port. A port
    with no bandwidth is unlimited; with all unlimited the run is stall-free (SCALE-Sim's
    ``CALC`` mode). Bandwidths are whole words per cycle so that no cycle moves more than
    the port carries (at most ``MAX_BANDWIDTH``; the latency at most ``MAX_LATENCY_CYCLES``,
    see docs/limits.md). ``model`` names a DRAM device preset (e.g. ``ddr4-3200``) to time the
    transfers with the event-driven DRAM model instead of a fixed-bandwidth pipe.
    """

    bandwidth: int | None = None
    ifmap_bandwidth: int | None = None
    filter_bandwidth: int | None = None
    ofmap_bandwidth: int | None = None
    latency_cycles: int = 0
    model: str | None = None

    def __post_init__(self) -> None:
        for name in ("bandwidth", "ifmap_bandwidth", "filter_bandwidth", "ofmap_bandwidth"):
            if getattr(self, name) is not None:  # whole words per cycle
                check_int(getattr(self, name), name, high=MAX_BANDWIDTH)
        check_int(self.latency_cycles, "latency_cycles", high=MAX_LATENCY_CYCLES, low=0)
        if self.model is not None and not isinstance(self.model, str):
            raise InputError(f"must be a DRAM preset name, got {self.model!r}", field="model")

    def port_bandwidths(self) -> tuple[int | None, int | None, int | None]:
        """(ifmap, filter, ofmap) words per cycle; None = unlimited."""
        return tuple(getattr(self, f"{op}_bandwidth") or self.bandwidth  # type: ignore[return-value]
                     for op in ("ifmap", "filter", "ofmap"))

    @property
    def finite(self) -> bool:
        """Whether any port is limited (or a DRAM device model times the transfers)."""
        return self.model is not None or not (self.bandwidth is self.ifmap_bandwidth is
                                              self.filter_bandwidth is self.ofmap_bandwidth
                                              is None)

    def to_dict(self) -> dict:
        return {"bandwidth": self.bandwidth, "ifmap_bandwidth": self.ifmap_bandwidth,
                "filter_bandwidth": self.filter_bandwidth, "ofmap_bandwidth": self.ofmap_bandwidth,
                "latency_cycles": self.latency_cycles, "model": self.model}
