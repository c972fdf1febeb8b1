"""Reading a space file: ``[params.NAME]`` tables, ``[constraints]``, ``preset``, and the
plug-ins: ``[workload] family = "module:function"`` and ``[objectives.NAME]`` tables.

A space is checked once, when it is read (unknown names, empty ranges, wrong types, constraints
no point can meet, plug-ins that cannot be imported), so that a search never starts on a
space it cannot sample. Every error is an :class:`~hwloop.traces.InputError` naming the file,
line and field.
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from hwloop.arch import DEFAULT_PRESET, PRESETS
from hwloop.traces import InputError, check_ratio

from ._plugins import DIRECTIONS, Family, Objective, Plugin
from ._space import (
    BOOL_PARAMS,
    CHOICE_PARAMS,
    DYNAMIC_CONSTRAINTS,
    INT_PARAMS,
    INT_TOPS,
    PARAM_NAMES,
    RATIO_PARAMS,
    SIMULATED_OBJECTIVES,
    STATIC_CONSTRAINTS,
    Constraints,
    Param,
    Space,
    hardware_of,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Spaces up to this many points are enumerated when read, to find contradictory constraints.
CHECK_LIMIT = 20_000
#: The family a space gets when it names ``net_*`` parameters and no ``[workload]``.
DEFAULT_FAMILY = "hwloop.search.plugins.digits:build"
#: What an objective's name may be (``--objectives`` is a comma-separated list).
_OBJECTIVE_NAME = re.compile(r"^[A-Za-z_][\w-]*$")


@dataclass(frozen=True)
class _Domains:
    """What each parameter may take: hwloop's own, plus the family's declared integers; any
    other name is the family's to check (None: no family, so it is unknown)."""

    lows: dict[str, int]
    tops: dict[str, int]
    odd: tuple[str, ...]
    family: Family | None

    @classmethod
    def of(cls, family: Family | None) -> "_Domains":
        declared = dict(family.int_params) if family is not None else {}
        return cls(lows={**INT_PARAMS, **{k: low for k, (low, _) in declared.items()}},
                   tops={**INT_TOPS, **{k: high for k, (_, high) in declared.items()}},
                   odd=family.odd_params if family is not None else (), family=family)


def load_space(path: str | Path, *, family: str | Callable[..., Any] | None = None) -> Space:
    """Read and check a space file. ``family`` (a callable or ``module:function``) replaces
    the file's ``[workload] family``."""
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
    unknown = set(data) - {"params", "constraints", "preset", "workload", "objectives"}
    if unknown:
        key = sorted(unknown)[0]
        raise where.error(key, "unknown key; a space has [params.NAME], [constraints], "
                               "[workload], [objectives.NAME] and preset", key=key)
    preset = data.get("preset", DEFAULT_PRESET)
    if preset not in PRESETS:
        raise where.error("preset", f"unknown preset {preset!r}; choose from "
                                    f"{', '.join(sorted(PRESETS))}", key="preset")
    raw = data.get("params")
    if not isinstance(raw, dict) or not raw:
        raise where.error("params", "a space needs at least one [params.NAME] table")
    root = str(Path(source).resolve().parent)
    chosen = _read_family(data.get("workload"), where, root, family, raw)
    domains = _Domains.of(chosen)
    params = tuple(_read_param(name, spec, where, domains) for name, spec in raw.items())
    constraints = _read_constraints(data.get("constraints", {}), where)
    space = Space(params=params, constraints=constraints, preset=preset, source=source,
                  family=chosen)
    space = replace(space, objectives=_read_objectives(data.get("objectives", {}), where,
                                                       root, space))
    _check_satisfiable(space, where)
    return space


def _read_family(raw: Any, where: "_Locator", root: str, given: Any,
                 params: dict[str, Any]) -> Family | None:
    """The space's family: ``given``, ``[workload] family``, or the digits family when the
    parameters name ``net_*`` ones and nothing else is given."""
    if given is not None:
        family = Family(Plugin.of(given, root))
        _resolved(family.plugin, where, "workload", "family")
        return family
    if raw is None:
        unknown = [name for name in params if name not in PARAM_NAMES]
        if not unknown:
            return None
        digits = Family(Plugin(DEFAULT_FAMILY))
        return digits if all(name in digits.int_params for name in unknown) else None
    if not isinstance(raw, dict):
        raise where.error("workload", "must be a table: [workload] family = \"module:function\"")
    extra = sorted(set(raw) - {"family"})
    if extra:
        raise where.error("workload", f"unknown key {extra[0]!r}; [workload] has family",
                          key=extra[0])
    spec = raw.get("family")
    if not isinstance(spec, str):
        raise where.error("workload", "family must be a \"module:function\" string",
                          key="family")
    family = Family(Plugin(spec, root))
    _resolved(family.plugin, where, "workload", "family")
    return family


def _resolved(plugin: Plugin, where: "_Locator", table: str, key: str) -> None:
    try:
        plugin.function()
    except InputError as exc:
        raise where.error(table, exc.reason, key=key) from None


