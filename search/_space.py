"""A design space as data: parameters, constraints, and the plug-ins that build its networks
and measure its objectives (read from a TOML file by ``_space_file.load_space``).

A point's parameters split three ways: hardware (the accelerator's overrides), run (how it
is simulated: ``mapping``, ``dataflow = "auto"``) and network (the rest: the widths of a named
network's layers, or every parameter a workload family takes).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping

from hwloop.arch import (
    ANALOG_DEVICES,
    ARRAY_KINDS,
    DEFAULT_PRESET,
    DRAM_DEVICES,
    ENERGY_TABLES,
    Accelerator,
    get_preset,
)
from hwloop.traces import InputError, Network

from ._plugins import Family, Objective

#: Parameters that take whole numbers, and the smallest value each allows.
INT_PARAMS = {"rows": 1, "cols": 1, "ifmap_kb": 1, "filter_kb": 1, "ofmap_kb": 1,
              "bandwidth": 1, "ifmap_bandwidth": 1, "filter_bandwidth": 1,
              "ofmap_bandwidth": 1, "dram_latency": 0, "bits_per_cycle": 1,
              "weight_bits": 1, "act_bits": 1, "tiles": 1, "devices_per_weight": 1,
              "dac_bits": 1, "adc_bits": 1, "columns_per_adc": 1, "vector_lanes": 1,
              "vector_ops_per_lane": 1, "vector_port_words": 1, "cores": 1, "noc_bw": 1}
#: Largest values, where a parameter has one.
INT_TOPS = {"weight_bits": 32, "act_bits": 32}
#: Parameters that take one of a few names.
CHOICE_PARAMS = {"dataflow": ("os", "ws", "is", "auto"), "mapping": ("scalesim", "auto"),
                 "partition": ("m", "n", "k", "auto"),
                 "array_kind": tuple(ARRAY_KINDS),
                 "serial_operand": ("weight", "act"), "energy": tuple(sorted(ENERGY_TABLES)),
                 "dram_model": tuple(sorted(DRAM_DEVICES)),
                 "analog_device": tuple(sorted(ANALOG_DEVICES))}
BOOL_PARAMS = ("accumulate_psums", "keep_activations")
#: Parameters that take N:M ratios (``"2:4"``): ``sparsity`` sets every layer's weights'
#: ratio and turns the array's sparsity support on (``"4:4"`` is dense).
RATIO_PARAMS = ("sparsity",)
#: hwloop's parameters of the network rather than the accelerator: widths set on every layer
#: of a named network, or passed to the workload family with the family's own parameters.
NETWORK_PARAMS = ("weight_bits", "act_bits", *RATIO_PARAMS)
#: Parameters of how a point runs rather than of its hardware: ``mapping = "auto"`` runs the
#: mapper on every layer (the inner loop of a hardware search), ``dataflow = "auto"`` picks
#: each layer's dataflow; both optimise the study's objective (EDP when there are several).
RUN_PARAMS = ("mapping",)
PARAM_NAMES = tuple(INT_PARAMS) + tuple(CHOICE_PARAMS) + BOOL_PARAMS + RATIO_PARAMS
#: Constraints checked on the accelerator alone, before any simulation.
STATIC_CONSTRAINTS = ("max_pes", "max_sram_kb", "max_area_mm2")
#: Constraints on simulated objectives: (constraint, objective it bounds).
DYNAMIC_CONSTRAINTS = {"max_latency_cycles": "latency", "max_energy_pj": "energy"}
#: Names that configure the accelerator itself.
_HARDWARE = frozenset(PARAM_NAMES) - set(NETWORK_PARAMS) - set(RUN_PARAMS)


@dataclass(frozen=True, kw_only=True)
class Param:
    """One searched parameter: ``values`` (a list of choices) or an integer ``low``..``high``."""

    name: str
    values: tuple[Any, ...] | None = None
    low: int | None = None
    high: int | None = None
    step: int = 1
    log: bool = False

    def choices(self) -> tuple[Any, ...]:
        """Every value this parameter can take, smallest first for ranges."""
        if self.values is not None:
            return self.values
        assert self.low is not None and self.high is not None
        if not self.log:
            return tuple(range(self.low, self.high + 1, self.step))
        return tuple(range(self.low, self.high + 1))  # log only changes how samplers draw

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for this parameter's value."""
        if self.values is not None:
            return trial.suggest_categorical(self.name, list(self.values))
        return trial.suggest_int(self.name, self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True, kw_only=True)
