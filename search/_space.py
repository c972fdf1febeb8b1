"""A design space as data: parameters and constraints read from a TOML file.

A space is checked once, when it is read (unknown names, empty ranges, wrong types, constraints
no point can meet), so that a search never starts on a space it cannot sample. Every error is
an :class:`~hwloop.traces.InputError` naming the file, line and field.
"""
from __future__ import annotations

import itertools
import math
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from hwloop.arch import (
    ANALOG_DEVICES,
    ARRAY_KINDS,
    DEFAULT_PRESET,
    DRAM_DEVICES,
    ENERGY_TABLES,
    PRESETS,
    Accelerator,
    get_preset,
)
from hwloop.traces import InputError, Network

from ._network_space import NET_PARAMS, ODD_PARAMS, build_network, defines_network, net_spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Parameters that take whole numbers, and the smallest value each allows.
INT_PARAMS = {"rows": 1, "cols": 1, "ifmap_kb": 1, "filter_kb": 1, "ofmap_kb": 1,
              "bandwidth": 1, "ifmap_bandwidth": 1, "filter_bandwidth": 1,
              "ofmap_bandwidth": 1, "dram_latency": 0, "bits_per_cycle": 1,
              "weight_bits": 1, "act_bits": 1, "tiles": 1, "devices_per_weight": 1,
              "dac_bits": 1, "adc_bits": 1, "columns_per_adc": 1, "vector_lanes": 1,
              "vector_ops_per_lane": 1, "vector_port_words": 1,
              **{name: low for name, (low, _) in NET_PARAMS.items()}}
#: Largest values, where a parameter has one.
INT_TOPS = {"weight_bits": 32, "act_bits": 32,
            **{name: high for name, (_, high) in NET_PARAMS.items()}}
#: Parameters that take one of a few names.
CHOICE_PARAMS = {"dataflow": ("os", "ws", "is", "auto"), "mapping": ("scalesim", "auto"),
                 "array_kind": tuple(ARRAY_KINDS),
                 "serial_operand": ("weight", "act"), "energy": tuple(sorted(ENERGY_TABLES)),
                 "dram_model": tuple(sorted(DRAM_DEVICES)),
                 "analog_device": tuple(sorted(ANALOG_DEVICES))}
