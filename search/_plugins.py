"""Plug-ins: the researcher's own workload family and objectives, named ``module:function``.

A *family* maps a point's network parameters to a :class:`~hwloop.traces.Network`, or to a
torch module and an example input (imported through ``network_from_torch``). An *objective*
is ``f(params) -> float`` (per network: computed once per distinct network) or
``f(params, report) -> float`` (per design point); either may return a dict of several
values. Both are named in the space TOML as ``module:function`` strings, resolved (the space
file's folder first on ``sys.path``) when the space is read, so a typo stops the run before
anything starts; or given as Python callables to ``run_search``. Only the name crosses a
process boundary: each worker resolves it again.

A family may declare, as attributes of the callable: ``int_params`` (name -> (low, high)) and
``odd_params`` (names whose values must be odd), checked when the space is read;
``objectives`` (name -> :class:`Objective`) it offers; and ``canonical(params)``, the
parameters that identify its network (two points with the same canonical parameters share
per-network objectives).
"""
from __future__ import annotations

import functools
import importlib
import inspect
import math
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from hwloop.traces import InputError, Network

#: ``package.module:function`` (the function may be an attribute path: ``module:Class.method``).
SPEC = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
DIRECTIONS = ("minimize", "maximize")


@dataclass(frozen=True)
class Plugin:
    """A function named ``module:function`` (``root``: a folder put first on ``sys.path``
    to import it), or a callable given in Python (pickled by reference)."""

    spec: str
    root: str | None = None
    given: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, value: str | Callable[..., Any], root: str | None = None) -> "Plugin":
        if isinstance(value, str):
            return cls(spec=value, root=root)
        if not callable(value):
            raise InputError(f"{value!r} is neither a callable nor a 'module:function' name")
        name = f"{getattr(value, '__module__', '?')}:{getattr(value, '__qualname__', repr(value))}"
        return cls(spec=name, given=value)

    def function(self) -> Callable[..., Any]:
        """The callable (imported once per process)."""
        return self.given if self.given is not None else resolve(self.spec, self.root)


@functools.lru_cache(maxsize=None)
def resolve(spec: str, root: str | None = None) -> Callable[..., Any]:
    """Import ``module:function``; every failure is one ``InputError`` line."""
    if not SPEC.match(spec):
        raise InputError(f"{spec!r} is not a 'module:function' name")
    module_name, _, path = spec.partition(":")
    if root is not None and root not in sys.path:
        sys.path.insert(0, root)
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"cannot import {module_name!r} for {spec!r} ({exc})") from None
    except Exception as exc:  # the user's module raised while importing
        raise InputError(f"importing {module_name!r} raised {_said(exc)}") from None
    for part in path.split("."):
        if not hasattr(target, part):
            raise InputError(f"module {module_name!r} has no {path!r}")
        target = getattr(target, part)
    if not callable(target):
        raise InputError(f"{spec!r} is not callable")
    return target


@dataclass(frozen=True)
class Objective:
    """A plug-in objective: ``[objectives.NAME] function = ..., direction = ...``.

    ``directions`` pairs each objective this function gives with its direction: the table's
    name when it returns one number, ``NAME.KEY`` per key when it returns a dict.
    ``version`` is part of the cache key: change it when the function's numbers change."""

    name: str
    plugin: Plugin
    directions: tuple[tuple[str, str], ...]
    version: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.directions)

    @property
    def per_point(self) -> bool:
        """Whether the function takes ``(params, report)``, not ``params`` alone."""
        return takes_report(self.plugin.function())

    def values(self, result: Any) -> dict[str, float]:
        """The function's result as ``{objective: number}``; a bad one is ``InputError``."""
        if len(self.directions) == 1 and self.directions[0][0] == self.name:
            return {self.name: _number(self.name, result)}
        if not isinstance(result, Mapping):
            raise InputError(f"objective {self.name} returned {_short(result)}, not a dict "
                             f"with {', '.join(k.split('.', 1)[1] for k in self.names)}")
        values = {}
        for name in self.names:
            key = name.split(".", 1)[1]
            if key not in result:
                raise InputError(f"objective {self.name} returned no {key!r}")
            values[name] = _number(name, result[key])
        return values


def callable_objectives(functions: Mapping[str, Any]) -> tuple[Objective, ...]:
    """Objectives from ``{name: f}`` or ``{name: (f, direction)}`` (minimised by default)."""
    found = []
    for name, given in functions.items():
        function, direction = given if isinstance(given, tuple) else (given, "minimize")
        if direction not in DIRECTIONS:
            raise InputError(f"direction must be minimize or maximize, got {direction!r}",
                             field=f"functions[{name!r}]")
        found.append(Objective(name=name, plugin=Plugin.of(function),
                               directions=((name, direction),)))
    return tuple(found)


def takes_report(function: Callable[..., Any]) -> bool:
    """Two positional parameters (``params, report``) make a per-point objective."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY,
                                                       p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(
            value, "__float__"):
        raise InputError(f"objective {name} returned {_short(value)}, not a number")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"objective {name} returned {number}, not a finite number")
    return number


@dataclass(frozen=True)
class Family:
    """A workload family: network parameters -> ``Network`` (or a torch module and input)."""

    plugin: Plugin

    @property
    def declared(self) -> Any:
        return self.plugin.function()

    @property
    def int_params(self) -> Mapping[str, tuple[int, int]]:
        return getattr(self.declared, "int_params", {})

    @property
    def odd_params(self) -> tuple[str, ...]:
        return tuple(getattr(self.declared, "odd_params", ()))

    @property
    def objectives(self) -> Mapping[str, Objective]:
        return getattr(self.declared, "objectives", {})

    def canonical(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters that identify the network of ``params``."""
        hook = getattr(self.declared, "canonical", None)
        return dict(hook(dict(params))) if hook is not None else dict(sorted(params.items()))

    def network(self, params: Mapping[str, Any]) -> Network:
        """The family's network for ``params`` (built once per process and parameters)."""
        return _built(self, tuple(sorted(params.items(), key=lambda kv: kv[0])))


@functools.lru_cache(maxsize=512)
def _built(family: Family, items: tuple[tuple[str, Any], ...]) -> Network:
    params = dict(items)
    try:
        made = family.declared(dict(params))
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"family {family.plugin.spec} raised {_said(exc)}") from None
    if isinstance(made, Network):
        return made
    if isinstance(made, tuple) and len(made) == 2:
        from hwloop.traces import network_from_torch

        name = ",".join(f"{k}={v}" for k, v in items) or family.plugin.spec
        try:
            return network_from_torch(made[0], made[1], name=name)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"importing the network of family {family.plugin.spec} raised "
                             f"{_said(exc)}") from None
    raise InputError(f"family {family.plugin.spec} returned {_short(made)}; a family returns "
                     "a Network or (torch module, example input)")


def _said(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
