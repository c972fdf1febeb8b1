"""A network: an ordered, named tuple of layers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ._errors import InputError
from ._layer import Layer


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "not_simulated",
                           tuple((str(n), str(op)) for n, op in self.not_simulated))
        if not self.layers:
            raise InputError("a network needs at least one layer", field="layers")

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
