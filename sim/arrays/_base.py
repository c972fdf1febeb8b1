"""Array models: one small interface, and a registry from ``arch`` config type to model.

``arch`` never names a simulator class; a new kind of array adds a config class in ``arch``
(its fields are what TOML files and ``with_overrides`` set) and one module here whose model
implements everything kind-specific: cycles and counters, energy, area, its own report
columns, its own CLI options, the report header and the checks. ``arrays/__init__.py``
registers it (see ``docs/architecture.md``).
"""
from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from hwloop.arch import Accelerator
from hwloop.sim.memory import check_buffers
from hwloop.sim.report import register_columns
from hwloop.traces import InputError, Layer

from ._energy import BREAKDOWN_KEYS, digital_area_mm2, layer_energy

if TYPE_CHECKING:
    from hwloop.sim.memory import LayerRecorder


class ArrayModel(ABC):
    """Turns one layer on one accelerator into a report row (see ``sim.COLUMNS``)."""

    #: The ``kind`` of the arch configs this model runs (``--array-kind``).
    kind: ClassVar[str]
    #: Report columns only this kind fills, with their units (None on other kinds' rows).
    columns: ClassVar[dict[str, str]] = {}
    #: Components of its rows' ``energy_breakdown``, in order.
    breakdown_keys: ClassVar[tuple[str, ...]] = BREAKDOWN_KEYS
    #: Array-config fields set by options of ``hwloop simulate`` only this kind has.
    options: ClassVar[dict[str, str]] = {}
    #: What those options say on an array of another kind.
    other_kind_error: ClassVar[str] = ""

    @abstractmethod
    def simulate_layer(self, layer: Layer, accel: Accelerator, *, scalesim_compat: bool,
                       recorder: LayerRecorder | None = None) -> dict:
        """Counters for ``layer``; raise :class:`InputError` for what cannot run.

        ``recorder`` asks for the layer's access trace; a model that cannot trace raises
        :class:`InputError`.
        """

    def check(self, accel: Accelerator) -> None:
        """Refuse an accelerator this model cannot run at all (called once per network)."""
        check_buffers(accel)

    def energy(self, row: dict, accel: Accelerator) -> tuple[float, dict[str, float]]:
        """Energy of one report row in pJ, and its breakdown (sums to it)."""
        return layer_energy(row, accel)

    def area_mm2(self, accel: Accelerator) -> float:
        """Silicon area of the accelerator."""
        return digital_area_mm2(accel)

    def variants(self, layer: Layer, accel: Accelerator) -> Iterator[Accelerator]:
        """The accelerators a dataflow search tries for ``layer``: each dataflow."""
        for dataflow in ("os", "ws", "is"):
            yield accel.with_overrides(dataflow=dataflow)

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Add this kind's ``hwloop simulate`` options (named in :attr:`options`)."""

    def describe(self, array: dict, clock_ghz: float) -> str:
        """The array's words in a report header after ``ROWSxCOLS`` (from the config dict)."""
        return "" if self.kind == "systolic" else f" {self.kind}"

    def list_label(self, array) -> str:
        """The array's words after ``ROWSxCOLS`` in ``--list-presets``."""
        return "" if self.kind == "systolic" else f" {self.kind}"

    def summary_lines(self, totals: dict) -> str:
        """More of the run's totals for the line under the table ("" for none)."""
        return ""

    def table_columns(self) -> tuple[list[str], list[str]]:
        """(columns, integer columns) of the per-layer table ``hwloop simulate`` prints, most
        telling first: a narrow terminal shows the leading ones that fit."""
        columns = ["name", "total_cycles", "overall_util", "compute_util", "mapping_eff",
                   "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
                   "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes"]
        return columns, columns[5:] + ["total_cycles"]


_MODELS: dict[type, ArrayModel] = {}


def register_model(config_type: type, model: ArrayModel) -> None:
    """Simulate arrays whose config is ``config_type`` with ``model``."""
    _MODELS[config_type] = model
    register_columns(model.columns)


def model_for(accel: Accelerator) -> ArrayModel:
    try:
        return _MODELS[type(accel.array)]
    except KeyError:
        raise InputError(f"no simulator for arrays of type {type(accel.array).__name__}",
                         field="array") from None


def model_of_kind(kind: str) -> ArrayModel:
    """The registered model of arrays of ``kind`` (e.g. from a report's config)."""
    for model in _MODELS.values():
        if model.kind == kind:
            return model
    raise InputError(f"no simulator for {kind!r} arrays", field="array_kind")


def registered_models() -> list[ArrayModel]:
    """Every registered model, once each, in registration order."""
    return list(dict.fromkeys(_MODELS.values()))


def add_kind_options(parser: argparse.ArgumentParser) -> None:
    """Every kind's own ``hwloop simulate`` options."""
    for model in registered_models():
        model.add_options(parser)


def kind_overrides(accel: Accelerator, args: argparse.Namespace) -> Accelerator:
    """``accel`` with the kind-specific options given; an error for another kind's option."""
    for model in registered_models():
        changes = {name: getattr(args, option.lstrip("-").replace("-", "_"), None)
                   for name, option in model.options.items()}
        changes = {name: value for name, value in changes.items() if value is not None}
        if not changes:
            continue
        if model_for(accel) is not model:
            raise InputError(model.other_kind_error, field=model.options[next(iter(changes))])
        accel = replace(accel, array=replace(accel.array, **changes))
    return accel
