"""An accelerator: array, buffers, DRAM and clock, grouped."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from hwloop.traces import InputError

from ._chip import Chip
from ._energy import HOROWITZ_45NM, EnergyTable, get_energy_table
from ._limits import CLOCK_GHZ, MAX_OPERAND_BITS, check_int, check_number
from ._memory import Dram, Sram
from ._sparsity import Sparsity
from ._systolic import PEArray, SystolicArray
from ._vector import VectorUnit


@dataclass(frozen=True, kw_only=True)
class Accelerator:
    """Everything a simulator needs to know about the hardware.

    Make variants with :func:`dataclasses.replace` or :meth:`with_overrides`.
    """

    name: str = "custom"
    array: PEArray = field(default_factory=SystolicArray)
    sram: Sram = field(default_factory=Sram)
    dram: Dram = field(default_factory=Dram)
    clock_ghz: float = 1.0
    operand_bits: int = 8
    energy: EnergyTable = HOROWITZ_45NM
    #: Runs the operators without MACs (activations, softmax, norms, pooling, additions).
    vector: VectorUnit = field(default_factory=VectorUnit)
    #: Whether layers' N:M weight sparsity is honoured, and the filters' compression.
    sparsity: Sparsity = field(default_factory=Sparsity)
    #: Cores: copies of the array and its buffers sharing the DRAM (1: today's one array).
    chip: Chip = field(default_factory=Chip)

    def __post_init__(self) -> None:
        check_number(self.clock_ghz, "clock_ghz", low=CLOCK_GHZ[0], high=CLOCK_GHZ[1])
        check_int(self.operand_bits, "operand_bits", high=MAX_OPERAND_BITS)
        if not isinstance(self.energy, EnergyTable):
            raise InputError(f"must be an EnergyTable, got {self.energy!r}", field="energy")
        if not isinstance(self.vector, VectorUnit):
            raise InputError(f"must be a VectorUnit, got {self.vector!r}", field="vector")
        if self.chip.cores > 1 and self.array.kind == "analog":
            raise InputError("a chip of several analog cores is not modelled yet; use "
                             "--cores 1 (or tiles)", field="cores")
        if self.sparsity.enabled and self.array.kind == "analog":
            raise InputError("analog tiles store every weight in a crossbar and cannot skip "
                             "zeros; drop --sparse", field="sparse")

    @property
    def pes(self) -> int:
        """PEs of the whole chip: every core's array."""
        return self.chip.cores * self.array.num_pes

    def with_overrides(self, **changes: Any) -> "Accelerator":
        """A copy with flat overrides (None = keep): ``rows``, ``cols``, ``dataflow``,
        ``ifmap_kb`` …, the DRAM's ``bandwidth``, ``ifmap_bandwidth`` …, ``dram_latency`` and
        ``dram_model``, an analog tile's ``tiles``, ``adc_bits`` … and ``analog_device``;
        ``energy`` takes an energy table or its name."""
        from dataclasses import replace

        changes = dict(changes)
        energy = changes.pop("energy", None)
        if isinstance(energy, str):
            energy = get_energy_table(energy)

        if "analog_device" in changes:  # the analog tile's ``device``, named for a flat list
            changes["device"] = changes.pop("analog_device")
        groups = {"array": ("rows", "cols", "dataflow", "array_kind", "bits_per_cycle",
                            "serial_operand", *ANALOG_OVERRIDES),
                  "sram": ("ifmap_kb", "filter_kb", "ofmap_kb", "word_bytes", "accumulate_psums",
                           "keep_activations"),
                  "dram": ("bandwidth", "ifmap_bandwidth", "filter_bandwidth", "ofmap_bandwidth",
                           "dram_latency", "dram_model"),
                  "vector": VECTOR_OVERRIDES,
                  "sparsity": tuple(SPARSITY_OVERRIDES),
                  "chip": ("cores", "partition", "noc_bw", "mesh_rows")}
        unknown = set(changes) - {k for keys in groups.values() for k in keys}
        if unknown:
            raise TypeError(f"unknown overrides: {sorted(unknown)}")
        picked = {part: {k: v for k, v in changes.items() if k in keys and v is not None}
                  for part, keys in groups.items()}
        dram = {{"dram_latency": "latency_cycles", "dram_model": "model"}.get(k, k): v
                for k, v in picked["dram"].items()}
        vector = {k.removeprefix("vector_"): v for k, v in picked["vector"].items()}
        sparsity = {SPARSITY_OVERRIDES[k]: v for k, v in picked["sparsity"].items()}
        try:
            unit = replace(self.vector, **vector)
        except InputError as exc:  # named as the override that set it
            raise InputError(exc.reason, field=f"vector_{exc.field}") from None
        try:
            sparse = replace(self.sparsity, **sparsity)
        except InputError as exc:
            named = {field: name for name, field in SPARSITY_OVERRIDES.items()}
            raise InputError(exc.reason, field=named.get(exc.field or "", "sparse_rep")) from None
        return replace(self, array=_array_with(self.array, picked["array"]),
                       sram=replace(self.sram, **picked["sram"]), dram=replace(self.dram, **dram),
                       energy=self.energy if energy is None else energy, vector=unit,
                       sparsity=sparse, chip=replace(self.chip, **picked["chip"]))

    @classmethod
    def from_dict(cls, data: dict) -> "Accelerator":
        """The inverse of :meth:`to_dict` (what a report or a trace file records)."""
        from ._precision import ARRAY_KINDS

        array = dict(data["array"])
        array_cls = ARRAY_KINDS[array.pop("kind", "systolic")]
        return cls(name=data["name"], array=array_cls(**array),
                   sram=Sram(**data["sram"]), dram=Dram(**data["dram"]),
                   clock_ghz=data["clock_ghz"], operand_bits=data["operand_bits"],
                   energy=EnergyTable(**data["energy"]) if "energy" in data else HOROWITZ_45NM,
                   vector=VectorUnit(**data["vector"]) if "vector" in data else VectorUnit(),
                   sparsity=Sparsity(**data["sparsity"]) if "sparsity" in data else Sparsity(),
                   chip=Chip(**data["chip"]) if "chip" in data else Chip())

    def to_dict(self) -> dict:
        """Plain values, for reports (the same keys as hwloop's TOML tables)."""
        return {
            "name": self.name,
            "array": self.array.to_dict(),
            "sram": {"ifmap_kb": self.sram.ifmap_kb, "filter_kb": self.sram.filter_kb,
                     "ofmap_kb": self.sram.ofmap_kb, "word_bytes": self.sram.word_bytes,
                     "active_fraction": self.sram.active_fraction,
                     "accumulate_psums": self.sram.accumulate_psums,
                     "keep_activations": self.sram.keep_activations},
            "dram": self.dram.to_dict(),
            "clock_ghz": self.clock_ghz,
            "operand_bits": self.operand_bits,
            "energy": self.energy.to_dict(),
            "vector": self.vector.to_dict(),
            "sparsity": self.sparsity.to_dict(),
            "chip": self.chip.to_dict(),
        }


