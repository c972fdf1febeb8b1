"""A network: an ordered, named tuple of layers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ._errors import InputError
from ._layer import Layer
from ._vector_op import VectorOp


@dataclass(frozen=True)
class Network:
    """Layers run one after another, as in a SCALE-Sim topology file."""

    name: str
    layers: tuple[Layer, ...]
    #: Where the layers were read from, and each layer's line there, so that a layer the
    #: simulator rejects can be reported at its line.
    source: str | None = field(default=None, compare=False)
    lines: tuple[int, ...] | None = field(default=None, compare=False)
    #: Operators of an imported model that have no MACs and are not simulated (activations,
    #: pooling, normalisation, additions, reshapes), as ``(name, operator)`` pairs in model
    #: order; empty for a topology file.
    not_simulated: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: Operators without MACs, run on the vector unit, as ``(position, op)`` pairs in model
    #: order: ``position`` is the number of layers that run before ``op``.
    vector_ops: tuple[tuple[int, VectorOp], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "not_simulated",
                           tuple((str(n), str(op)) for n, op in self.not_simulated))
        object.__setattr__(self, "vector_ops", tuple((int(p), op) for p, op in self.vector_ops))
        if not self.layers:
            raise InputError("a network needs at least one layer", field="layers")
        positions = [p for p, _ in self.vector_ops]
        if positions != sorted(positions) or any(not 0 <= p <= len(self.layers)
                                                 for p in positions):
            raise InputError(f"vector operators must be in model order, at positions 0 to "
                             f"{len(self.layers)}", field="vector_ops")
        if not all(isinstance(op, VectorOp) for _, op in self.vector_ops):
            raise InputError("vector_ops holds (position, VectorOp) pairs", field="vector_ops")

    def in_order(self) -> Iterator[Layer | VectorOp]:
        """Layers and vector operators in model order (the report's rows)."""
        ops = iter(self.vector_ops)
        pending = next(ops, None)
        for index, layer in enumerate(self.layers):
            while pending is not None and pending[0] <= index:
                yield pending[1]
                pending = next(ops, None)
            yield layer
        while pending is not None:
            yield pending[1]
            pending = next(ops, None)

    def locate(self, error: InputError, index: int) -> InputError:
        """``error`` about layer ``index``, placed at that layer's file and line if known."""
        line = self.lines[index] if self.lines is not None else None
        return error.located(source=self.source, line=line)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)
