"""The systolic PE array."""
from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from fractions import Fraction

from hwloop.traces import InputError

from ._limits import MAX_ARRAY_DIM, check_int


class Dataflow(str, Enum):
    """Which operand stays in the PEs: outputs, weights or inputs (SCALE-Sim's os/ws/is)."""

    OS = "os"
    WS = "ws"
    IS = "is"


def parse_dataflow(value: str | Dataflow, field: str = "dataflow") -> Dataflow:
    """``Dataflow`` from its name; an unknown name is an error, never a silent default."""
    try:
        return Dataflow(str(value.value if isinstance(value, Dataflow) else value).strip().lower())
    except ValueError:
        raise InputError(f"unknown dataflow {value!r}; choose os, ws or is", field=field) from None


@dataclass(frozen=True, kw_only=True)
class PEArray:
    """What every kind of array shares: a ``rows x cols`` grid, a dataflow and its kind's name.

    Each kind is a subclass registered in ``ARRAY_KINDS`` (one ``--array-kind`` switch that
    keeps ``rows``, ``cols`` and ``dataflow``, one ``to_dict`` round trip).
    """

    rows: int = 32
    cols: int = 32
    dataflow: Dataflow = Dataflow.OS
    kind = "pe"  # the ``--array-kind`` name (a class attribute, not a field)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dataflow", parse_dataflow(self.dataflow))
        for field in ("rows", "cols"):
            _check_positive_int(getattr(self, field), field, MAX_ARRAY_DIM)

    @property
    def num_pes(self) -> int:
        return self.rows * self.cols

    def macs_per_pe_cycle(self, weight_bits: int, act_bits: int) -> Fraction:
        """Peak MACs one PE completes per cycle at these widths: one, at any width."""
        return Fraction(1)

    def to_dict(self) -> dict:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["dataflow"] = self.dataflow.value
        return {"kind": self.kind, **values}


@dataclass(frozen=True, kw_only=True)
class SystolicArray(PEArray):
    """A ``rows x cols`` grid of MAC units (SCALE-Sim's ArrayHeight x ArrayWidth)."""

    kind = "systolic"


def _check_positive_int(value: object, field: str, high: int) -> None:
    """A positive integer up to its ceiling (``arch/_limits.py``)."""
    check_int(value, field, high=high)