def _read_objectives(raw: Any, where: "_Locator", root: str,
                     space: Space) -> tuple[Objective, ...]:
    if not isinstance(raw, dict):
        raise where.error("objectives", "must be tables: [objectives.NAME]")
    found = []
    for name, spec in raw.items():
        table = f"objectives.{name}"
        if not _OBJECTIVE_NAME.match(name) or name in SIMULATED_OBJECTIVES:
            reason = (f"{name!r} is a simulator objective" if name in SIMULATED_OBJECTIVES
                      else f"{name!r} is not a name (letters, digits, _ and -)")
            raise where.error(table, f"{reason}; give the objective another name", key=name)
        if not isinstance(spec, dict):
            raise where.error(table, "must be a table with function and direction", key=name)
        extra = sorted(set(spec) - {"function", "direction", "version"})
        if extra:
            raise where.error(table, f"unknown key {extra[0]!r}; use function, direction and "
                                     "version", key=extra[0])
        if not isinstance(spec.get("function"), str):
            raise where.error(table, "function must be a \"module:function\" string",
                              key="function" if "function" in spec else name)
        plugin = Plugin(spec["function"], root)
        _resolved(plugin, where, table, "function")
        version = spec.get("version", "")
        if not isinstance(version, str):
            raise where.error(table, f"version must be a string, got {version!r}",
                              key="version")
        found.append(Objective(name=name, plugin=plugin, version=version,
                               directions=_directions(name, spec.get("direction", "minimize"),
                                                      where, table)))
    return tuple(found)


def _directions(name: str, given: Any, where: "_Locator",
                table: str) -> tuple[tuple[str, str], ...]:
    """One direction (the function returns a number) or a table of them (it returns a dict:
    objectives ``NAME.KEY``)."""
    pairs = given.items() if isinstance(given, dict) else [(None, given)]
    if isinstance(given, dict) and not given:
        raise where.error(table, "direction must name at least one key", key="direction")
    directions = []
    for key, value in pairs:
        if not isinstance(value, str) or value.lower() not in DIRECTIONS:
            raise where.error(table, f"direction must be minimize or maximize, got {value!r}",
                              key="direction")
        if key is not None and not _OBJECTIVE_NAME.match(key):
            raise where.error(table, f"{key!r} is not a name (letters, digits, _ and -)",
                              key="direction")
        directions.append((name if key is None else f"{name}.{key}", value.lower()))
    return tuple(directions)


def _read_param(name: str, spec: Any, where: "_Locator", domains: _Domains) -> Param:
    table = f"params.{name}"
    if name not in PARAM_NAMES and name not in domains.lows and domains.family is None:
        raise where.error(table, f"unknown parameter {name!r}; choose from "
                                 f"{', '.join(PARAM_NAMES)} (or name a [workload] family, "
                                 "which takes parameters of its own)", key=name)
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
        checked = tuple(_check_value(name, v, where, table, domains) for v in values)
        if len(set(checked)) != len(checked):
            raise where.error(table, "values must not repeat", key="values")
        return Param(name=name, values=checked)
    if name not in domains.lows and name in PARAM_NAMES:
        raise where.error(table, f"{name} takes values = [...], not a range", key=name)
    for key in ("low", "high"):
        if key not in spec:
            raise where.error(table, "a range needs both low and high (or give values)",
                              key=name if not spec else sorted(spec)[0])
    low = _check_value(name, spec["low"], where, table, domains, key="low", whole=True)
    high = _check_value(name, spec["high"], where, table, domains, key="high", whole=True)
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
    if name in domains.odd and (low % 2 == 0 or step % 2):
        raise where.error(table, "kernel sizes are odd: start at an odd low, with an even step",
                          key="low" if low % 2 == 0 else "step")
    return Param(name=name, low=low, high=high, step=step, log=log)


def _check_value(name: str, value: Any, where: "_Locator", table: str, domains: _Domains,
                 key: str = "values", whole: bool = False) -> Any:
    """One value of ``name``; ``whole``: a range's end, which must be an integer."""
    if name in domains.lows or (whole and name not in PARAM_NAMES):
        low, top = domains.lows.get(name), domains.tops.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise where.error(table, f"must be integers, got {value!r}", key=key)
        if name in domains.odd and value % 2 == 0:
            raise where.error(table, f"must be odd (a 'same' convolution), got {value}",
                              key=key)
        if low is not None and (value < low or (top is not None and value > top)):
            bound = f"from {low} to {top}" if top else f">= {low}"
            raise where.error(table, f"must be {bound}, got {value}", key=key)
        return value
    if name in CHOICE_PARAMS:
        if not isinstance(value, str) or value.lower() not in CHOICE_PARAMS[name]:
            raise where.error(table, f"unknown {name} {value!r}; choose from "
                                     f"{', '.join(CHOICE_PARAMS[name])}", key=key)
        return value.lower()
    if name in RATIO_PARAMS:
        try:
            n, m = check_ratio(value)
        except InputError as exc:
            raise where.error(table, exc.reason, key=key) from None
        return f"{n}:{m}"
    if name in BOOL_PARAMS:
        if not isinstance(value, bool):
            raise where.error(table, f"must be true or false, got {value!r}", key=key)
        return value
    # the family's own parameter: any number, string or boolean, passed to it as given
    if not isinstance(value, (bool, int, float, str)) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise where.error(table, f"must be numbers, strings or booleans, got {value!r}",
                          key=key)
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