#: Flat override names of the ``Sparsity`` fields (as the CLI options name them).
SPARSITY_OVERRIDES = {"sparse": "enabled", "sparse_rep": "representation",
                      "sparse_row_wise": "row_wise", "sparse_block": "block_size",
                      "sparse_seed": "seed"}
#: Vector-unit fields :meth:`Accelerator.with_overrides` takes, each ``vector_`` + the field.
VECTOR_OVERRIDES = ("vector_lanes", "vector_ops_per_lane", "vector_port_words")

#: Analog tile fields :meth:`Accelerator.with_overrides` takes (``analog_device`` sets
#: ``device``).
ANALOG_OVERRIDES = ("tiles", "devices_per_weight", "dac_bits", "adc_bits", "columns_per_adc",
                    "adc_conversion_ns", "device")


def _array_with(array: PEArray, changes: dict) -> PEArray:
    """``array`` with field changes; ``array_kind`` switches the class, keeping rows, cols
    and dataflow."""
    from ._precision import ARRAY_KINDS

    changes = dict(changes)
    kind = changes.pop("array_kind", array.kind)
    if kind not in ARRAY_KINDS:
        raise InputError(f"unknown array kind {kind!r}; choose {', '.join(ARRAY_KINDS)}",
                         field="array_kind")
    known = {f.name for f in fields(ARRAY_KINDS[kind])}
    for option in changes:
        if option not in known:
            raise InputError(f"{kind} arrays have no {option}", field=option)
    if kind == array.kind:
        return replace(array, **changes)
    return ARRAY_KINDS[kind](**{"rows": array.rows, "cols": array.cols,
                                "dataflow": array.dataflow, **changes})
