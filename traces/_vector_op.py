"""Operators without multiply-accumulates (activations, normalisation, pooling, elementwise
arithmetic): the work of a vector unit, counted in elements and operations.

An *operation* is one lane-cycle of a vector ALU: an add, a multiply, a compare, a
multiply-add, or one special function (exp, tanh, reciprocal, rsqrt) from a lookup table or
a piecewise fit, as vector units of DNN accelerators evaluate them. The counts per element
below are the decomposition written next to each kind; they are hwloop's, stated so that a
study can change them (``ops_per_element``).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ._errors import InputError


class VectorKind(str, Enum):
    """What a vector operator computes (the report's ``kind`` for its row)."""

    RELU = "relu"
    GELU = "gelu"
    SILU = "silu"
    SOFTMAX = "softmax"
    LAYERNORM = "layernorm"
    RMSNORM = "rmsnorm"
    POOL = "pool"
    ADD = "add"
    MUL = "mul"
    ROTARY = "rotary"


#: Operations per output element, by kind (``pool``: per input element of the window).
OPS_PER_ELEMENT: dict[VectorKind, int] = {
    VectorKind.RELU: 1,       # max(x, 0)
    VectorKind.GELU: 8,       # tanh form: x^2, x^3*c, +x, *sqrt(2/pi), tanh, +1, *x, *0.5
    VectorKind.SILU: 4,       # -x, exp, +1, x / (.)
    VectorKind.SOFTMAX: 5,    # running max, x - max, exp, running sum, * 1/sum
    VectorKind.LAYERNORM: 7,  # sum, x - mean, square, sum, * rstd, * gamma, + beta
    VectorKind.RMSNORM: 4,    # square, sum, * rstd, * gamma
    VectorKind.POOL: 1,       # max or add per window element (average: the scale folded in)
    VectorKind.ADD: 1,
    VectorKind.MUL: 1,
    VectorKind.ROTARY: 3,     # x * cos + rotate(x) * sin: two multiplies and an add
}
#: Kinds that also read per-row parameters (``row`` words each): gamma and beta, or gamma.
PARAMETERS_PER_ROW: dict[VectorKind, int] = {VectorKind.LAYERNORM: 2, VectorKind.RMSNORM: 1}


@dataclass(frozen=True, kw_only=True)
class VectorOp:
    """One operator on ``elements`` output elements.

    ``operands``: input tensors of ``elements`` each (``add``/``mul``: 2; 1 for a scale by
    a constant or a parameter). ``window``: inputs pooled into each output (``pool``).
    ``row``: the length each softmax or norm reduces over (parameters per row for the
    norms). ``ops_per_element`` overrides the kind's count (:data:`OPS_PER_ELEMENT`), e.g.
    2 for an inference batch norm written as a ``mul`` (scale and shift). ``params``:
    parameter words read besides (a batch norm's scales and shifts).
    """

    name: str
    kind: VectorKind
    elements: int
    operands: int = 1
    window: int = 1
    row: int = 1
    ops_per_element: int | None = None
    params: int = 0

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", VectorKind(self.kind))
        except ValueError:
            raise InputError(f"unknown vector operator {self.kind!r}; choose "
                             f"{', '.join(k.value for k in VectorKind)}", field="kind") from None
        for field in ("elements", "operands", "window", "row", "ops_per_element", "params"):
            value = getattr(self, field)
            if value is None and field == "ops_per_element":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"must be an integer, got {value!r}", field=field)
            if value < (0 if field == "params" else 1):
                raise InputError(f"must be {'non-negative' if field == 'params' else 'positive'}"
                                 f", got {value}", field=field)

    @property
    def ops(self) -> int:
        """Vector-unit operations the operator needs."""
        per = (self.ops_per_element if self.ops_per_element is not None
               else OPS_PER_ELEMENT[self.kind])
        return self.elements * self.window * per

    @property
    def input_words(self) -> int:
        """Activation words read: every operand's elements, each window's inputs."""
        return self.elements * self.operands * self.window

    @property
    def parameter_words(self) -> int:
        """Parameter words read: a norm's gamma (and beta) per row, plus ``params``."""
        return PARAMETERS_PER_ROW.get(self.kind, 0) * self.row + self.params

    @property
    def output_words(self) -> int:
        return self.elements