class Constraints:
    """Upper bounds; None = unconstrained. Static ones never need a simulation."""

    max_pes: int | None = None
    max_sram_kb: int | None = None
    max_area_mm2: float | None = None
    max_latency_cycles: int | None = None
    max_energy_pj: float | None = None

    def declared(self) -> tuple[str, ...]:
        """Names of the constraints that are set, in a fixed order (Optuna's vector order)."""
        names = STATIC_CONSTRAINTS + tuple(DYNAMIC_CONSTRAINTS)
        return tuple(n for n in names if getattr(self, n) is not None)

    def static_violations(self, accel: Accelerator) -> dict[str, float]:
        """``value - limit`` per static constraint (<= 0 means met), without simulating."""
        from hwloop.sim import area_mm2

        measured = {"max_pes": lambda: accel.pes,
                    "max_sram_kb": lambda: accel.sram.ifmap_kb + accel.sram.filter_kb
                    + accel.sram.ofmap_kb,
                    "max_area_mm2": lambda: area_mm2(accel)}
        return {name: float(measured[name]()) - getattr(self, name)
                for name in STATIC_CONSTRAINTS if getattr(self, name) is not None}

    def dynamic_violations(self, objectives: dict[str, float]) -> dict[str, float]:
        """``value - limit`` per constraint on a simulated objective."""
        return {name: float(objectives[obj]) - getattr(self, name)
                for name, obj in DYNAMIC_CONSTRAINTS.items() if getattr(self, name) is not None}


@dataclass(frozen=True, kw_only=True)
class Space:
    """Parameters, constraints and the preset they modify, with the workload ``family`` that
    builds each point's network (None: the network is named) and the plug-in ``objectives``
    the space file declares; read with ``load_space``."""

    params: tuple[Param, ...]
    constraints: Constraints = field(default_factory=Constraints)
    preset: str = DEFAULT_PRESET
    source: str | None = None
    family: Family | None = None
    objectives: tuple[Objective, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def is_finite(self) -> bool:
        """Every parameter is a list or an integer range, so today every space is finite."""
        return all(p.values is not None or p.low is not None for p in self.params)

    @property
    def size(self) -> int:
        return math.prod(len(p.choices()) for p in self.params)

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every point of the space (a finite space), in a fixed order."""
        if not self.is_finite:
            raise InputError("the space is not finite; it has no grid", source=self.source)
        for combo in itertools.product(*(p.choices() for p in self.params)):
            yield dict(zip(self.names, combo))

    @property
    def defines_network(self) -> bool:
        """Whether points build their network from a workload family."""
        return self.family is not None

    def plugin_objectives(self) -> dict[str, Objective]:
        """Every objective a plug-in gives, by the name ``--objectives`` uses: the family's
        own (``accuracy`` of the digits family), then the space file's."""
        found = dict(self.family.objectives) if self.family is not None else {}
        found.update({o.name: o for o in self.objectives})
        return {name: objective for objective in found.values() for name in objective.names}

    def directions(self) -> dict[str, str]:
        """``minimize``/``maximize`` of every objective the space can search."""
        simulated = {name: "minimize" for name in SIMULATED_OBJECTIVES}
        return {**simulated, **{name: dict(o.directions)[name]
                                for name, o in self.plugin_objectives().items()}}

    def base_accelerator(self) -> Accelerator:
        return get_preset(self.preset)

    def suggest(self, trial: Any) -> dict[str, Any]:
        """A point drawn by an Optuna trial."""
        return {p.name: p.suggest(trial) for p in self.params}


#: The objectives the simulator gives (the oracle's ``OBJECTIVES``), all minimised.
SIMULATED_OBJECTIVES = ("latency", "energy", "edp", "area")


def apply_point(point: Mapping[str, Any], base: Accelerator, network: Network | None,
                family: Family | None = None) -> tuple[Accelerator, Network]:
    """The accelerator and network of a design point (``InputError`` if the combination is
    not a valid accelerator, e.g. ``bits_per_cycle`` on a plain systolic array). With a
    ``family`` the point's network parameters build its network; ``network`` is unused."""
    accel = base.with_overrides(**hardware_of(point))
    if family is not None:
        network = family.network(network_params(point))
        on_layers = {k: point[k] for k in RATIO_PARAMS if k in point}
    elif network is None:
        raise InputError("the space has no workload family, so name a network",
                         field="--network")
    else:
        on_layers = network_params(point)
    if on_layers:
        layers = tuple(replace(layer, **on_layers) for layer in network.layers)
        network = replace(network, layers=layers)
    if "sparsity" in point:  # a searched N:M ratio needs an array that skips the zeros
        accel = accel.with_overrides(sparse=True)
    return accel, network


def hardware_of(point: Mapping[str, Any]) -> dict[str, Any]:
    """The accelerator overrides of ``point``: neither network nor run parameters (a
    ``dataflow = "auto"`` leaves the accelerator's own)."""
    return {k: v for k, v in point.items() if k in _HARDWARE
            and not (k == "dataflow" and v == "auto")}


def network_params(point: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of ``point`` that pick its network: ``weight_bits``/``act_bits`` and
    every name hwloop does not know (a family's own)."""
    return {k: v for k, v in point.items() if k not in _HARDWARE and k not in RUN_PARAMS}


def run_options(point: Mapping[str, Any], objective: str) -> dict[str, Any]:
    """How ``point`` runs, as ``simulate_totals`` keywords: the mapper for ``objective``
    (``mapping = "auto"``), each layer's best dataflow (``dataflow = "auto"``), or neither
    (empty: SCALE-Sim's schedule). The mapper chooses dataflows itself, so it wins."""
    if point.get("mapping") == "auto":
        return {"mapping": "auto", "optimize": objective}
    if point.get("dataflow") == "auto":
        return {"choose_dataflow": objective}
    return {}