BOOL_PARAMS = ("accumulate_psums", "keep_activations")
#: Parameters of the network rather than the accelerator: widths set on every layer, and the
#: ``net_*`` parameters that pick a member of the CNN family, with their per-stage and
#: per-layer overrides (``net_width_2``, ``net_kernel_1``, ``weight_bits_fc``, ...; see
#: ``_network_space``).
NETWORK_PARAMS = ("weight_bits", "act_bits", *NET_PARAMS)
#: Parameters of how a point runs rather than of its hardware: ``mapping = "auto"`` runs the
#: mapper on every layer (the inner loop of a hardware search), ``dataflow = "auto"`` picks
#: each layer's dataflow; both optimise the study's objective (EDP when there are several).
RUN_PARAMS = ("mapping",)
PARAM_NAMES = tuple(INT_PARAMS) + tuple(CHOICE_PARAMS) + BOOL_PARAMS
#: Constraints checked on the accelerator alone, before any simulation.
STATIC_CONSTRAINTS = ("max_pes", "max_sram_kb", "max_area_mm2")
#: Constraints on simulated objectives: (constraint, objective it bounds).
DYNAMIC_CONSTRAINTS = {"max_latency_cycles": "latency", "max_energy_pj": "energy"}
#: Spaces up to this many points are enumerated when read, to find contradictory constraints.
CHECK_LIMIT = 20_000


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

        measured = {"max_pes": lambda: accel.array.num_pes,
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
    """Parameters, constraints and the preset they modify; read with :func:`load_space`."""

    params: tuple[Param, ...]
    constraints: Constraints = field(default_factory=Constraints)
    preset: str = DEFAULT_PRESET
    source: str | None = None

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
        """Whether points pick their network from the CNN family (``net_*`` parameters)."""
        return defines_network(self.names)

    def base_accelerator(self) -> Accelerator:
        return get_preset(self.preset)

    def suggest(self, trial: Any) -> dict[str, Any]:
        """A point drawn by an Optuna trial."""
        return {p.name: p.suggest(trial) for p in self.params}


def apply_point(point: dict[str, Any], base: Accelerator,
                network: Network | None) -> tuple[Accelerator, Network]:
    """The accelerator and network of a design point (``InputError`` if the combination is
    not a valid accelerator, e.g. ``bits_per_cycle`` on a plain systolic array). A point with
    ``net_*`` parameters builds its own network from the CNN family; ``network`` is unused."""
    accel = base.with_overrides(**hardware_of(point))
    if defines_network(point):
        return accel, build_network(net_spec(point))
    if network is None:
        raise InputError("the space has no net_* parameters, so name a network",
                         field="--network")
    widths = {k: point[k] for k in NETWORK_PARAMS if k in point}
    if widths:
        layers = tuple(replace(layer, **widths) for layer in network.layers)
        network = replace(network, layers=layers)
    return accel, network


def hardware_of(point: dict[str, Any]) -> dict[str, Any]:
    """The accelerator overrides of ``point``: neither network nor run parameters (a
    ``dataflow = "auto"`` leaves the accelerator's own)."""
    return {k: v for k, v in point.items() if k not in NETWORK_PARAMS and k not in RUN_PARAMS
            and not (k == "dataflow" and v == "auto")}


def run_options(point: dict[str, Any], objective: str) -> dict[str, Any]:
    """How ``point`` runs, as ``simulate_totals`` keywords: the mapper for ``objective``
    (``mapping = "auto"``), each layer's best dataflow (``dataflow = "auto"``), or neither
    (empty: SCALE-Sim's schedule). The mapper chooses dataflows itself, so it wins."""
    if point.get("mapping") == "auto":
        return {"mapping": "auto", "optimize": objective}
    if point.get("dataflow") == "auto":
        return {"choose_dataflow": objective}
    return {}


def load_space(path: str | Path) -> Space:
    """Read and check a space file (``[params.NAME]`` tables, ``[constraints]``, ``preset``)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the space file ({exc})", source=source) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _decode_error_line(str(exc))
        raise InputError(f"not valid TOML ({str(exc).split(' (at')[0]})", source=source,
                         line=line) from None
    where = _Locator(source, text.splitlines())
    unknown = set(data) - {"params", "constraints", "preset"}
    if unknown:
        key = sorted(unknown)[0]
        raise where.error(key, "unknown key; a space has [params.NAME], [constraints] and "
                               "preset", key=key)
    preset = data.get("preset", DEFAULT_PRESET)
    if preset not in PRESETS:
        raise where.error("preset", f"unknown preset {preset!r}; choose from "
                                    f"{', '.join(sorted(PRESETS))}", key="preset")
    raw = data.get("params")
    if not isinstance(raw, dict) or not raw:
        raise where.error("params", "a space needs at least one [params.NAME] table")
    params = tuple(_read_param(name, spec, where) for name, spec in raw.items())
    constraints = _read_constraints(data.get("constraints", {}), where)
    space = Space(params=params, constraints=constraints, preset=preset, source=source)
    _check_satisfiable(space, where)
    return space


def _read_param(name: str, spec: Any, where: "_Locator") -> Param:
    table = f"params.{name}"
    if name not in PARAM_NAMES:
        raise where.error(table, f"unknown parameter {name!r}; choose from "
                                 f"{', '.join(PARAM_NAMES)}", key=name)
    if not isinstance(spec, dict):
        raise where.error(table, "must be a table with values = [...] or low/high", key=name)
    extra = set(spec) - {"values", "low", "high", "step", "log"}
    if extra:
        key = sorted(extra)[0]
        raise where.error(table, f"unknown key {key!r}; use values, or low/high/step/log",
                          key=key)
    if "values" in spec:
        if set(spec) - {"values"}:
            key = sorted(set(spec) - {"values"})[0]
            raise where.error(table, "give either values or low/high, not both", key=key)
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise where.error(table, "values must be a non-empty list", key="values")
        checked = tuple(_check_value(name, v, where, table) for v in values)
        if len(set(checked)) != len(checked):
            raise where.error(table, "values must not repeat", key="values")
        return Param(name=name, values=checked)
    if name not in INT_PARAMS:
        raise where.error(table, f"{name} takes values = [...], not a range", key=name)
    for key in ("low", "high"):
        if key not in spec:
            raise where.error(table, "a range needs both low and high (or give values)",
                              key=name if not spec else sorted(spec)[0])
    low = _check_value(name, spec["low"], where, table, key="low")
    high = _check_value(name, spec["high"], where, table, key="high")
    step, log = spec.get("step", 1), spec.get("log", False)
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise where.error(table, f"step must be a positive integer, got {step!r}", key="step")
    if not isinstance(log, bool):
        raise where.error(table, f"log must be true or false, got {log!r}", key="log")
    if low > high:
        raise where.error(table, f"empty range: low {low} is above high {high}", key="low")
    if log and step != 1:
        raise where.error(table, "a log range cannot also have a step", key="step")
    if log and low < 1:
        raise where.error(table, "a log range must start at 1 or above", key="low")
    if name in ODD_PARAMS and (low % 2 == 0 or step % 2):
        raise where.error(table, "kernel sizes are odd: start at an odd low, with an even step",
                          key="low" if low % 2 == 0 else "step")
    return Param(name=name, low=low, high=high, step=step, log=log)


def _check_value(name: str, value: Any, where: "_Locator", table: str, key: str = "values") -> Any:
    if name in INT_PARAMS:
        top = INT_TOPS.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise where.error(table, f"must be integers, got {value!r}", key=key)
        if name in ODD_PARAMS and value % 2 == 0:
            raise where.error(table, f"must be odd (a 'same' convolution), got {value}",
                              key=key)
        if value < INT_PARAMS[name] or (top is not None and value > top):
            bound = f"from {INT_PARAMS[name]} to {top}" if top else f">= {INT_PARAMS[name]}"
            raise where.error(table, f"must be {bound}, got {value}", key=key)
        return value
    if name in CHOICE_PARAMS:
        if not isinstance(value, str) or value.lower() not in CHOICE_PARAMS[name]:
            raise where.error(table, f"unknown {name} {value!r}; choose from "
                                     f"{', '.join(CHOICE_PARAMS[name])}", key=key)
        return value.lower()
    if not isinstance(value, bool):
        raise where.error(table, f"must be true or false, got {value!r}", key=key)
    return value


def _read_constraints(raw: Any, where: "_Locator") -> Constraints:
    if not isinstance(raw, dict):
        raise where.error("constraints", "must be a table of limits")
    known = STATIC_CONSTRAINTS + tuple(DYNAMIC_CONSTRAINTS)
    limits: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise where.error("constraints", f"unknown constraint {key!r}; choose from "
                                             f"{', '.join(known)}", key=key)
        whole = key in ("max_pes", "max_sram_kb", "max_latency_cycles")
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
            kind = "a positive integer" if whole else "a positive number"
            raise where.error("constraints", f"must be {kind}, got {value!r}", key=key)
        limits[key] = value
    return Constraints(**limits)


def _check_satisfiable(space: Space, where: "_Locator") -> None:
    """Contradictory constraints: no point of a (small enough) space meets the static ones."""
    static = [n for n in STATIC_CONSTRAINTS if getattr(space.constraints, n) is not None]
    if not static or space.size > CHECK_LIMIT:
        return
    base = space.base_accelerator()
    best = {name: math.inf for name in static}
    for point in space.grid():
        try:
            accel = base.with_overrides(**hardware_of(point))
        except (InputError, ValueError, TypeError):
            continue
        violations = space.constraints.static_violations(accel)
        if all(v <= 0 for v in violations.values()):
            return
        for name, v in violations.items():
            best[name] = min(best[name], v)
    alone = [n for n in static if best[n] > 0]
    if alone:
        name = alone[0]
        least = getattr(space.constraints, name) + best[name]
        raise where.error("constraints", f"contradicts the space: no point has "
                                         f"{name[4:]} <= {getattr(space.constraints, name)} "
                                         f"(the least is {least:g})", key=name)
    raise where.error("constraints", f"contradictory constraints: no point of the space meets "
                                     f"{', '.join(static)} together", key=static[0])


class _Locator:
    """Finds the line of a table or key in the TOML text (tomllib keeps no positions)."""

    def __init__(self, source: str, lines: list[str]) -> None:
        self.source, self.lines = source, lines

    def line(self, table: str, key: str | None = None) -> int | None:
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(
            fr'"?{re.escape(part)}"?' for part in table.split(".")) + r"\s*\]")
        start = next((i for i, text in enumerate(self.lines) if header.match(text)), None)
        if start is None:  # a top-level key, or a table written inline in its parent
            parent, _, last = table.rpartition(".")
            if parent:
                return self.line(parent, last)
            return self._key_line(0, table) if key is None else self._key_line(0, key)
        if key is None:
            return start + 1
        return self._key_line(start + 1, key) or start + 1

    def _key_line(self, start: int, key: str) -> int | None:
        pattern = re.compile(fr'(^|[{{,\s])"?{re.escape(key)}"?\s*=')
        for i in range(start, len(self.lines)):
            if re.match(r"^\s*\[\[?\s*[A-Za-z_]", self.lines[i]):
                return None  # the next table begins
            if pattern.search(self.lines[i]):
                return i + 1
        return None

    def error(self, table: str, reason: str, key: str | None = None) -> InputError:
        last = table.rpartition(".")[2]
        field_name = table if key is None or key == last else f"{table}.{key}"
        return InputError(reason, source=self.source, line=self.line(table, key),
                          field=field_name)


def _decode_error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
