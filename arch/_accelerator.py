"""An accelerator: array, buffers, DRAM and clock, grouped."""
from __future__ import annotations

from dataclasses import dataclass, field

from hwloop.traces import InputError

from ._memory import Dram, Sram
from ._systolic import SystolicArray


@dataclass(frozen=True, kw_only=True)
class Accelerator:
    """Everything a simulator needs to know about the hardware.

    Make variants with :func:`dataclasses.replace` or :meth:`with_overrides`.
    """

    name: str = "custom"
    array: SystolicArray = field(default_factory=SystolicArray)
    sram: Sram = field(default_factory=Sram)
    dram: Dram = field(default_factory=Dram)
    clock_ghz: float = 1.0
    operand_bits: int = 8

    def __post_init__(self) -> None:
        if isinstance(self.clock_ghz, bool) or not isinstance(self.clock_ghz, (int, float)) \
                or self.clock_ghz <= 0:
            raise InputError(f"must be a positive number, got {self.clock_ghz!r}", field="clock_ghz")
        if isinstance(self.operand_bits, bool) or not isinstance(self.operand_bits, int) \
                or self.operand_bits <= 0:
            raise InputError(f"must be a positive integer, got {self.operand_bits!r}",
                             field="operand_bits")

    def with_overrides(self, **changes: object) -> "Accelerator":
        """A copy with flat overrides (None = keep): ``rows``, ``cols``, ``dataflow``,
        ``ifmap_kb`` …, and the DRAM's ``bandwidth``, ``ifmap_bandwidth`` …,
        ``dram_latency`` and ``dram_model``."""
        from dataclasses import replace

        groups = {"array": ("rows", "cols", "dataflow"),
                  "sram": ("ifmap_kb", "filter_kb", "ofmap_kb", "word_bytes"),
                  "dram": ("bandwidth", "ifmap_bandwidth", "filter_bandwidth", "ofmap_bandwidth",
                           "dram_latency", "dram_model")}
        unknown = set(changes) - {k for keys in groups.values() for k in keys}
        if unknown:
            raise TypeError(f"unknown overrides: {sorted(unknown)}")
        picked = {part: {k: v for k, v in changes.items() if k in keys and v is not None}
                  for part, keys in groups.items()}
        dram = {{"dram_latency": "latency_cycles", "dram_model": "model"}.get(k, k): v
                for k, v in picked["dram"].items()}
        return replace(self, array=replace(self.array, **picked["array"]),
                       sram=replace(self.sram, **picked["sram"]), dram=replace(self.dram, **dram))

    @classmethod
    def from_dict(cls, data: dict) -> "Accelerator":
        """The inverse of :meth:`to_dict` (what a report or a trace file records)."""
        return cls(name=data["name"], array=SystolicArray(**data["array"]),
                   sram=Sram(**data["sram"]), dram=Dram(**data["dram"]),
                   clock_ghz=data["clock_ghz"], operand_bits=data["operand_bits"])

    def to_dict(self) -> dict:
        """Plain values, for reports (the same keys as hwloop's TOML tables)."""
        return {
            "name": self.name,
            "array": {"rows": self.array.rows, "cols": self.array.cols,
                      "dataflow": self.array.dataflow.value},
            "sram": {"ifmap_kb": self.sram.ifmap_kb, "filter_kb": self.sram.filter_kb,
                     "ofmap_kb": self.sram.ofmap_kb, "word_bytes": self.sram.word_bytes,
                     "active_fraction": self.sram.active_fraction},
            "dram": self.dram.to_dict(),
            "clock_ghz": self.clock_ghz,
            "operand_bits": self.operand_bits,
        }
