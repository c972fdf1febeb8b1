"""A network: an ordered, named tuple of layers."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    #: The producer -> consumer graph over the nodes of :meth:`in_order` (layers and vector
    #: operators): ``inputs[j]`` are the nodes whose outputs node ``j`` reads (empty: only
    #: the network's input). None when not known; a topology CSV is a chain of its rows.
    inputs: tuple[tuple[int, ...], ...] | None = None

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
        if self.inputs is not None:
            object.__setattr__(self, "inputs", tuple(tuple(int(i) for i in node)
                                                     for node in self.inputs))
            nodes = len(self.layers) + len(self.vector_ops)
            if len(self.inputs) != nodes or any(not 0 <= i < j for j, node in
                                                enumerate(self.inputs) for i in node):
                raise InputError(f"inputs must list, for each of the {nodes} layers and vector "
                                 "operators in model order, earlier nodes only", field="inputs")

    def layers_only(self) -> "Network":
        """The network without its vector operators; each layer then reads the layers its
        inputs came from through them (the graph collapsed onto the layers)."""
        if not self.vector_ops:
            return self
        kinds = [isinstance(item, Layer) for item in self.in_order()]
        if self.inputs is None:
            return replace(self, vector_ops=(), inputs=None)
        sources: list[tuple[int, ...]] = []  # per node: the layer indices its value comes from
        index_of: dict[int, int] = {}
        for j, (is_layer, reads) in enumerate(zip(kinds, self.inputs)):
            if is_layer:
                index_of[j] = len(index_of)
                sources.append((index_of[j],))
            else:  # a vector operator passes on where its inputs came from
                sources.append(tuple(sorted({s for i in reads for s in sources[i]})))
        graph = tuple(tuple(sorted({s for i in reads for s in sources[i]}))
                      for j, reads in enumerate(self.inputs) if kinds[j])
        return replace(self, vector_ops=(), inputs=graph)

    @staticmethod
    def chain(nodes: int) -> tuple[tuple[int, ...], ...]:
        """The graph of ``nodes`` run one after another, each reading the one before."""
        return tuple(() if j == 0 else (j - 1,) for j in range(nodes))

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
