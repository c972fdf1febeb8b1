"""A network: an ordered, named tuple of layers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ._errors import InputError
from ._layer import Layer


@dataclass(frozen=True)
class Network:
    """Layers run one after another, as in a SCALE-Sim topology file."""

    name: str
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if not self.layers:
            raise InputError("a network needs at least one layer", field="layers")

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)
