"""What ``--mapping`` asks of the engine: SCALE-Sim's implicit schedule, a mapping file, or
the mapper (``auto``) with its objective."""
from __future__ import annotations

import os
from collections.abc import Hashable
from dataclasses import dataclass

from hwloop.arch import Accelerator, Mapping, MappingFile, SystolicArray, load_mapping
from hwloop.sim.tiling import MAPPER_OBJECTIVES, best_mapping, mapped_layer_row
from hwloop.traces import InputError, Layer, Network


@dataclass(frozen=True)
class MappingPlan:
    """Explicit mappings for a run: from ``file``, or chosen per layer for ``optimize``."""

    file: MappingFile | None = None
    optimize: str = "latency"

    def describe(self) -> str:
        return self.file.source if self.file is not None else f"auto ({self.optimize})"

    def key(self, layer: Layer) -> Hashable:
        """What, beside its shape, decides a layer's row."""
        return self.file.for_layer(layer.name)[1] if self.file is not None else self.optimize

    def row(self, layer: Layer, accel: Accelerator) -> dict:
        """``layer``'s report row under its mapping (errors name the mapping file's table)."""
        if self.file is None:
            return best_mapping(layer, accel, self.optimize)[1]
        table, mapping = self.file.for_layer(layer.name)
        try:
            return mapped_layer_row(layer, accel, mapping)
        except InputError as exc:
            if exc.field is None or exc.field.startswith("-") or exc.source is not None:
                raise
            raise self.file.locate(exc, table) from None

    def check(self, network: Network) -> None:
        """Every ``[layers.NAME]`` table names a layer of ``network``."""
        if self.file is None:
            return
        names = {layer.name for layer in network.layers}
        for name in self.file.layer_names():
            if name not in names:
                error = InputError(f"no layer '{name}' in {network.name}")
                raise self.file.locate(error, f"layers.{name}")


def mapping_plan(mapping: str | os.PathLike[str] | MappingFile | Mapping | None,
                 optimize: str | None) -> MappingPlan | None:
    """The plan for ``--mapping`` (None: SCALE-Sim's implicit schedule)."""
    if optimize is not None and optimize not in MAPPER_OBJECTIVES:
        raise InputError(f"must be one of {', '.join(MAPPER_OBJECTIVES)}, got {optimize!r}",
                         field="--optimize")
    if mapping is None or mapping == "scalesim":
        return None
    if mapping == "auto":
        return MappingPlan(optimize=optimize or "latency")
    if isinstance(mapping, Mapping):
        return MappingPlan(MappingFile(source="<mapping>", default=mapping, layers=()))
    if not isinstance(mapping, MappingFile):
        mapping = load_mapping(mapping)
    return MappingPlan(mapping)


def check_mappable(accel: Accelerator) -> None:
    """What an explicit mapping cannot run on, found before any layer runs (so that no
    layer is blamed)."""
    if type(accel.array) is not SystolicArray:
        raise InputError(f"explicit mappings model a systolic array, not "
                         f"'{accel.array.kind}'", field="--mapping")
    if accel.dram.model is not None:
        raise InputError("a DRAM device model times SCALE-Sim's schedule only, not an "
                         "explicit mapping", field="model")


def map_network(network: Network, accel: Accelerator,
                optimize: str = "latency") -> list[tuple[str, Mapping]]:
    """Each layer's best mapping by the mapper (each distinct shape searched once), as
    (layer name, mapping) in network order: what ``hwloop map`` writes."""
    check_mappable(accel)
    mapping_plan(None, optimize)  # checks the objective
    found = []
    for index, layer in enumerate(network.layers):
        try:
            found.append((layer.name, best_mapping(layer, accel, optimize)[0]))
        except InputError as exc:
            raise network.locate(exc, index) from None
    return found
