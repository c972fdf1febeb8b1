"""The cost oracle: a design point in, its objectives out, each computed once.

Simulations live in a SQLite file (``_store``) keyed by a SHA-256 of the accelerator, the
network's layers and the hwloop version, so a resumed or repeated search, or another process
sharing the file, is answered from disk. Plug-in objectives are kept in the same file: one of
``params`` alone once per distinct network (its family's canonical parameters, or the named
network's layers), one of ``(params, report)`` once per design point; each keyed also by the
function's name and ``version``. The file keeps the simulator's buffer walks too, so workers
that share a store walk each buffer of a space once between them, not once each.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from hwloop.arch import Accelerator
from hwloop.traces import InputError, Network

from ._plugins import Family, Objective, _said
from ._space import apply_point, network_params, run_options
from ._store import Outcome, Store

#: The objectives the simulator gives, and the report total each one is.
OBJECTIVES = {"latency": "total_cycles", "energy": "energy_pj", "edp": "edp", "area": "area_mm2"}
#: Store keys of plug-in objectives start with this (simulations' keys are bare hashes).
OBJECTIVE_KEY = "objective:"


def point_key(accel: Accelerator, network: Network, version: str,
              run: dict[str, Any] | None = None) -> str:
    """A stable hash of what determines a simulation's result (``run``: how it runs, e.g.
    the mapper and its objective; left out when empty, so older keys stay valid)."""
    # json.dumps({"accelerator": ..., "layers": ..., "version": ...}, sort_keys=True), with
    # the layers serialised once per network
    extra = f', "run": {json.dumps(run, sort_keys=True)}' if run else ""
    hardware = accel.to_dict()
    if not hardware["sram"]["keep_activations"]:  # SCALE-Sim's choice: older keys hold
        del hardware["sram"]["keep_activations"]
    elif network.inputs is not None:  # what is kept follows the graph
        extra += f', "inputs": {json.dumps(network.inputs)}'
    if not hardware["sparsity"]["enabled"]:  # dense, as before sparsity existed: keys hold
        del hardware["sparsity"]
    if hardware["chip"]["cores"] == 1:  # one array, as before chips existed: keys hold
        del hardware["chip"]
    if network.vector_ops:  # the operators and the unit that runs them change the numbers
        extra += f', "vector_ops": {_vector_ops_json(network)}'
    else:  # a vector unit cannot change a network without vector operators: older keys hold
        del hardware["vector"]
    blob = (f'{{"accelerator": {json.dumps(hardware, sort_keys=True, default=str)}, '
            f'"layers": {_layers_json(network)}{extra}, "version": {json.dumps(version)}}}')
    return hashlib.sha256(blob.encode()).hexdigest()


@functools.lru_cache(maxsize=256)
def _layers_json(network: Network) -> str:
    """The network's layers without their names (names do not change a number), as JSON:
    serialised once per network, not once per design point."""
    layers = [dataclasses.asdict(layer) for layer in network.layers]
    for layer in layers:
        layer.pop("name", None)
        for field, plain in _LATER_FIELDS.items():  # keys from before these fields existed
            if layer.get(field) == plain:
                del layer[field]
    return json.dumps(layers, sort_keys=True, default=str)


@functools.lru_cache(maxsize=256)
def _vector_ops_json(network: Network) -> str:
    """The network's vector operators (positions and counts, without names), as JSON."""
    ops = [[position, {k: v for k, v in dataclasses.asdict(op).items() if k != "name"}]
           for position, op in network.vector_ops]
    return json.dumps(ops, sort_keys=True, default=str)


#: Layer fields added after stores were written, with the value that leaves a key unchanged.
_LATER_FIELDS = {"conv_groups": 1, "dilation_h": 1, "dilation_w": 1, "sparsity": None,
                 "masked": None}


