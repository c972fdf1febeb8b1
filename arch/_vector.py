"""The vector unit: the lanes that run operators without MACs (activations, softmax, norms,
pooling, elementwise arithmetic) beside the PE array."""
from __future__ import annotations

from dataclasses import dataclass

from hwloop.traces import InputError

from ._limits import MAX_ARRAY_DIM, MAX_BANDWIDTH, MAX_PHYSICAL, check_int, check_number


@dataclass(frozen=True, kw_only=True)
class VectorUnit:
    """``lanes`` ALUs, each completing ``ops_per_lane`` operations per cycle (an operation
    as counted by :data:`hwloop.traces.OPS_PER_ELEMENT`), reading and writing the SRAM
    through ports of ``port_words`` words per cycle each way, at ``energy_per_op_pj`` per
    operation.

    The default is one lane per column of SCALE-Sim's default 32x32 array, as TPU v1's
    activation pipeline is as wide as its matrix unit (Jouppi et al., ISCA 2017, section 2),
    and an fp16 multiply-add per operation at 45 nm: 1.1 pJ + 0.4 pJ (Horowitz, ISSCC 2014).
    """

    lanes: int = 32
    ops_per_lane: int = 1
    port_words: int = 32
    energy_per_op_pj: float = 1.5

    def __post_init__(self) -> None:
        check_int(self.lanes, "lanes", high=MAX_ARRAY_DIM * MAX_ARRAY_DIM)
        check_int(self.ops_per_lane, "ops_per_lane", high=MAX_ARRAY_DIM)
        check_int(self.port_words, "port_words", high=MAX_BANDWIDTH)
        check_number(self.energy_per_op_pj, "energy_per_op_pj", high=MAX_PHYSICAL)

    @property
    def ops_per_cycle(self) -> int:
        return self.lanes * self.ops_per_lane

    def to_dict(self) -> dict:
        return {"lanes": self.lanes, "ops_per_lane": self.ops_per_lane,
                "port_words": self.port_words, "energy_per_op_pj": self.energy_per_op_pj}


#: Vector units of published accelerators (``[vector] preset = NAME`` in TOML).
VECTOR_UNITS: dict[str, VectorUnit] = {
    # one lane per array column (see VectorUnit's docstring)
    "default": VectorUnit(),
    # TPU v1: 256-wide activation pipeline after the 256x256 matrix unit, 8-bit results
    # (Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit",
    # ISCA 2017); 8-bit integer add + multiply at 45 nm: 0.03 + 0.2 pJ (Horowitz 2014)
    "tpu-v1": VectorUnit(lanes=256, ops_per_lane=1, port_words=256, energy_per_op_pj=0.23),
}


def get_vector_unit(name: str) -> VectorUnit:
    try:
        return VECTOR_UNITS[name]
    except KeyError:
        raise InputError(f"unknown vector unit {name!r}; choose {', '.join(VECTOR_UNITS)}",
                         field="vector.preset") from None