class Oracle:
    """Evaluates design points around one base accelerator, with a cache: of one named
    ``network``, or of the networks a ``family`` builds; ``objectives`` are the plug-in
    objectives it may be asked for, by name."""

    def __init__(self, network: Network | None, base_accel: Accelerator,
                 store_path: str | os.PathLike[str], *, share_walks: bool = True,
                 family: Family | None = None,
                 objectives: Mapping[str, Objective] | None = None) -> None:
        from hwloop.sim import hwloop_version

        self.network, self.base, self.family = network, base_accel, family
        self.objectives = dict(objectives or {})
        self.store = Store(store_path, hwloop_version())
        #: Whether simulations look up and keep buffer walks in the store (benchmarks that
        #: time a point simulated from nothing turn it off).
        self.share_walks = share_walks
        #: Simulations this object ran (cache misses); the rest came from the store.
        self.simulations = 0
        #: Plug-in objective functions this object called (the rest came from the store).
        self.objective_calls = 0
        #: What ``mapping = "auto"`` and ``dataflow = "auto"`` points optimise per layer: the
        #: study's objective, or EDP when it has several (the study sets it).
        self.layer_objective = "edp"

    @property
    def store_path(self) -> Path:
        return self.store.path

    @property
    def version(self) -> str:
        """The simulator's version: part of every key, so another version never reuses a
        result or a buffer walk."""
        return self.store.version

    @version.setter
    def version(self, value: str) -> None:
        self.store.version = value

    def evaluate(self, point: Mapping[str, Any], names: Sequence[str] = ()) -> dict[str, float]:
        """The simulator's objectives of ``point`` (``latency``, ``energy``, ``edp``,
        ``area``) and the plug-in objectives ``names``. Raises ``InputError`` for a point
        that is no valid accelerator, a family that fails on it, or an objective that raises
        or returns a bad value (each remembered as well)."""
        accel, network = apply_point(point, self.base, self.network, self.family)
        run = run_options(point, self.layer_objective)
        key = point_key(accel, network, self.version, run)
        (values, error), computed = self.store.once(
            key, lambda: self._simulate(accel, network, run))
        self.simulations += computed
        if error is not None:
            raise InputError(error)
        values = dict(values)
        for objective in self._wanted(names):
            values.update(self._objective(objective, point, key, accel, network, run))
        return values

    def _wanted(self, names: Sequence[str]) -> list[Objective]:
        found: dict[str, Objective] = {}
        for name in names:
            if name in OBJECTIVES:
                continue
            if name not in self.objectives:
                raise InputError(f"unknown objective {name!r}", field="--objectives")
            found.setdefault(self.objectives[name].name, self.objectives[name])
        return list(found.values())

    def _objective(self, objective: Objective, point: Mapping[str, Any], key: str,
                   accel: Accelerator, network: Network, run: dict) -> dict[str, float]:
        per_point = objective.per_point
        params = dict(point) if per_point else network_params(point)
        what = {"point": key} if per_point else {"network": self._network_id(params, network)}
        blob = json.dumps({"objective": objective.plugin.spec, "names": objective.names,
                           "version": objective.version, **what}, sort_keys=True, default=str)
        store_key = OBJECTIVE_KEY + hashlib.sha256(blob.encode()).hexdigest()

        def compute() -> Outcome:
            args: tuple = (params,)
            if per_point:
                from hwloop.sim import sharing_walks, simulate

                with sharing_walks(self if self.share_walks else None):
                    args = (params, simulate(network, accel, **run))
            self.objective_calls += 1
            try:
                result = objective.plugin.function()(*args)
            except InputError as exc:
                return {}, f"objective {objective.name}: {exc.reason}"
            except Exception as exc:
                return {}, f"objective {objective.name} raised {_said(exc)}"
            return objective.values(result), None

        (values, error), _ = self.store.once(store_key, compute)
        if error is not None:
            raise InputError(error)
        return values

    def _network_id(self, params: dict[str, Any], network: Network) -> Any:
        """What makes two points the same network for a per-network objective."""
        if self.family is not None:
            return {"family": self.family.plugin.spec, "params": self.family.canonical(params)}
        return {"layers": _layers_json(network), "params": params}

    def get_walk(self, key: str):
        """A buffer walk's words per pass from the store (``hwloop.sim.WalkStore``)."""
        return self.store.get_walk(key)

    def put_walk(self, key: str, per_pass) -> None:
        self.store.put_walk(key, per_pass)

    def stored(self) -> int:
        """Simulated points in the store (each simulated once, by whichever process)."""
        return self.store.done() - self.store.done(OBJECTIVE_KEY)

    def close(self) -> None:
        self.store.close()

    def _simulate(self, accel: Accelerator, network: Network,
                  run: dict[str, Any]) -> Outcome:
        from hwloop.sim import sharing_walks, simulate_totals

        with sharing_walks(self if self.share_walks else None):
            totals = simulate_totals(network, accel, **run)
        return {name: float(totals[total]) for name, total in OBJECTIVES.items()}, None
